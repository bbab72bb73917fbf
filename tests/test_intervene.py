"""Interventions on tiny models (the planted-circuit model's are in test_planted.py): the graph's
prediction against an independent linear solve, the frozen model's measured change against the
prediction, the free one against hooks written here."""

from __future__ import annotations

import numpy as np
import pytest

from circuitstore.compute import AttributionSettings, attribute, load_model, load_transcoders
from circuitstore.compute.intervene import intervene
from circuitstore.graph import AttributionGraph
from circuitstore.interventions import Rule, plan
from circuitstore.prediction import propagate
from tests.synthetic import gemma_style, gpt2_style, save_tiny

# (architecture, transcoder kind, hook the transcoders read), as in test_compute_attribution.py.
CASES = {
    "gpt2-relu": (gpt2_style(n_layers=2), "relu", "ln2.hook_normalized"),
    "gemma-jumprelu-skip": (gemma_style(n_layers=3), "jumprelu_skip", "hook_mlp_in"),
}
TOKENS = [1, 7, 30, 4, 19, 11, 2]
OTHER_TOKENS = [1, 9, 30, 4, 22, 11, 2]
EVERYTHING = AttributionSettings(max_feature_nodes=None)


@pytest.fixture(scope="module", params=list(CASES))
def case(request):
    return CASES[request.param]


@pytest.fixture(scope="module")
def tiny(case, tmp_path_factory):
    model_dir, tc_dir = save_tiny(tmp_path_factory.mktemp("tiny"), *case)
    model = load_model(model_dir)
    return model, load_transcoders(tc_dir, model)


@pytest.fixture(scope="module")
def unpruned(tiny):
    return attribute(*tiny, TOKENS, EVERYTHING)


def chain(graph: AttributionGraph) -> list[str]:
    """Three latents to intervene on: the two ends of the strongest latent-to-latent edge (so one
    edit acts on another's input) and the latent with the strongest edge into the target logit."""
    latent = {i for i, n in enumerate(graph.nodes) if n.kind == "latent"}
    target = next(i for i, n in enumerate(graph.nodes) if n.kind == "logit" and n.is_target)
    edges = list(zip(np.abs(graph.weights), graph.sources, graph.targets))
    _, s, t = max(e for e in edges if {e[1], e[2]} <= latent)
    _, top, _ = max(e for e in edges if e[1] in latent and e[2] == target)
    return list(dict.fromkeys(graph.nodes[i].id for i in (s, t, top)))


def solved(graph: AttributionGraph, rules: dict[int, Rule]) -> np.ndarray:
    """The logit nodes' changes under `rules`, from one dense linear solve: with W[t, s] = w(s ->
    t) / a_s over latents, every latent's change d satisfies d = D (W d) + c, where D is 1 for a
    free latent, the scale for a scaled one and 0 for one set to a value, and c its own change
    ((scale - 1) a, or value - a)."""
    lat = [i for i, n in enumerate(graph.nodes) if n.kind == "latent"]
    logits = [i for i, n in enumerate(graph.nodes) if n.kind == "logit"]
    at = {i: k for k, i in enumerate(lat)}
    act = np.array([graph.nodes[i].activation for i in lat])
    w = np.zeros((len(lat), len(lat)))
    out = np.zeros((len(logits), len(lat)))
    row = {i: k for k, i in enumerate(logits)}
    for s, t, weight in zip(graph.sources, graph.targets, graph.weights):
        if s in at and t in at:
            w[at[t], at[s]] = weight / act[at[s]]
        elif s in at and t in row:
            out[row[t], at[s]] = weight / act[at[s]]
    d, c = np.ones(len(lat)), np.zeros(len(lat))
    for i, rule in rules.items():
        k = at[i]
        d[k] = 0.0 if rule.value is not None else rule.scale
        c[k] = rule.applied(act[k]) - act[k]
    change = np.linalg.solve(np.eye(len(lat)) - d[:, None] * w, c)
    return out @ change


def test_the_prediction_is_the_graphs_linear_model(unpruned):
    graph = unpruned
    picked = [graph.index_of(i) for i in chain(graph)]
    logits = [i for i, n in enumerate(graph.nodes) if n.kind == "logit"]
    for rules in (
        {picked[0]: Rule(0.0)},
        dict.fromkeys(picked, Rule(0.0)),
        dict.fromkeys(picked, Rule(-2.0)),
        {picked[0]: Rule(0.5), picked[1]: Rule(value=3.0), picked[2]: Rule(1.5)},
    ):
        expected = solved(graph, rules)
        assert np.allclose(propagate(graph, rules)[logits], expected, rtol=1e-9, atol=1e-12 * np.abs(expected).max())


def test_frozen_changes_match_the_prediction_to_first_order(tiny, unpruned):
    """With attention patterns, norm scales and errors frozen, the model is the graph's linear
    model until a latent crosses its threshold. The prediction is that model's exact response,
    not its first-order expansion (which would miss terms of order (scale - 1)^2 where an edit
    acts on another edit's input), so on an unpruned graph, for changes of 1-5% (too small to push
    any latent of these graphs across a threshold), measured and predicted changes differ only
    by float32 rounding of the two runs: below 5e-7 of the logits' size here; we allow 2e-6."""
    model, tcs = tiny
    graph = unpruned
    names = chain(graph)
    for scale in (0.99, 1.01, 0.95):
        result = intervene(plan(graph, names, scale=scale, frozen=True), model, tcs)
        measured = np.array([c.measured for c in result.logits])
        predicted = np.array([c.predicted for c in result.logits])
        tol = 2e-6 * (1 + max(abs(c.before) for c in result.logits))
        assert np.abs(measured - predicted).max() <= tol, (scale, measured, predicted)
        assert np.abs(measured).max() > 20 * tol  # the edits do move the logits


def test_free_changes_are_the_real_models(tiny, unpruned):
    """Free, the intervention is the real model with decoder rows added at the latents' positions:
    checked against hooks written here from SAELens' own encode and decode."""
    import torch

    model, tcs = tiny
    graph = unpruned
    names = chain(graph)
    scale = 0.25
    result = intervene(plan(graph, names, scale=scale), model, tcs)
    nodes = [graph.node(i) for i in names]

    def edit(layer: int):
        def hook(out, hook):
            out = out.clone()
            for n in nodes:
                if n.layer == layer:
                    tc = tcs.transcoders[layer]
                    a = tc.encode(reads[layer][0, n.position])[n.feature_index]
                    out[0, n.position] += (scale - 1) * a * tc.W_dec[n.feature_index]
            return out

        return hook

    reads = {}

    def read(layer: int):
        def hook(x, hook):
            reads[layer] = x

        return hook

    hooks = [(tcs.hooks_in[layer], read(layer)) for layer in range(tcs.n_layers)]
    hooks += [(tcs.hooks_out[layer], edit(layer)) for layer in range(tcs.n_layers)]
    with torch.no_grad():
        clean = model(torch.tensor([TOKENS]))[0, -1]
        edited = model.run_with_hooks(torch.tensor([TOKENS]), fwd_hooks=hooks)[0, -1]
    for c in result.logits:
        expected = float((edited[c.token_id] - edited.mean()) - (clean[c.token_id] - clean.mean()))
        assert c.measured == pytest.approx(expected, abs=1e-5 * (1 + abs(c.before)))
    assert [t.token_id for t in result.top_after] == edited.topk(len(result.top_after)).indices.tolist()
