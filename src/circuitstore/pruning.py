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

Edges are read in blocks (EdgeBlocks), each holding every edge into its targets, so that a
graph still held as attribution's compact rows (compute/edge_rows.py) is pruned without ever
being built whole: what pruning holds beyond the blocks is Â and its transpose while one is built
from the other (12 bytes an edge each), then the transpose alone, and per-node arrays. Every sum
runs in the order it would over the whole graph's edge arrays, so a graph pruned from its blocks
is the graph pruned after being built.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

import numpy as np
import scipy.sparse as sp

from circuitstore.graph import AttributionGraph, GraphMeta, Node, Supernode, edge_shares

# Called once per pass over the edges: (targets, sources, weights) arrays, block by block in the
# graph's edge order, every edge into a block's targets in that block.
EdgeBlocks = Callable[[], Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]]]


def graph_blocks(graph: AttributionGraph) -> EdgeBlocks:
    """A built graph's edges as one block."""
    return lambda: [(graph.targets, graph.sources, graph.weights)]


def normalized_weights(n: int, targets: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Each edge's |weight| divided by its target's total absolute input."""
    return np.abs(edge_shares(n, targets, weights))


def normalized_transpose(n: int, blocks: EdgeBlocks, keep: np.ndarray | None = None) -> sp.csr_matrix:
    """Âᵀ as a sparse n×n matrix, over the edges between nodes in `keep` (all if None).

    Â is filled block by block, each target's edges into its row's place (the order within a
    row does not matter), into arrays sized by a first pass that counts each target's edges;
    its transpose then lists each source's targets in increasing order, in linear time."""
    counts = np.zeros(n, dtype=np.int64)
    for t, s, _ in blocks():
        counts += np.bincount(t[_between(keep, t, s)], minlength=n)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    indices, data = np.empty(indptr[-1], dtype=np.int32 if n < 2**31 else np.int64), np.empty(indptr[-1])
    for t, s, v in blocks():
        at = _between(keep, t, s)
        t, s, v = t[at], s[at], v[at]
        order = np.argsort(t, kind="stable")
        present, first, size = np.unique(t[order], return_index=True, return_counts=True)
        # A block holds every edge into its targets: target u's edges fill indptr[u]...
        slots = np.arange(t.size) + np.repeat(indptr[present] - first, size)
        indices[slots], data[slots] = s[order], normalized_weights(n, t, v)[order]
    return sp.csr_matrix((data, indices, indptr), shape=(n, n)).T


def _between(keep: np.ndarray | None, targets: np.ndarray, sources: np.ndarray) -> np.ndarray | slice:
    return slice(None) if keep is None else keep[targets] & keep[sources]


def influence(transposed: sp.csr_matrix, logit_weights: np.ndarray) -> np.ndarray:
    """w (Â + Â² + ...) from Âᵀ, summed path length by path length until no path is longer (w a
    vector, or a matrix of one column per weighting)."""
    step = logit_weights.astype(np.float64)
    total = np.zeros_like(step)
    for _ in range(transposed.shape[0] + 1):
        step = transposed @ step
        if not step.any():
            return total
        total += step
    raise ValueError("influence does not converge: the graph has a cycle")


def logit_weights(nodes: Sequence[Node]) -> np.ndarray:
    return np.array([(n.probability or 0.0) if n.kind == "logit" else 0.0 for n in nodes])


def raw_influence(graph: AttributionGraph) -> np.ndarray:
    """Each node's raw influence on the logits, in node-table order (circuit-tracer's
    compute_node_influence)."""
    return influence(normalized_transpose(graph.n_nodes, graph_blocks(graph)), logit_weights(graph.nodes))


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
    return _scores(graph.nodes, graph_blocks(graph), raw_influence(graph) if raw is None else raw)


def _scores(nodes: Sequence[Node], blocks: EdgeBlocks, raw: np.ndarray) -> dict[str, float]:
    n = len(nodes)
    kinds = np.array([node.kind for node in nodes])
    tokens, errors = raw[kinds == "token"].sum(), raw[kinds == "error"].sum()
    error = kinds == "error"
    error_share = np.zeros(n)
    for t, s, v in blocks():  # each target's share is summed within its own block
        error_share += np.bincount(t, weights=normalized_weights(n, t, v) * error[s], minlength=n)
    weight = raw + logit_weights(nodes)
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
    return prune_blocks(graph.meta, graph.nodes, graph_blocks(graph), node_threshold, edge_threshold, graph.supernodes)


def prune_blocks(
    meta: GraphMeta,
    nodes: Sequence[Node],
    blocks: EdgeBlocks,
    node_threshold: float = 0.8,
    edge_threshold: float = 0.98,
    supernodes: Sequence[Supernode] = (),
) -> AttributionGraph:
    """`prune` of the graph of `meta`, `nodes`, the edges `blocks` and `supernodes`, which is
    never built."""
    n = len(nodes)
    kinds = np.array([node.kind for node in nodes])
    latent = kinds == "latent"
    dead_ends = latent | (kinds == "error")
    w = logit_weights(nodes)
    raw = influence(normalized_transpose(n, blocks), w)

    keep = (raw >= find_threshold(raw, node_threshold)) | np.isin(kinds, ("token", "logit"))
    target_weight = influence(normalized_transpose(n, blocks, keep), w) + w
    edge_keep, edge_scores = [], []
    for t, s, v in blocks():
        edge_keep.append(keep[s] & keep[t])
        t, v = t[edge_keep[-1]], v[edge_keep[-1]]
        edge_scores.append(normalized_weights(n, t, v) * target_weight[t])
    scores = np.concatenate(edge_scores) if edge_scores else np.zeros(0)
    cut = find_threshold(scores, edge_threshold, n_zeros=n * n - scores.size)
    del scores
    for at, score in zip(edge_keep, edge_scores):
        at[np.flatnonzero(at)] = score >= cut
    del edge_scores

    # With a cut of 0 every node pair passes, so no node is left without edges.
    while cut > 0:
        before = keep.copy()
        outgoing, incoming = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
        for (t, s, _), at in zip(blocks(), edge_keep):
            outgoing += np.bincount(s[at], minlength=n)
            incoming += np.bincount(t[at], minlength=n)
        keep &= ~dead_ends | (outgoing > 0)
        keep &= ~latent | (incoming > 0)
        if (keep == before).all():
            break
        for (t, s, _), at in zip(blocks(), edge_keep):
            at &= keep[s] & keep[t]

    cumulative = cumulative_influence(raw)
    new_index = np.cumsum(keep) - 1
    kept = [
        replace(node, influence=None if node.kind == "logit" else float(cumulative[i]))
        for i, node in enumerate(nodes)
        if keep[i]
    ]
    kept_ids = {node.id for node in kept}
    parts = [(new_index[s[at]], new_index[t[at]], v[at]) for (t, s, v), at in zip(blocks(), edge_keep)]
    sources, targets, weights = (np.concatenate(column) for column in zip(*parts)) if parts else ((), (), ())
    meta = replace(
        meta,
        pruning={"node_threshold": node_threshold, "edge_threshold": edge_threshold},
        scores=_scores(nodes, blocks, raw),
    )
    return AttributionGraph(
        meta,
        kept,
        sources,
        targets,
        weights,
        [replace(sn, members=tuple(m for m in sn.members if m in kept_ids)) for sn in supernodes],
    )
