"""What one graph says about its latents, as the grouping methods read it.

A latent's incoming profile is the row of signed edge weights into it, one entry per node of
the graph (its sources); its outgoing profile the row of weights out of it (its targets). Two
latents with the same role read from the same nodes and write to the same nodes with the same
signs, so their profiles point the same way (cosine near 1).
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
from scipy import sparse

from circuitstore.graph import AttributionGraph


def latent_rows(graph: AttributionGraph, exclude: Collection[str] = ()) -> list[int]:
    """Indices (into graph.nodes) of the latents to group, those in `exclude` left out, in a fixed
    order: by position, layer, feature index and id, so results never depend on the node table's
    order."""
    rows = [i for i, n in enumerate(graph.nodes) if n.kind == "latent" and n.id not in exclude]
    nodes = graph.nodes
    return sorted(rows, key=lambda i: (nodes[i].position, nodes[i].layer, nodes[i].feature_index, nodes[i].id))


def adjacency(graph: AttributionGraph) -> tuple[sparse.csr_matrix, np.ndarray]:
    """(A, rank): A[rank[s], rank[t]] = weight of the edge s -> t, nodes ranked by id, so that
    every sum over them runs in the same order whatever the order of the node table (the same
    graph read from its file or from the store gives the same numbers to the last bit)."""
    n = graph.n_nodes
    rank = np.empty(n, dtype=np.int64)
    rank[sorted(range(n), key=lambda i: graph.nodes[i].id)] = np.arange(n)
    a = sparse.csr_matrix((graph.weights, (rank[graph.sources], rank[graph.targets])), shape=(n, n))
    a.sort_indices()
    return a, rank


def edge_profiles(graph: AttributionGraph, rows: list[int], *, idf: bool = False) -> tuple[sparse.csr_matrix, ...]:
    """(incoming, outgoing): one profile per latent in `rows`, over every node of the graph.

    With `idf`, each neighbour's entries are weighted by log((1 + n) / (1 + d)), n the latents in
    `rows` and d how many of them that neighbour is joined to in that direction, as in text
    retrieval: a neighbour that every latent shares (the target logit, a token all read) says
    nothing about which of them belong together and counts for nothing."""
    a, rank = adjacency(graph)
    incoming = a[:, rank[rows]].T.tocsr()
    outgoing = a[rank[rows], :].tocsr()
    if idf:
        n = len(rows)
        weighted = []
        for profile in (incoming, outgoing):
            d = np.asarray((profile != 0).sum(axis=0)).ravel()
            weighted.append(profile @ sparse.diags(np.log((1 + n) / (1 + d))))
        incoming, outgoing = (w.tocsr() for w in weighted)
    return incoming, outgoing


def cosine(profiles: sparse.csr_matrix) -> np.ndarray:
    """Pairwise cosine similarity of the rows; a row of zeros is 0 to everything."""
    norms = np.sqrt(np.asarray(profiles.multiply(profiles).sum(axis=1)).ravel())
    scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    unit = sparse.diags(scale) @ profiles
    return np.asarray((unit @ unit.T).todense())


def shared_neighbours(incoming: sparse.csr_matrix, outgoing: sparse.csr_matrix) -> np.ndarray:
    """How many neighbours each pair has in common: sources both read from plus targets both
    write to."""
    total = np.zeros((incoming.shape[0],) * 2)
    for profile in (incoming, outgoing):
        present = (profile != 0).astype(np.float64)
        total += np.asarray((present @ present.T).todense())
    return total


def within_two_steps(graph: AttributionGraph, rows: list[int]) -> np.ndarray:
    """Which pairs of the latents in `rows` are joined by an edge (either way) or share a
    neighbour (a node joined to both, either way): the relation under which a group must be
    connected. Two latents of one layer never have an edge between them, so sharing a neighbour
    must also count."""
    a, rank = adjacency(graph)
    joined = ((a != 0) + (a != 0).T).astype(np.float64).tocsr()
    sub = joined[rank[rows]]
    reach = sub[:, rank[rows]] + sub @ sub.T
    return np.asarray((reach > 0).todense())
