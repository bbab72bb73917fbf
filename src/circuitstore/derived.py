"""Facts derived from a graph's edges once, when it is stored, so that questions across many
graphs read them instead of searching every graph on every call (numpy and scipy only).

- `logit_influence`: each node's total influence on each logit, through all paths (no depth cap).
- `strongest_paths`: for each logit, the strongest all-positive token→logit paths, the `k`
  strongest of each length from 1 to MAX_PATH_LENGTH edges. The top k paths of at most m edges
  are then the k strongest of the lengths up to m, for every k <= the k stored and every m: a
  path among them is among the k strongest of its own length.

Both follow the queries' definitions (queries/paths.cypher, queries/logit-drivers.cypher).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from circuitstore.graph import AttributionGraph, edge_shares
from circuitstore.pruning import graph_blocks, influence, normalized_transpose

# Paths kept per logit and path length: more than `paths` and `recurrence` ask for by default (5),
# as many as the planted demo asks of recurrence (every path of its pruned graphs).
STORED_PATHS = 8
# The longest path a query may ask for (paths' and recurrence's max_length).
MAX_PATH_LENGTH = 8


@dataclass(frozen=True)
class Path:
    """One token→logit path: node indices from token to logit, strength (the product of the
    edges' shares of their target's input) and the product of the raw weights."""

    nodes: tuple[int, ...]
    strength: float
    weight_product: float

    @property
    def length(self) -> int:
        return len(self.nodes) - 1


def logits(graph: AttributionGraph) -> list[int]:
    """The logit nodes' indices, ordered by node id (so the same graph in another node order,
    read back from the store, gives the same order): the order of `logit_influence`'s columns."""
    return sorted((i for i, node in enumerate(graph.nodes) if node.kind == "logit"), key=lambda i: graph.nodes[i].id)


def logit_influence(graph: AttributionGraph) -> np.ndarray:
    """(n_nodes, n_logits): column j holds every node's influence on logit `logits(graph)[j]`,
    the sum over all paths from the node to the logit of the product of the edges' |share|s,
    i.e. e_logit ((I - A)^-1 - I) with A[t, s] = |share of s -> t|; 0 for a logit itself."""
    columns = logits(graph)
    unit = np.zeros((graph.n_nodes, len(columns)))
    unit[columns, np.arange(len(columns))] = 1.0
    return influence(normalized_transpose(graph.n_nodes, graph_blocks(graph)), unit)


def strongest_paths(
    graph: AttributionGraph,
    k: int = STORED_PATHS,
    max_length: int = MAX_PATH_LENGTH,
    sources: Sequence[int] | None = None,
) -> dict[int, list[Path]]:
    """{logit index: paths}, strongest first: the k strongest of each length 1..max_length.

    Paths start at any token (or at the nodes `sources`), follow edges of positive weight, pass
    through no logit and through no node at a later position than their logit. Found by dynamic
    programming over lengths, keeping the k strongest partial paths of each length into each
    node, which is exact: a path's prefix is among the k strongest of its length into its last
    node.
    """
    out: dict[int, list[Path]] = {}
    position = np.array([node.position for node in graph.nodes])
    is_logit = np.array([node.kind == "logit" for node in graph.nodes])
    ends = logits(graph)
    if sources is None:
        sources = [i for i, node in enumerate(graph.nodes) if node.kind == "token"]
    for at in sorted({int(position[i]) for i in ends}):
        group = [i for i in ends if position[i] == at]
        out.update(_paths_into(graph, group, sources, position <= at, is_logit, k, max_length))
    return {i: out[i] for i in ends}


def _paths_into(graph, ends, sources, in_reach, is_logit, k, max_length) -> dict[int, list[Path]]:
    n = graph.n_nodes
    share = edge_shares(n, graph.targets, graph.weights)
    src, tgt = graph.sources, graph.targets
    # Edges a path may take: positive, not out of a logit, into a logit or a node in reach.
    keep = (share > 0) & ~is_logit[src] & (is_logit[tgt] | in_reach[tgt])
    src, tgt, share, weight = src[keep], tgt[keep], share[keep], graph.weights[keep]

    strength = np.zeros((n, k))  # strength[v, r]: the r-th strongest partial path into v
    product = np.zeros((n, k))
    strength[sources, 0] = product[sources, 0] = 1.0
    back = []  # per length: (previous node, previous rank) of each (v, r)
    layers = []  # per length: the partial paths found (strength, node, rank) and weight products
    for _ in range(max_length):
        cand = strength[src] * share[:, None]  # (edges, k)
        e, r = np.nonzero(cand > 0)
        v = tgt[e]
        values = cand[e, r]
        order = np.lexsort((-values, v))
        e, r, v, values = e[order], r[order], v[order], values[order]
        first = np.searchsorted(v, v, side="left")
        rank = np.arange(len(v)) - first
        top = rank < k
        e, r, v, values, rank = e[top], r[top], v[top], values[top], rank[top]
        new_strength = np.zeros((n, k))
        new_product = np.zeros((n, k))
        prev = np.full((n, k, 2), -1, dtype=np.int64)
        new_strength[v, rank] = values
        new_product[v, rank] = product[src[e], r] * weight[e]
        prev[v, rank, 0] = src[e]
        prev[v, rank, 1] = r
        back.append(prev)
        layers.append((values, v, rank, new_product))
        strength, product = new_strength, new_product
    return _collect(n, ends, back, layers)


def _collect(n, ends, back, layers) -> dict[int, list[Path]]:
    out: dict[int, list[Path]] = {t: [] for t in ends}
    is_end = np.zeros(n, dtype=bool)
    is_end[ends] = True
    for length, (values, v, rank, product) in enumerate(layers, start=1):
        at_end = is_end[v]
        at, ar = v[at_end], rank[at_end]
        ends, weights = at.tolist(), product[at, ar].tolist()
        trail = [at]  # every path of this length at once, walked back a step at a time
        for step in range(length - 1, -1, -1):
            prev = back[step][at, ar]
            at, ar = prev[:, 0], prev[:, 1]
            trail.append(at)
        nodes = np.stack(trail[::-1], axis=1).tolist()
        for path, value, node, weight in zip(nodes, values[at_end].tolist(), ends, weights):
            out[node].append(Path(tuple(path), value, weight))
    for paths in out.values():
        paths.sort(key=lambda p: (-p.strength, p.length))
    return out
