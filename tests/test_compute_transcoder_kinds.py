"""Cross-layer and Top-K transcoders in circuit-tracer's on-disk layouts: built and saved here,
read through circuitstore's loader (and, for the hub path, through huggingface_hub from a
local cache), and their graphs checked against attribution_checks.py's reference, which reads
the same files itself and differentiates the frozen model with torch.autograd."""

from __future__ import annotations

import json

import pytest
import torch
import yaml
from safetensors.torch import load_file, save_file

from circuitstore.compute import ComputeError, compute_graph, load_model, load_transcoders, save_model
from circuitstore.compute.ct_layouts import CrossLayerTranscoders
from circuitstore.formats import write_graph
from tests.attribution_checks import check_completeness, check_edges, check_replacement_logits, unpruned_graph
from tests.synthetic import gemma_style, gpt2_style, random_clt, random_layer_set, random_model, save_ct_layout

TOKENS = [1, 7, 30, 4, 19, 11, 2]
K = 5
# case: (architecture, the set's files, hook its latents read, its config.yaml beyond the
# hooks, what a graph records of it).
CASES = {
    "gpt2-clt-jumprelu": (
        gpt2_style(n_layers=3),
        lambda m: random_clt(m, jump=True, seed=1),
        "ln2.hook_normalized",
        {},
        {"transcoder_kind": "cross-layer", "activation": "jumprelu"},
    ),
    "gemma-clt-relu": (
        gemma_style(n_layers=3),
        lambda m: random_clt(m, jump=False, seed=1),
        "hook_mlp_in",
        {},
        {"transcoder_kind": "cross-layer", "activation": "relu"},
    ),
    "gemma-topk": (
        gemma_style(n_layers=2),
        lambda m: random_layer_set(m, "topk", k=K, seed=1),
        "ln2.hook_normalized",
        {"activation": "topk", "k": K},
        {"transcoder_kind": "per-layer", "activation": "topk", "top_k": K},
    ),
    "gpt2-topk-skip": (
        gpt2_style(n_layers=2),
        lambda m: random_layer_set(m, "topk", k=K, skip=True, seed=1),
        "ln2.hook_normalized",
        {"activation": "topk", "k": K},
        {"transcoder_kind": "per-layer", "activation": "topk", "top_k": K},
    ),
    "gpt2-jumprelu-layers": (
        gpt2_style(n_layers=2),
        lambda m: random_layer_set(m, "jumprelu", seed=1),
        "ln2.hook_normalized",
        {},
        {"transcoder_kind": "per-layer", "activation": "jumprelu"},
    ),
}
TOP_K = [case for case in CASES if "topk" in case]


def _save(directory, case: str):
    cfg, build, hook, config, _ = CASES[case]
    model = random_model(cfg)
    save_model(model, directory / "model")
    save_ct_layout(build(model), directory / "transcoders", hook_in=hook, **config)
    return directory / "model", directory / "transcoders"


@pytest.fixture(scope="module", params=list(CASES))
def tiny(request, tmp_path_factory):
    model_dir, tc_dir = _save(tmp_path_factory.mktemp(request.param), request.param)
    return load_model(model_dir), tc_dir, request.param


@pytest.fixture(scope="module")
def graph(tiny):
    model, tc_dir, _ = tiny
    return unpruned_graph(model, tc_dir, TOKENS)


def test_replacement_reproduces_logits(tiny):
    check_replacement_logits(*tiny[:2], TOKENS)


def test_edges_are_frozen_model_derivatives(tiny, graph):
    check_edges(*tiny[:2], TOKENS, graph=graph)


def test_targets_are_sum_of_edges_plus_bias(tiny, graph):
    check_completeness(*tiny[:2], TOKENS, graph=graph)


def test_the_graph_records_the_kind_of_set(tiny, graph):
    *_, case = tiny
    gen = graph.meta.generation
    assert {k: gen[k] for k in CASES[case][4]} == CASES[case][4]
    assert "top_k" in gen or "top_k" not in CASES[case][4]


@pytest.mark.parametrize("case", TOP_K)
def test_top_k_keeps_k_latents_per_position(tmp_path, case):
    model_dir, tc_dir = _save(tmp_path, case)
    model = load_model(model_dir)
    graph = unpruned_graph(model, tc_dir, TOKENS)
    counts: dict[tuple[int, int], int] = {}
    for n in graph.nodes:
        if n.kind == "latent":
            counts[(n.layer, n.position)] = counts.get((n.layer, n.position), 0) + 1
    # Position 0 has no latent nodes; every other position keeps exactly k (random
    # pre-activations tie with probability 0, and a kept one is never exactly 0), some of
    # them negative (Top-K has no ReLU).
    assert counts == {(layer, p): K for layer in range(model.cfg.n_layers) for p in range(1, len(TOKENS))}


def test_decoders_stay_on_disk(tmp_path):
    """A cross-layer set holds its biases and thresholds, not its encoders or decoders; the rows
    it reads are the files' rows."""
    model_dir, tc_dir = _save(tmp_path, "gpt2-clt-jumprelu")
    model = load_model(model_dir)
    tcs = load_transcoders(tc_dir, model)
    held = sum(t.numel() for t in (tcs.b_enc, tcs.b_dec, tcs.thresholds))
    n, d_sae, d_model = model.cfg.n_layers, tcs.b_enc.shape[1], model.cfg.d_model
    assert held == n * (2 * d_sae + d_model)
    features = torch.tensor([7, 3, 7, 0])
    for layer in range(n):
        w_dec = load_file(tc_dir / f"W_dec_{layer}.safetensors")[f"W_dec_{layer}"]
        written = tcs.decoders(layer, features)
        assert [out for out, _ in written] == list(range(layer, n))
        for j, (_, rows) in enumerate(written):
            assert torch.equal(rows, w_dec[features, j])
        w_enc = load_file(tc_dir / f"W_enc_{layer}.safetensors")[f"W_enc_{layer}"]
        assert torch.equal(tcs.encoders(layer, features), w_enc[features])


def _edit(directory, filename: str, edit) -> None:
    tensors = load_file(directory / filename)
    edit(tensors)
    save_file(tensors, directory / filename)


def _config(directory, **changes) -> None:
    config = yaml.safe_load((directory / "config.yaml").read_text())
    config.update(changes)
    (directory / "config.yaml").write_text(yaml.safe_dump({k: v for k, v in config.items() if v is not None}))


@pytest.mark.parametrize(
    "case, spoil, message",
    [
        ("gpt2-clt-jumprelu", lambda d: (d / "W_enc_2.safetensors").unlink(), r"for layers \[0, 1\]"),
        ("gpt2-clt-jumprelu", lambda d: _config(d, model_kind="crosscoder"), "model_kind must be one of"),
        ("gpt2-clt-jumprelu", lambda d: _config(d, feature_output_hook=None), "names no feature_output_hook"),
        (
            "gpt2-clt-jumprelu",
            lambda d: _config(d, feature_input_hook="hook_resid_pre"),
            "reads 'blocks.0.hook_resid_pre'",
        ),
        (
            "gpt2-clt-jumprelu",
            lambda d: _edit(d, "W_dec_1.safetensors", lambda t: t.update(W_dec_1=t["W_dec_1"][:, :1].contiguous())),
            r"layer 1: W_dec_1 is \[48, 1, 32\], expected \[48, 2, 32\]",
        ),
        (
            "gpt2-clt-jumprelu",
            lambda d: _edit(d, "W_enc_1.safetensors", lambda t: t.pop("threshold_1")),
            "layer 1: threshold_1 is missing",
        ),
        ("gemma-topk", lambda d: _config(d, k=None), "Top-K transcoders need k between 1 and 48"),
        ("gemma-topk", lambda d: _config(d, k=49), "got 49"),
        ("gpt2-topk-skip", lambda d: _edit(d, "layer_1.safetensors", lambda t: t.pop("W_skip")), "W_skip is missing"),
        ("gpt2-clt-jumprelu", lambda d: (d / "config.yaml").write_text(": :"), "cannot read"),
    ],
)
def test_bad_sets(tmp_path, case, spoil, message):
    model_dir, tc_dir = _save(tmp_path, case)
    spoil(tc_dir)
    with pytest.raises(ComputeError, match=message):
        load_transcoders(tc_dir, load_model(model_dir))


def test_a_hub_repository_loads_from_the_hugging_face_cache(tmp_path, monkeypatch):
    """OWNER/NAME goes through huggingface_hub; offline, with the repository in its cache (laid
    out as a download leaves it), it reads the same set as the directory, named by the repository."""
    import huggingface_hub.constants

    model_dir, tc_dir = _save(tmp_path / "local", "gpt2-clt-jumprelu")
    cache = tmp_path / "hub"
    for repo in ("someone/clt-tiny", "mntss/clt-gemma-2-2b-2.5M"):
        _cache(tc_dir, repo, cache)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    model = load_model(model_dir)
    tcs = load_transcoders("someone/clt-tiny", model)
    assert tcs.name == "someone/clt-tiny" and tcs.url == "https://huggingface.co/someone/clt-tiny"
    assert isinstance(tcs, CrossLayerTranscoders)
    local = load_transcoders(tc_dir, model)
    ours, theirs = unpruned_graph(model, tcs, TOKENS), unpruned_graph(model, local, TOKENS)
    assert [n.id for n in ours.nodes] == [n.id for n in theirs.nodes]
    assert ours.weights.tolist() == theirs.weights.tolist()
    assert ours.meta.transcoder_set == "someone/clt-tiny"
    assert ours.meta.generation["transcoder_url"] == "https://huggingface.co/someone/clt-tiny"
    # Its graph file names the set as Neuronpedia's CLT graphs do.
    write_graph(compute_graph(model, tcs, TOKENS), tmp_path / "graph.json")
    raw = json.loads((tmp_path / "graph.json").read_text())
    info = raw["metadata"]["info"]
    assert info["transcoder_set"] == "someone/clt-tiny"
    assert info["source_urls"] == ["https://huggingface.co/someone/clt-tiny"]
    assert {n["feature_type"] for n in raw["nodes"]} >= {"cross layer transcoder"}
    with pytest.raises(ComputeError, match="cannot fetch transcoders 'someone/absent'"):
        load_transcoders("someone/absent", model)
    # SAELens' "as per-layer" release of a cross-layer transcoder (its decoders summed, wrong for
    # attribution) is read as the cross-layer transcoder, from the release's repository.
    clt = load_transcoders("mntss-gemma-2-2b-2.5m-clt-as-per-layer", model)
    assert isinstance(clt, CrossLayerTranscoders) and clt.name == "mntss/clt-gemma-2-2b-2.5M"
    assert unpruned_graph(model, clt, TOKENS).weights.tolist() == theirs.weights.tolist()


def _cache(directory, repo: str, cache) -> None:
    """`directory`'s files in a Hugging Face cache as a download of `repo` leaves them."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    home = cache / f"models--{repo.replace('/', '--')}"
    (home / "refs").mkdir(parents=True)
    (home / "refs" / "main").write_text(commit)
    (home / "snapshots" / commit).mkdir(parents=True)
    for path in directory.iterdir():
        (home / "snapshots" / commit / path.name).write_bytes(path.read_bytes())


def test_what_a_layer_writes_for_interventions(tmp_path):
    """A per-layer set's output at a layer is its files' decoders, bias and skip; a cross-layer
    set's also depends on earlier layers, which interventions do not follow: it refuses."""
    model_dir, tc_dir = _save(tmp_path / "topk", "gpt2-topk-skip")
    model = load_model(model_dir)
    tcs = load_transcoders(tc_dir, model)
    x = torch.randn(4, model.cfg.d_model, generator=torch.Generator().manual_seed(3))
    for layer in range(model.cfg.n_layers):
        w = load_file(tc_dir / f"layer_{layer}.safetensors")
        acts = tcs.encode(layer, x)
        expected = acts @ w["W_dec"] + w["b_dec"] + x @ w["W_skip"].T
        torch.testing.assert_close(tcs.output(layer, x, acts), expected)
    model_dir, tc_dir = _save(tmp_path / "clt", "gpt2-clt-jumprelu")
    clt = load_transcoders(tc_dir, load_model(model_dir))
    with pytest.raises(ComputeError, match="is a cross-layer transcoder"):
        clt.output(1, x, clt.encode(1, x))
