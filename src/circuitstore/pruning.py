"""Influence, pruning and graph scores (numpy and scipy only; no torch).

Conventions: A[t, s] is the weight of the edge s -> t. Â is |A| with each target's row divided
by its total absolute input (rows without input stay zero). w holds the logit nodes'
probabilities. A node's influence on the logits is w^T (I - Â)^{-1}: the probability-weighted
sum over all paths to the logits (Â + Â² + ... ; the series ends because the graph is acyclic),
plus, for a logit, its own weight.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import scipy.sparse as sp

from circuitstore.graph import AttributionGraph, GraphMeta, edge_shares

PRUNABLE = ("latent", "error")


def normalized_weights(n: int, targets: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Each edge's |weight| divided by its target's total absolute input."""
    return np.abs(edge_shares(n, targets, weights))


def normalized_matrix(n: int, sources: np.ndarray, targets: np.ndarray, weights: np.ndarray) -> sp.csr_matrix:
    """Â as a sparse n×n matrix, Â[t, s] = |A[t, s]| / sum_s' |A[t, s']|."""
    return sp.csr_matrix((normalized_weights(n, targets, weights), (targets, sources)), shape=(n, n))


def influence(norm: sp.csr_matrix, logit_weights: np.ndarray) -> np.ndarray:
    """w^T (I - Â)^{-1}, summed path length by path length until no path is longer."""
    total = logit_weights.astype(np.float64).copy()
    step = total.copy()
    transposed = norm.T.tocsr()
    for _ in range(norm.shape[0]):
        step = transposed @ step
        if not step.any():
            return total
        total += step
    raise ValueError("influence does not converge: the graph has a cycle")


def logit_weights(graph: AttributionGraph) -> np.ndarray:
    return np.array([(n.probability or 0.0) if n.kind == "logit" else 0.0 for n in graph.nodes])


def node_influence(graph: AttributionGraph) -> np.ndarray:
    """Each node's influence on the logits, in node-table order."""
    norm = normalized_matrix(graph.n_nodes, graph.sources, graph.targets, graph.weights)
    return influence(norm, logit_weights(graph))


def find_threshold(scores: np.ndarray, fraction: float) -> float:
    """The smallest score among the top scores that together hold `fraction` of the total."""
    if scores.size == 0:
        return np.inf
    ordered = np.sort(scores)[::-1]
    total = ordered.sum()
    if total <= 0:
        return np.inf
    cumulative = np.cumsum(ordered) / total
    return float(ordered[min(int(np.searchsorted(cumulative, fraction)), ordered.size - 1)])


def graph_scores(graph: AttributionGraph) -> dict[str, float]:
    """Replacement score: the tokens' share of the influence that tokens and errors have on the
    logits. Completeness score: over nodes with inputs, the influence-weighted share of input
    that does not come from error nodes."""
    n = graph.n_nodes
    kinds = np.array([node.kind for node in graph.nodes])
    norm = normalized_matrix(n, graph.sources, graph.targets, graph.weights)
    infl = influence(norm, logit_weights(graph))
    tokens, errors = infl[kinds == "token"].sum(), infl[kinds == "error"].sum()
    from_error = kinds[graph.sources] == "error"
    error_share = np.bincount(
        graph.targets, weights=normalized_weights(n, graph.targets, graph.weights) * from_error, minlength=n
    )
    has_input = np.bincount(graph.targets, minlength=n) > 0
    denom = infl[has_input].sum()
    return {
        "replacement_score": float(tokens / (tokens + errors)) if tokens + errors > 0 else 1.0,
        "completeness_score": float(((1 - error_share) * infl)[has_input].sum() / denom) if denom > 0 else 1.0,
    }


def prune(graph: AttributionGraph, node_threshold: float = 0.8, edge_threshold: float = 0.98) -> AttributionGraph:
    """Keep latents and errors by influence, then edges by influence, as circuit-tracer does.

    Nodes: latents and errors, most influential first, until they hold `node_threshold` of their
    total influence; tokens and logits always stay. Edges among kept nodes: scored by their
    normalised weight times the influence of their target (recomputed on the node-pruned
    graph), kept until they hold `edge_threshold` of the total. Latents and errors left with no
    outgoing edge can no longer reach a logit and go too. Nodes carry their influence in the
    full graph; the meta records both thresholds and the full graph's scores (as circuit-tracer
    reports them: pruning changes what is shown, not how well the replacement explains the model).
    """
    n = graph.n_nodes
    kinds = np.array([node.kind for node in graph.nodes])
    prunable = np.isin(kinds, PRUNABLE)
    w = logit_weights(graph)
    infl = influence(normalized_matrix(n, graph.sources, graph.targets, graph.weights), w)

    keep = ~prunable | (infl >= find_threshold(infl[prunable], node_threshold))
    src, tgt, wts = graph.sources, graph.targets, graph.weights
    edge_keep = keep[src] & keep[tgt]
    s, t, v = src[edge_keep], tgt[edge_keep], wts[edge_keep]
    pruned_infl = influence(normalized_matrix(n, s, t, v), w)
    edge_scores = normalized_weights(n, t, v) * pruned_infl[t]
    edge_keep[np.flatnonzero(edge_keep)] = edge_scores >= find_threshold(edge_scores, edge_threshold)

    while True:
        has_out = np.bincount(src[edge_keep], minlength=n) > 0
        dead = prunable & keep & ~has_out
        if not dead.any():
            break
        keep &= ~dead
        edge_keep &= keep[src] & keep[tgt]

    new_index = np.cumsum(keep) - 1
    nodes = [replace(node, influence=float(infl[i])) for i, node in enumerate(graph.nodes) if keep[i]]
    kept_ids = {node.id for node in nodes}
    supernodes = [replace(sn, members=tuple(m for m in sn.members if m in kept_ids)) for sn in graph.supernodes]
    meta: GraphMeta = replace(
        graph.meta,
        pruning={"node_threshold": node_threshold, "edge_threshold": edge_threshold},
        scores=graph_scores(graph),
    )
    return AttributionGraph(
        meta, nodes, new_index[src[edge_keep]], new_index[tgt[edge_keep]], wts[edge_keep], supernodes
    )
