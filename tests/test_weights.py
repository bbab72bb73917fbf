"""Weights-only views (compute/weights.py) against plain matrix products written here: numpy over
the models' weight matrices, SAELens' own encode for activations, and a direct forward pass of
block 0 for the extended embedding. Tiles are made tiny so the blockwise merging is exercised."""

from __future__ import annotations

import numpy as np
import pytest

from circuitstore.compute import load_model, load_transcoders
from circuitstore.compute.errors import ComputeError
from circuitstore.compute.weights import EXTENDED, RAW, WeightsComputer
from tests.synthetic import gemma_style, gpt2_style, random_clt, save_ct_layout, save_tiny
from tests.weights_checks import (
    block0_extended,
    de_embedding,
    logit_lens,
    np32,
    pullback_pairs,
    token_activations,
    top_bottom,
    virtual_weights,
)

K = 4
CASES = {
    # Gemma 3 style (RMSNorm, post-MLP norms, tied-like random embeddings), reading the normalised input.
    "gemma-normalised": (gemma_style(n_layers=3), "jumprelu_skip", "ln2.hook_normalized"),
    # GPT-2 style (LayerNorm), ReLU transcoders reading the normalised input.
    "gpt2-normalised": (gpt2_style(n_layers=3), "relu", "ln2.hook_normalized"),
    # A reader of the raw residual (no normalisation between writer and reader).
    "gemma-raw": (gemma_style(n_layers=2), "jumprelu", "hook_mlp_in"),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def loaded(request, tmp_path_factory):
    cfg, kind, hook_in = CASES[request.param]
    model_dir, tc_dir = save_tiny(tmp_path_factory.mktemp(request.param), cfg, kind, hook_in)
    model = load_model(model_dir)
    return request.param, model, load_transcoders(tc_dir, model)


def assert_ranked(ranked, matrix: np.ndarray, k: int, ids=None):
    top, top_v, bottom, bottom_v = top_bottom(matrix, k)
    ids = np.arange(matrix.shape[1]) if ids is None else ids
    np.testing.assert_array_equal(ranked.top_ids.numpy(), ids[top])
    np.testing.assert_allclose(ranked.top_values.numpy(), top_v, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(ranked.bottom_ids.numpy(), ids[bottom])
    np.testing.assert_allclose(ranked.bottom_values.numpy(), bottom_v, rtol=1e-4, atol=1e-5)


@pytest.fixture(scope="module")
def computed(loaded):
    name, model, tcs = loaded
    # Tiles of 64 elements: 8 features by 8 tokens, so every merge path runs.
    wc = WeightsComputer(model, tcs, K, block=64, feature_block=8)
    acts, layers = {}, []
    for layer in range(tcs.n_layers):
        lw = wc.layer(layer, acts)
        acts[layer] = wc.activations(layer, lw.de_embedding[lw.input_kind])
        layers.append(lw)
    return name, model, tcs, wc, layers, acts


def test_extended_embedding_is_block_0_run_on_each_token(computed):
    _, model, _, wc, _, _ = computed
    np.testing.assert_allclose(np32(wc.extended_embedding()), block0_extended(model), rtol=1e-5, atol=1e-5)


def test_de_embeddings_are_the_plain_products(computed):
    _, model, tcs, _, layers, _ = computed
    for lw in layers:
        assert set(lw.de_embedding) == ({RAW} if lw.layer == 0 else {RAW, EXTENDED})
        for kind, ranked in lw.de_embedding.items():
            assert_ranked(ranked, de_embedding(model, tcs, lw.layer, kind), K)


def test_logit_lens_is_the_demeaned_product_through_the_final_norm(computed):
    _, model, tcs, _, layers, _ = computed
    for lw in layers:
        assert_ranked(lw.logit_lens, logit_lens(model, tcs, lw.layer), K)


def test_virtual_weights_are_decoder_rows_dotted_with_encoder_columns(computed):
    _, model, tcs, wc, layers, _ = computed
    for lw in layers[1:]:
        v, names = virtual_weights(model, tcs, lw.layer)
        assert_ranked(lw.virtual, v, K, np.array([e * wc.stride + i for e, i in names]))
    assert layers[0].virtual is None and layers[0].pullback is None


def test_activations_are_saelens_encode_of_each_token_alone(computed):
    _, model, tcs, _, layers, acts = computed
    for lw in layers:
        a = token_activations(model, tcs, lw.layer).T  # [features, tokens]
        top = np.sort(a, axis=1)[:, ::-1][:, :K]
        np.testing.assert_allclose(acts[lw.layer].values.numpy(), top, rtol=1e-4, atol=1e-5)
        chosen = np.take_along_axis(a, acts[lw.layer].tokens.numpy(), 1)
        np.testing.assert_allclose(chosen, top, rtol=1e-4, atol=1e-5)


def test_pullback_is_the_best_token_and_feature_pairs(computed):
    """Brute force over every (token, earlier feature) pair: a_f(v) * V[f, g]."""
    _, model, tcs, wc, layers, _ = computed
    found_any = 0
    for lw in layers[1:]:
        pb = lw.pullback
        for g, (best, worst) in enumerate(pullback_pairs(model, tcs, lw.layer, K)):
            for values, tokens, via, expected in (
                (pb.top_values[g], pb.top_tokens[g], pb.top_via[g], best),
                (pb.bottom_values[g], pb.bottom_tokens[g], pb.bottom_via[g], worst),
            ):
                n = len(expected)
                found_any += n
                np.testing.assert_allclose(values[:n].numpy(), [p[0] for p in expected], rtol=1e-4, atol=1e-6)
                assert tokens[:n].tolist() == [p[1] for p in expected]
                assert via[:n].tolist() == [e * wc.stride + i for _, _, (e, i) in expected]
                assert (values[n:] == 0).all()
    assert found_any > 0


def test_a_set_in_circuit_tracer_s_layout_is_refused(loaded, tmp_path):
    """A cross-layer set writes each layer through decoders of its own: not what the views read."""
    _, model, _ = loaded
    clt = load_transcoders(save_ct_layout(random_clt(model), tmp_path / "clt"), model)
    with pytest.raises(ComputeError, match="not from a cross-layer set in circuit-tracer's layout"):
        WeightsComputer(model, clt, K)
