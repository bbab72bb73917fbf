"""The baseline: Neuronpedia's proposed supernode suggestions (hijohnnylin/neuronpedia issue #145
and its draft pull request #229, "deterministic supernode suggestion engine"), as described there.

What is implemented, step by step:

1. Candidates: the graph's latents, at most `max_nodes` of them (the proposal takes the first
   200 pinned feature nodes; a stored graph has no pins, so the most influential: lowest stored
   cumulative influence first, or where influence is unknown the largest total |weight| of
   their edges). Latents already in a supernode given in `exclude` are left out (the proposal
   leaves out nodes already in manual supernodes). Only latents: the feature-type guard.
2. Profiles from the whole graph: a latent's signed incoming edge weights (one entry per source
   node) and its signed outgoing edge weights (one per target node), raw weights, unweighted.
3. Pair similarity: the cosine of the incoming profiles, of the outgoing profiles, or
   ("combined", the default) the mean of the two.
4. Guards on pairs: a pair may share a group only if its similarity is at least `threshold`
   and the two share at least `min_shared` neighbours (sources both read from plus targets both
   write to): the support guard.
5. Complete-link agglomerative clustering over the allowed pairs (so every pair within a group
   passes both guards), merging the most similar groups first, ties by position, layer and
   feature order; no group beyond `max_size` (the group-size guard); groups do not overlap.
6. Groups of two or more latents are the suggestions; each is scored by its least pairwise
   similarity. Sharing neighbours makes every pair in a group within two steps of each other,
   so groups are connected in the graph.

The proposal's defaults were not published with it; the ones here were picked as reasonable,
and bench/supernodes.py also reports this baseline at its best threshold per graph.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from circuitstore.graph import AttributionGraph
from circuitstore.supernodes.clustering import Cluster, agglomerate
from circuitstore.supernodes.profiles import adjacency, cosine, edge_profiles, latent_rows, shared_neighbours

DIRECTIONS = ("combined", "incoming", "outgoing")


@dataclass(frozen=True)
class EdgeProfileSettings:
    threshold: float = 0.5
    direction: str = "combined"
    min_shared: int = 2
    max_nodes: int = 200
    max_size: int = 16


def most_influential(graph: AttributionGraph, rows: list[int], k: int) -> list[int]:
    """The `k` rows to keep, back in their given order: lowest stored influence first, else
    (influence unknown) the largest total |weight| of their edges."""
    if len(rows) <= k:
        return rows
    a, rank = adjacency(graph)
    magnitude = abs(a)
    strength = np.asarray(magnitude.sum(axis=0)).ravel() + np.asarray(magnitude.sum(axis=1)).ravel()

    def order(i: int) -> tuple:
        influence = graph.nodes[i].influence
        return (influence is None, influence or 0.0, -strength[rank[i]], graph.nodes[i].id)

    keep = set(sorted(rows, key=order)[:k])
    return [i for i in rows if i in keep]


def edge_profile_clusters(
    graph: AttributionGraph, exclude: Collection[str] = (), settings: EdgeProfileSettings = EdgeProfileSettings()
) -> tuple[list[int], list[Cluster]]:
    """(the candidate latents as node indices, the clusters over them)."""
    if settings.direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, got {settings.direction!r}")
    rows = most_influential(graph, latent_rows(graph, exclude), settings.max_nodes)
    if len(rows) < 2:
        return rows, []
    incoming, outgoing = edge_profiles(graph, rows)
    similarity = {
        "incoming": lambda: cosine(incoming),
        "outgoing": lambda: cosine(outgoing),
        "combined": lambda: (cosine(incoming) + cosine(outgoing)) / 2,
    }[settings.direction]()
    allowed = shared_neighbours(incoming, outgoing) >= settings.min_shared
    clusters = agglomerate(
        similarity, settings.threshold, linkage="complete", allowed=allowed, max_size=settings.max_size
    )
    return rows, clusters
