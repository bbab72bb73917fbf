"""Influence, pruning and scores against circuit-tracer's procedure rendered here over dense
matrices: influence by matrix inversion, thresholds by a running sum over every entry of the
n×n matrix, the dead-end rules on boolean matrices, in circuit-tracer's order (graph.py of
v0.5.0: prune_graph, compute_graph_scores). Hand-made DAGs and a tiny model's graph."""

from __future__ import annotations

import numpy as np
import pytest

from circuitstore.compute import load_model, load_transcoders
from circuitstore.graph import AttributionGraph, GraphMeta, Node
from circuitstore.pruning import cumulative_influence, find_threshold, graph_scores, prune, raw_influence
from tests.attribution_checks import unpruned_graph
from tests.synthetic import gemma_style, save_tiny

THRESHOLDS = [(0.8, 0.98), (0.5, 0.7), (0.95, 0.99), (1.0, 0.9), (0.3, 0.5)]


def random_dag(seed: int) -> AttributionGraph:
    """Tokens -> latents in two layers (+ errors) -> logits, random signed weights."""
    rng = np.random.default_rng(seed)
    nodes = [Node(f"E_{i}_{i}", "token", i, token_id=i) for i in range(3)]
    nodes += [
        Node(f"{layer}_{f}_{f % 3}", "latent", f % 3, layer=layer, feature_index=f, activation=1.0)
        for layer in (0, 1)
        for f in range(5)
    ]
    nodes += [Node(f"{layer}_-1_{p}", "error", p, layer=layer) for layer in (0, 1) for p in range(3)]
    probs = rng.dirichlet(np.ones(3)) * 0.9
    nodes += [Node(f"3_{t}_2", "logit", 2, layer=3, token_id=t, probability=float(probs[t])) for t in range(3)]
    rank = {"token": 0, "error": 1, "latent": 1, "logit": 3}
    level = [rank[n.kind] + (n.layer or 0) if n.kind in ("latent", "error") else rank[n.kind] for n in nodes]
    edges = []
    for t, target in enumerate(nodes):
        if target.kind not in ("latent", "logit"):
            continue
        for s, source in enumerate(nodes):
            if source.kind != "logit" and level[s] < level[t] and rng.random() < 0.5:
                edges.append((source.id, target.id, float(rng.normal() * rng.choice([0.1, 1, 5]))))
    return AttributionGraph.from_edge_ids(GraphMeta("dag", "p", ("a", "b", "c"), "m", "t"), nodes, edges)


@pytest.fixture(scope="module")
def model_graph(tmp_path_factory):
    model_dir, tc_dir = save_tiny(tmp_path_factory.mktemp("prune"), gemma_style(n_layers=2), "jumprelu", "hook_mlp_in")
    model = load_model(model_dir)
    return unpruned_graph(model, load_transcoders(tc_dir, model), [2, 9, 14, 5, 8])


@pytest.fixture(scope="module")
def graphs(model_graph):
    return [random_dag(seed) for seed in range(8)] + [model_graph]


def dense(graph: AttributionGraph) -> tuple[np.ndarray, np.ndarray]:
    """(A[t, s], w) as dense numpy arrays."""
    a = np.zeros((graph.n_nodes, graph.n_nodes))
    a[graph.targets, graph.sources] = graph.weights
    w = np.array([n.probability if n.kind == "logit" else 0.0 for n in graph.nodes])
    return a, w


def normalise(a: np.ndarray) -> np.ndarray:
    total = np.abs(a).sum(axis=1, keepdims=True)
    return np.divide(np.abs(a), total, out=np.zeros_like(a), where=total > 0)


def influence_by_inverse(norm: np.ndarray, w: np.ndarray) -> np.ndarray:
    """w (Â + Â² + ...) = w ((I - Â)^-1 - I)."""
    return w @ np.linalg.inv(np.eye(len(w)) - norm) - w


def cut(scores: np.ndarray, fraction: float) -> float:
    """circuit-tracer's find_threshold over every entry: the score at which the scores, largest
    first, first hold `fraction` of their total (the last score if they never do)."""
    ordered = sorted(scores.ravel().tolist(), reverse=True)
    total, running = sum(ordered), 0.0
    for score in ordered:
        running += score
        if running / total >= fraction:
            return score
    return ordered[-1]


def ct_prune(graph: AttributionGraph, node_threshold: float, edge_threshold: float):
    """prune_graph's node mask and edge mask [t, s], dense."""
    kinds = np.array([n.kind for n in graph.nodes])
    a, w = dense(graph)
    node_influence = influence_by_inverse(normalise(a), w)
    keep = node_influence >= cut(node_influence, node_threshold)
    keep |= np.isin(kinds, ["token", "logit"])
    pruned = a * keep[:, None] * keep[None, :]
    norm = normalise(pruned)
    scores = norm * (influence_by_inverse(norm, w) + w)[:, None]
    edges = scores >= cut(scores, edge_threshold)
    sources_ruled = np.isin(kinds, ["latent", "error"])  # need a kept outgoing edge
    targets_ruled = kinds == "latent"  # need a kept incoming edge
    first = True
    while True:
        before = keep.copy()
        if not first:
            edges &= keep[:, None] & keep[None, :]
        keep[sources_ruled] &= edges[:, sources_ruled].any(axis=0)
        keep[targets_ruled] &= edges[targets_ruled].any(axis=1)
        if (keep == before).all():
            break
        first = False
    return keep, edges, node_influence


@pytest.mark.parametrize("node_threshold, edge_threshold", THRESHOLDS)
def test_prune_is_circuit_tracers_procedure(graphs, node_threshold, edge_threshold):
    ruled_out = 0
    for g in graphs:
        keep, edges, node_influence = ct_prune(g, node_threshold, edge_threshold)
        pruned = prune(g, node_threshold, edge_threshold)
        ids = [x.id for x in g.nodes]
        assert [x.id for x in pruned.nodes] == [i for i, k in zip(ids, keep) if k]
        a, _ = dense(g)
        kept_edges = edges & keep[:, None] & keep[None, :] & (a != 0)
        expected = {(ids[s], ids[t]): a[t, s] for t, s in zip(*np.nonzero(kept_edges))}
        got = {(s, t): wt for s, t, wt in pruned.edges()}
        assert got == expected
        assert pruned.meta.pruning == {"node_threshold": node_threshold, "edge_threshold": edge_threshold}
        assert pruned.count_by_kind()["token"] == g.count_by_kind()["token"]
        assert pruned.count_by_kind()["logit"] == g.count_by_kind()["logit"]
        by_threshold = (node_influence >= cut(node_influence, node_threshold)) & ~np.isin(
            [x.kind for x in g.nodes], ["token", "logit"]
        )
        ruled_out += int((by_threshold & ~keep).sum())
    assert ruled_out > 0, "the dead-end rules never fired: the graphs do not test them"


def test_the_edge_cut_counts_every_node_pair():
    """Past the positive scores the cut lands on a zero entry: every pair passes. A running sum
    can stay below the total (summed pairwise, as numpy and torch do), so a fraction of 1.0 may
    do that."""
    scores = np.array([1.0] + [1e-16] * 16)
    assert np.cumsum(scores)[-1] < scores.sum()
    assert find_threshold(scores, 1.0, n_zeros=5) == 0.0
    assert find_threshold(scores, 1.0) == 1e-16
    assert find_threshold(scores, 0.5, n_zeros=5) == 1.0


def test_raw_influence_is_the_matrix_inverse(graphs):
    for g in graphs:
        a, w = dense(g)
        assert np.allclose(raw_influence(g), influence_by_inverse(normalise(a), w), rtol=1e-9, atol=1e-12)


def test_nodes_carry_cumulative_influence_and_logits_none(graphs):
    for g in graphs:
        a, w = dense(g)
        raw = influence_by_inverse(normalise(a), w)
        # Each node's cumulative score: the share of the total held by the nodes ranked at or
        # above it (ties: earlier in the table first).
        expected = {
            node.id: sum(r for j, r in enumerate(raw) if r > raw[i] or (r == raw[i] and j <= i)) / raw.sum()
            for i, node in enumerate(g.nodes)
        }
        assert np.allclose(cumulative_influence(raw), list(expected.values()), rtol=1e-12)
        for node in prune(g).nodes:
            if node.kind == "logit":
                assert node.influence is None
            else:
                assert node.influence == pytest.approx(expected[node.id], rel=1e-9)


def test_scores_are_circuit_tracers_definitions(graphs):
    for g in graphs:
        kinds = np.array([x.kind for x in g.nodes])
        a, w = dense(g)
        norm = normalise(a)
        infl = influence_by_inverse(norm, w)
        tok, err = infl[kinds == "token"].sum(), infl[kinds == "error"].sum()
        # Every node counts, weighted by influence plus probability; one without inputs has no
        # error share.
        non_error = 1 - norm[:, kinds == "error"].sum(axis=1)
        weight = infl + w
        scores = graph_scores(g)
        assert scores["replacement_score"] == pytest.approx(tok / (tok + err), rel=1e-9)
        assert scores["completeness_score"] == pytest.approx((non_error * weight).sum() / weight.sum(), rel=1e-9)
        assert prune(g).meta.scores == scores
