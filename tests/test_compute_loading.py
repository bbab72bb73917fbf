"""Loading tiny models and transcoders from disk through the real loaders, and the clear
errors for sets that do not fit the model, raised before any compute."""

from __future__ import annotations

import copy
import shutil
from dataclasses import replace

import pytest
import torch
from sae_lens import StandardSAE, StandardSAEConfig
from transformer_lens import HookedTransformer

from circuitstore.compute import ComputeError, SaeLensTranscoders, load_model, load_transcoders, save_model
from circuitstore.compute.tokenizer import SPECIALS
from tests.synthetic import WORDS, gemma_style, gpt2_style, random_model, random_transcoders, save_tiny

TOKENS = torch.tensor([[3, 1, 4, 1, 5, 9]])


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    return save_tiny(tmp_path_factory.mktemp("gpt2"), gpt2_style(), "jumprelu_skip")


@pytest.mark.parametrize("cfg", [gpt2_style(), gemma_style()], ids=["gpt2", "gemma"])
def test_model_round_trip(tmp_path, cfg):
    original = random_model(cfg, seed=3)
    loaded = load_model(save_model(original, tmp_path / "m"))
    assert loaded.cfg.model_name == cfg.model_name
    assert torch.equal(loaded(TOKENS), original(TOKENS))


def test_a_float32_save_loads_as_an_exact_float64_model(tmp_path):
    """Derived buffers (rotary tables, masks) are computed in the dtype loaded, not taken from
    the save: a float64 model is the float64 model of the same parameters."""
    original = random_model(gemma_style(), seed=3)
    loaded = load_model(save_model(original, tmp_path / "m"), dtype="float64")
    fresh = HookedTransformer(replace(original.cfg, dtype=torch.float64))
    fresh.load_state_dict({k: v.double() for k, v in original.named_parameters()}, strict=False)
    assert torch.equal(loaded.blocks[0].attn.rotary_sin, fresh.blocks[0].attn.rotary_sin)
    assert torch.equal(loaded(TOKENS), fresh(TOKENS))


def test_model_with_tokenizer_round_trip(tmp_path):
    model_dir, _ = save_tiny(tmp_path, gpt2_style(), "relu", tokenizer=True)
    loaded = load_model(model_dir)
    ids = [len(SPECIALS) + WORDS.index(w) for w in ("the", " capital", " of", " texas")]
    assert loaded.to_tokens("the capital of texas").tolist() == [[0, *ids]]
    assert loaded.tokenizer.decode([len(SPECIALS) + WORDS.index(" austin")]) == " austin"


def test_unknown_model_name():
    with pytest.raises(ComputeError, match="unknown model 'no-such-model'"):
        load_model("no-such-model")


def test_model_directory_lacking_weights(tmp_path, saved):
    shutil.copytree(saved[0], tmp_path / "m")
    (tmp_path / "m" / "model.safetensors").unlink()
    with pytest.raises(ComputeError, match="lacks model.safetensors"):
        load_model(tmp_path / "m")


def test_transcoders_from_disk(saved):
    model_dir, tc_dir = saved
    model = load_model(model_dir)
    tcs = load_transcoders(tc_dir, model)
    assert tcs.n_layers == model.cfg.n_layers
    assert tcs.hooks_in == tuple(f"blocks.{i}.ln2.hook_normalized" for i in range(tcs.n_layers))
    assert tcs.hooks_out == tuple(f"blocks.{i}.hook_mlp_out" for i in range(tcs.n_layers))
    assert all(tcs.has_skip(i) for i in range(tcs.n_layers))


def test_reading_hook_mlp_in_switches_it_on(tmp_path):
    model_dir, tc_dir = save_tiny(tmp_path, gemma_style(), "relu", "hook_mlp_in")
    model = load_model(model_dir)
    assert not model.cfg.use_hook_mlp_in
    load_transcoders(tc_dir, model)
    assert model.cfg.use_hook_mlp_in


def test_gemmascope2_transcoders_read_the_normed_mlp_input(tmp_path):
    """SAELens names `hook_mlp_in` (the residual before the pre-MLP norm) for GemmaScope 2
    transcoders, trained on that norm's output (`pre_feedforward_layernorm.output`): loaded, they
    must compute on the norm's output, weight included, as the original would on it."""
    model = random_model(gemma_style(), seed=5)
    originals = random_transcoders(model, "jumprelu_skip", hook_in="hook_mlp_in")
    for layer, tc in enumerate(originals):
        tc.cfg.metadata.hf_hook_name = f"model.layers.{layer}.pre_feedforward_layernorm.output"
        tc.save_model(tmp_path / f"layer_{layer}")
    tcs = load_transcoders(tmp_path, model)
    assert tcs.hooks_in == tuple(f"blocks.{i}.ln2.hook_normalized" for i in range(tcs.n_layers))
    _, cache = model.run_with_cache(TOKENS)
    for layer, (original, loaded) in enumerate(zip(originals, tcs.transcoders)):
        normed = cache[f"blocks.{layer}.ln2.hook_normalized"] * model.blocks[layer].ln2.w
        with torch.no_grad():
            torch.testing.assert_close(loaded(cache[tcs.hooks_in[layer]]), original(normed))
    # Converting again (the same objects handed back in) must not fold the weight twice.
    before = [copy.deepcopy(tc.W_enc) for tc in tcs.transcoders]
    SaeLensTranscoders.from_saes("again", list(tcs.transcoders), model)
    assert all(torch.equal(b, tc.W_enc) for b, tc in zip(before, tcs.transcoders))


def _mismatch(model, edit):
    saes = random_transcoders(model, "relu")
    edit(saes)
    return saes


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda s: s.pop(), r"no transcoder for layer\(s\) \[1\]"),
        (lambda s: setattr(s[1].cfg.metadata, "hook_name", "blocks.1.hook_nothing"), "no hook 'blocks.1.hook_nothing'"),
        (
            lambda s: setattr(s[0].cfg.metadata, "hook_name_out", "blocks.0.hook_resid_post"),
            "must write blocks.0.hook_mlp_out",
        ),
        (
            lambda s: setattr(s[0].cfg.metadata, "hook_name", "blocks.0.hook_resid_pre"),
            "reads 'blocks.0.hook_resid_pre'",
        ),
        (lambda s: setattr(s[1].cfg.metadata, "hook_name_out", "blocks.0.hook_mlp_out"), "two transcoders for layer 0"),
    ],
)
def test_mismatched_sets(edit, message):
    model = random_model(gpt2_style())
    with pytest.raises(ComputeError, match=message):
        SaeLensTranscoders.from_saes("bad", _mismatch(model, edit), model)


def test_wrong_width_and_layer_count(tmp_path):
    small = random_model(gpt2_style(n_layers=2, d_model=32))
    with pytest.raises(ComputeError, match="maps 48 -> 48, the model's d_model is 32"):
        SaeLensTranscoders.from_saes(
            "wide", random_transcoders(random_model(gpt2_style(n_layers=2, d_model=48)), "relu"), small
        )
    with pytest.raises(ComputeError, match=r"layer\(s\) \[2\], but the model has 2 layers"):
        SaeLensTranscoders.from_saes("deep", random_transcoders(random_model(gpt2_style(n_layers=3)), "relu"), small)


def test_not_a_transcoder():
    model = random_model(gpt2_style())
    sae = StandardSAE(StandardSAEConfig(d_in=32, d_sae=16))
    with pytest.raises(ComputeError, match="StandardSAE, not a SAELens transcoder"):
        SaeLensTranscoders.from_saes("sae", [sae], model)


def test_bad_specs(tmp_path, saved):
    model = load_model(saved[0])
    with pytest.raises(ComputeError, match="holds no saved transcoders"):
        load_transcoders(tmp_path, model)
    with pytest.raises(ComputeError, match="RELEASE:ID_TEMPLATE"):
        load_transcoders("some-release", model)
    partial = tmp_path / "partial"
    shutil.copytree(saved[1], partial)
    shutil.rmtree(partial / "layer_001")
    with pytest.raises(ComputeError, match=r"no transcoder for layer\(s\) \[1\]"):
        load_transcoders(partial, model)
