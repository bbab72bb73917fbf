"""Many prompts per run: `compute_graphs` shares forward and backward passes between prompts of
one length, and each graph must be the one `compute_graph` computes for its prompt alone, for
SAELens transcoders and circuit-tracer's cross-layer and Top-K layouts, with and without a cap
on latents (whose rankings follow each prompt's own edges)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from circuitstore.compute import (
    AttributionSettings,
    compute_graph,
    compute_graphs,
    graph_id,
    load_model,
    load_transcoders,
    save_model,
)
from circuitstore.compute import attribution as attribution_module
from circuitstore.compute.replacement import Frozen
from tests.synthetic import (
    gemma_style,
    gpt2_style,
    random_clt,
    random_layer_set,
    random_model,
    save_ct_layout,
    save_tiny,
)

# Lengths 7, 4, 7, 4, 5: two lengths shared, one alone; ids below the tiny vocabularies.
PROMPTS = [[1, 7, 30, 4, 19, 11, 2], [1, 3, 4, 9], [2, 9, 9, 9, 3, 1, 7], [1, 2, 3, 4], [3, 1, 2, 8, 6]]
SETTINGS = {
    # Logits and latents of one prompt split over several backward passes, unevenly.
    "uncapped": AttributionSettings(max_feature_nodes=None, batch_size=11),
    # A cap ranked again after every batch of 4: each prompt's rankings from its own rows.
    "capped": AttributionSettings(max_feature_nodes=30, batch_size=4, update_interval=1),
}


def _ct_layout(cfg, build, **config):
    """A random model and a set in circuit-tracer's layout, saved under a directory."""

    def save(directory):
        model = random_model(cfg)
        save_model(model, directory / "model")
        save_ct_layout(build(model), directory / "transcoders", hook_in="ln2.hook_normalized", **config)
        return directory / "model", directory / "transcoders"

    return save


SETS = {
    "saelens-jumprelu-skip": lambda d: save_tiny(d, gpt2_style(n_layers=3, d_model=48), "jumprelu_skip"),
    "saelens-relu-skip": lambda d: save_tiny(d, gemma_style(n_layers=3), "relu_skip", "hook_mlp_in"),
    "clt": _ct_layout(gpt2_style(n_layers=3), lambda m: random_clt(m, jump=True, seed=1)),
    "topk": _ct_layout(
        gemma_style(n_layers=2), lambda m: random_layer_set(m, "topk", k=5, skip=True, seed=1), activation="topk", k=5
    ),
}


@pytest.fixture(scope="module", params=list(SETS))
def tiny(request, tmp_path_factory):
    model_dir, tc_dir = SETS[request.param](tmp_path_factory.mktemp(request.param))
    model = load_model(model_dir)
    return model, load_transcoders(tc_dir, model)


@pytest.fixture(scope="module", params=list(SETTINGS))
def alone(request, tiny):
    """(settings, each prompt's compute_graph)."""
    settings = SETTINGS[request.param]
    return settings, [compute_graph(*tiny, p, settings) for p in PROMPTS]


class _Shared:
    """Records the prompts (their lengths and copies) of every frozen run."""

    def __init__(self, monkeypatch):
        self.runs: list[list[tuple[int, int]]] = []
        original = Frozen

        def spy(reps, copies):
            self.runs.append([(rep.n_pos, k) for rep, k in zip(reps, copies)])
            return original(reps, copies)

        monkeypatch.setattr(attribution_module, "Frozen", spy)


def assert_same_graph(alone, batched) -> None:
    assert batched.meta.id == alone.meta.id
    # Ids, activations, probabilities: each prompt's own forward pass; influence: from the edges.
    assert [replace(n, influence=None) for n in batched.nodes] == [replace(n, influence=None) for n in alone.nodes]
    influence = [[n.influence or 0.0 for n in g.nodes] for g in (alone, batched)]
    assert np.allclose(influence[1], influence[0], rtol=1e-5, atol=1e-9)
    assert np.array_equal(batched.sources, alone.sources) and np.array_equal(batched.targets, alone.targets)
    scale = float(np.abs(alone.weights).max())
    assert np.allclose(batched.weights, alone.weights, rtol=1e-5, atol=1e-6 * scale)
    assert batched.meta.pruning == alone.meta.pruning


def test_batched_graphs_are_the_graphs_alone(tiny, alone, monkeypatch):
    model, tcs = tiny
    config, graphs = alone
    shared = _Shared(monkeypatch)
    seen: dict[int, tuple[int, int]] = {}

    def progress(prompts, done, total):
        for i in prompts:
            assert seen.get(i, (0, 0))[0] <= done <= total
            seen[i] = (done, total)

    batched = list(compute_graphs(model, tcs, PROMPTS, config, progress=progress))
    assert [g.meta.id for g in batched] == [graph_id(model, tcs, p, config) for p in PROMPTS]  # in order
    for a, b in zip(graphs, batched):
        assert_same_graph(a, b)
    # One frozen run per length, its prompts' copies filling one batch (fewer if fewer targets).
    lengths = sorted(len(p) for p in PROMPTS)
    assert sorted(n for run in shared.runs for n, _ in run) == lengths
    assert sorted(len(run) for run in shared.runs) == sorted(lengths.count(n) for n in set(lengths))
    assert all(sum(k for _, k in run) <= config.batch_size for run in shared.runs)
    # Progress reached the end of every prompt's run.
    assert sorted(seen) == list(range(len(PROMPTS))) and all(d == t for d, t in seen.values())


@pytest.fixture(scope="module")
def saelens(tmp_path_factory):
    model_dir, tc_dir = SETS["saelens-jumprelu-skip"](tmp_path_factory.mktemp("one"))
    model = load_model(model_dir)
    tcs = load_transcoders(tc_dir, model)
    return model, tcs, [compute_graph(model, tcs, p, SETTINGS["capped"]) for p in PROMPTS]


@pytest.mark.parametrize("options", [{"prompts_per_batch": 1}, {"memory": 1}], ids=["one-per-batch", "memory"])
def test_prompts_per_batch_and_memory_bound_the_sharing(saelens, monkeypatch, options):
    model, tcs, graphs = saelens
    shared = _Shared(monkeypatch)
    for a, b in zip(graphs, compute_graphs(model, tcs, PROMPTS, SETTINGS["capped"], **options)):
        assert_same_graph(a, b)
    assert [len(run) for run in shared.runs] == [1] * len(PROMPTS)
