"""Influence, pruning and scores against dense numpy computations: (I - Â)^{-1} by matrix
inversion, thresholds by sorting, on hand-made DAGs and on a tiny model's graph."""

from __future__ import annotations

import numpy as np
import pytest

from circuitstore.compute import load_model, load_transcoders
from circuitstore.graph import AttributionGraph, GraphMeta, Node
from circuitstore.pruning import graph_scores, node_influence, prune
from tests.attribution_checks import unpruned_graph
from tests.synthetic import gemma_style, save_tiny


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
            if source.kind != "logit" and level[s] < level[t] and rng.random() < 0.7:
                edges.append((source.id, target.id, float(rng.normal() * rng.choice([0.1, 1, 5]))))
    return AttributionGraph.from_edge_ids(GraphMeta("dag", "p", ("a", "b", "c"), "m", "t"), nodes, edges)


@pytest.fixture(scope="module")
def model_graph(tmp_path_factory):
    model_dir, tc_dir = save_tiny(tmp_path_factory.mktemp("prune"), gemma_style(n_layers=2), "jumprelu", "hook_mlp_in")
    model = load_model(model_dir)
    return unpruned_graph(model, load_transcoders(tc_dir, model), [2, 9, 14, 5, 8])


def dense(graph: AttributionGraph) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(A[t, s], Â, w) as dense numpy arrays."""
    n = graph.n_nodes
    a = np.zeros((n, n))
    a[graph.targets, graph.sources] = graph.weights
    total = np.abs(a).sum(axis=1, keepdims=True)
    norm = np.divide(np.abs(a), total, out=np.zeros_like(a), where=total > 0)
    w = np.array([n.probability if n.kind == "logit" else 0.0 for n in graph.nodes])
    return a, norm, w


def dense_influence(graph: AttributionGraph) -> np.ndarray:
    _, norm, w = dense(graph)
    return w @ np.linalg.inv(np.eye(graph.n_nodes) - norm)


def cut(scores: np.ndarray, fraction: float) -> float:
    """Smallest score among the fewest top scores holding `fraction` of the total."""
    ordered = sorted(scores, reverse=True)
    running = 0.0
    for s in ordered:
        running += s
        if running >= fraction * sum(ordered) - 1e-12:
            return s
    return ordered[-1]


def graphs(model_graph):
    return [random_dag(seed) for seed in range(5)] + [model_graph]


def test_influence_is_dense_inverse(model_graph):
    for g in graphs(model_graph):
        assert np.allclose(node_influence(g), dense_influence(g), rtol=1e-9, atol=1e-12)


def test_pruned_nodes_carry_full_graph_influence(model_graph):
    for g in graphs(model_graph):
        expected = dict(zip((n.id for n in g.nodes), dense_influence(g)))
        for n in prune(g).nodes:
            assert n.influence == pytest.approx(expected[n.id], rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("node_threshold, edge_threshold", [(0.8, 0.98), (0.5, 0.7), (1.0, 1.0)])
def test_prune_matches_dense_procedure(model_graph, node_threshold, edge_threshold):
    for g in graphs(model_graph):
        n = g.n_nodes
        kinds = np.array([x.kind for x in g.nodes])
        prunable = np.isin(kinds, ["latent", "error"])
        infl = dense_influence(g)
        keep = ~prunable | (infl >= cut(infl[prunable], node_threshold))
        a, _, w = dense(g)
        a = a * keep[:, None] * keep[None, :]
        total = np.abs(a).sum(axis=1, keepdims=True)
        norm = np.divide(np.abs(a), total, out=np.zeros_like(a), where=total > 0)
        target_infl = w @ np.linalg.inv(np.eye(n) - norm)
        scores = norm * target_infl[:, None]
        live = a != 0
        edge_keep = live & (scores >= cut(scores[live], edge_threshold))
        while True:
            dead = prunable & keep & ~edge_keep.any(axis=0)
            if not dead.any():
                break
            keep &= ~dead
            edge_keep &= keep[:, None] & keep[None, :]
        pruned = prune(g, node_threshold, edge_threshold)
        ids = [x.id for x in g.nodes]
        assert [x.id for x in pruned.nodes] == [i for i, k in zip(ids, keep) if k]
        expected = {(ids[s], ids[t]): a[t, s] for t, s in zip(*np.nonzero(edge_keep))}
        got = {(s, t): wt for s, t, wt in pruned.edges()}
        assert got.keys() == expected.keys()
        assert all(got[k] == expected[k] for k in got)
        assert pruned.meta.pruning == {"node_threshold": node_threshold, "edge_threshold": edge_threshold}
        assert {x.kind for x in pruned.nodes} >= {"token", "logit"}
        assert pruned.count_by_kind()["token"] == g.count_by_kind()["token"]
        assert pruned.count_by_kind()["logit"] == g.count_by_kind()["logit"]


def test_scores_match_dense_definitions(model_graph):
    for g in graphs(model_graph):
        kinds = np.array([x.kind for x in g.nodes])
        infl = dense_influence(g)
        _, norm, _ = dense(g)
        tok, err = infl[kinds == "token"].sum(), infl[kinds == "error"].sum()
        has_input = norm.sum(axis=1) > 0
        non_error = 1 - norm[:, kinds == "error"].sum(axis=1)
        scores = graph_scores(g)
        assert scores["replacement_score"] == pytest.approx(tok / (tok + err))
        assert scores["completeness_score"] == pytest.approx(
            (non_error * infl)[has_input].sum() / infl[has_input].sum()
        )
