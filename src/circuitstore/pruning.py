"""Influence, pruning and graph scores as circuit-tracer defines them (numpy and scipy only; no
torch). A graph pruned here keeps the nodes and edges circuit-tracer's prune_graph keeps, and
its scores are those of compute_graph_scores.

Conventions: A[t, s] is the weight of the edge s -> t. Â is |A| with each target's row divided
by its total absolute input (rows without input stay zero). w holds the logit nodes'
probabilities. A node's raw influence on the logits is w (Â + Â² + ...): the probability-weighted
sum over all paths of one edge or more to the logits of the product of normalised weights (the
series ends because the graph is acyclic); a logit's own is 0. What nodes store as `influence`
is the cumulative score: with nodes ranked by raw influence, the share of the graph's total raw
influence held by the node and every node ranked above it, so lower is more influential.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import scipy.sparse as sp

from circuitstore.graph import AttributionGraph, GraphMeta, edge_shares


def normalized_weights(n: int, targets: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Each edge's |weight| divided by its target's total absolute input."""
    return np.abs(edge_shares(n, targets, weights))


def normalized_matrix(n: int, sources: np.ndarray, targets: np.ndarray, weights: np.ndarray) -> sp.csr_matrix:
    """Â as a sparse n×n matrix, Â[t, s] = |A[t, s]| / sum_s' |A[t, s']|."""
    return sp.csr_matrix((normalized_weights(n, targets, weights), (targets, sources)), shape=(n, n))


def influence(norm: sp.csr_matrix, logit_weights: np.ndarray) -> np.ndarray:
    """w (Â + Â² + ...), summed path length by path length until no path is longer (w a vector,
    or a matrix of one column per weighting)."""
    step = logit_weights.astype(np.float64)
    total = np.zeros_like(step)
    transposed = norm.T.tocsr()
    for _ in range(norm.shape[0] + 1):
        step = transposed @ step
        if not step.any():
            return total
        total += step
    raise ValueError("influence does not converge: the graph has a cycle")


def logit_weights(graph: AttributionGraph) -> np.ndarray:
    return np.array([(n.probability or 0.0) if n.kind == "logit" else 0.0 for n in graph.nodes])


def raw_influence(graph: AttributionGraph) -> np.ndarray:
    """Each node's raw influence on the logits, in node-table order (circuit-tracer's
    compute_node_influence)."""
    norm = normalized_matrix(graph.n_nodes, graph.sources, graph.targets, graph.weights)
    return influence(norm, logit_weights(graph))


def cumulative_influence(raw: np.ndarray) -> np.ndarray:
    """The cumulative score of each node (see the module docstring); ties rank in table order."""
    order = np.argsort(-raw, kind="stable")
    total = raw.sum()
    cumulative = np.ones(raw.size)
    if total > 0:
        cumulative[order] = np.cumsum(raw[order]) / total
    return cumulative


def find_threshold(scores: np.ndarray, fraction: float, n_zeros: int = 0) -> float:
    """The smallest score among the top scores that together hold `fraction` of the total;
    `n_zeros` more scores of 0 count among the scores (circuit-tracer sorts every entry of the
    n×n matrix, zeros too), so a cut past the positive scores is 0."""
    ordered = np.sort(scores)[::-1]
    total = ordered.sum()
    if total <= 0:
        return np.inf if n_zeros == 0 and ordered.size == 0 else 0.0
    cumulative = np.cumsum(ordered) / total
    at = int(np.searchsorted(cumulative, fraction))
    if at < ordered.size:
        return float(ordered[at])
    return 0.0 if n_zeros else float(ordered[-1])


def graph_scores(graph: AttributionGraph, raw: np.ndarray | None = None) -> dict[str, float]:
    """Replacement score: the tokens' share of the raw influence that tokens and errors have on
    the logits. Completeness score: over every node, the share of its normalised input that
    does not come from error nodes (1 for a node without inputs), averaged with weights raw
    influence plus logit probability. `raw` is the graph's raw influence if already known."""
    n = graph.n_nodes
    kinds = np.array([node.kind for node in graph.nodes])
    w = logit_weights(graph)
    infl = raw_influence(graph) if raw is None else raw
    tokens, errors = infl[kinds == "token"].sum(), infl[kinds == "error"].sum()
    from_error = kinds[graph.sources] == "error"
    error_share = np.bincount(
        graph.targets, weights=normalized_weights(n, graph.targets, graph.weights) * from_error, minlength=n
    )
    weight = infl + w
    return {
        "replacement_score": float(tokens / (tokens + errors)) if tokens + errors > 0 else 1.0,
        "completeness_score": float(((1 - error_share) * weight).sum() / weight.sum()) if weight.sum() > 0 else 1.0,
    }


def prune(graph: AttributionGraph, node_threshold: float = 0.8, edge_threshold: float = 0.98) -> AttributionGraph:
    """The nodes and edges circuit-tracer's prune_graph keeps, in circuit-tracer's steps.

    1. Nodes: every node ranked by raw influence; those at or above the cut where the top ones
       hold `node_threshold` of the total stay, and so do all tokens and logits.
    2. Edges: on the graph of those nodes, each edge scored by its normalised weight times its
       target's raw influence plus probability (recomputed on that graph); the cut where the top
       scores hold `edge_threshold` of the total is taken over all n×n node pairs, so when it
       falls past the positive scores every pair passes.
    3. Until nothing changes: latents and errors without a kept outgoing edge go, then latents
       without a kept incoming edge; the edges of nodes gone go with them.

    Nodes carry the full graph's cumulative influence (logits none, as circuit-tracer writes
    them); the meta records both thresholds and the full graph's scores (pruning changes what is
    shown, not how well the replacement explains the model).
    """
    n = graph.n_nodes
    kinds = np.array([node.kind for node in graph.nodes])
    latent = kinds == "latent"
    dead_ends = latent | (kinds == "error")
    w = logit_weights(graph)
    src, tgt, wts = graph.sources, graph.targets, graph.weights
    raw = influence(normalized_matrix(n, src, tgt, wts), w)

    keep = (raw >= find_threshold(raw, node_threshold)) | np.isin(kinds, ("token", "logit"))
    edge_keep = keep[src] & keep[tgt]
    s, t, v = src[edge_keep], tgt[edge_keep], wts[edge_keep]
    target_weight = influence(normalized_matrix(n, s, t, v), w) + w
    edge_scores = normalized_weights(n, t, v) * target_weight[t]
    cut = find_threshold(edge_scores, edge_threshold, n_zeros=n * n - edge_scores.size)
    edge_keep[np.flatnonzero(edge_keep)] = edge_scores >= cut

    # With a cut of 0 every node pair passes, so no node is left without edges.
    while cut > 0:
        before = keep.copy()
        keep &= ~dead_ends | (np.bincount(src[edge_keep], minlength=n) > 0)
        keep &= ~latent | (np.bincount(tgt[edge_keep], minlength=n) > 0)
        if (keep == before).all():
            break
        edge_keep &= keep[src] & keep[tgt]

    cumulative = cumulative_influence(raw)
    new_index = np.cumsum(keep) - 1
    nodes = [
        replace(node, influence=None if node.kind == "logit" else float(cumulative[i]))
        for i, node in enumerate(graph.nodes)
        if keep[i]
    ]
    kept_ids = {node.id for node in nodes}
    supernodes = [replace(sn, members=tuple(m for m in sn.members if m in kept_ids)) for sn in graph.supernodes]
    meta: GraphMeta = replace(
        graph.meta,
        pruning={"node_threshold": node_threshold, "edge_threshold": edge_threshold},
        scores=graph_scores(graph, raw),
    )
    return AttributionGraph(
        meta, nodes, new_index[src[edge_keep]], new_index[tgt[edge_keep]], wts[edge_keep], supernodes
    )
