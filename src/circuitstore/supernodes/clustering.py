"""Agglomerative clustering of a similarity matrix, deterministic, with the guards both methods use.

Start with every item alone; repeatedly merge the two groups whose linkage similarity is
highest, as long as it is at least `threshold`. Linkage "complete": the similarity of two groups
is that of their least similar pair (every pair in a group clears the threshold); "average": the
mean over their cross pairs (UPGMA; one dissimilar pair does not veto a merge). Guards: pairs
outside `allowed` never share a group (their similarity counts as minus infinity, so under
complete linkage no group holds one); a merge needs at least one `linked` pair between the two
groups, so a group is connected under the `linked` relation; no group grows past `max_size`.
Ties go to the pair that comes first in item order, so the same input gives the same groups.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LINKAGES = ("complete", "average")


@dataclass(frozen=True)
class Cluster:
    members: tuple[int, ...]  # item indices, ascending
    score: float  # cohesion: the least pairwise similarity (complete) or the mean (average)


def agglomerate(
    similarity: np.ndarray,
    threshold: float,
    *,
    linkage: str = "complete",
    allowed: np.ndarray | None = None,
    linked: np.ndarray | None = None,
    max_size: int | None = None,
) -> list[Cluster]:
    """The groups of two or more items, ordered by their first item."""
    if linkage not in LINKAGES:
        raise ValueError(f"linkage must be one of {', '.join(LINKAGES)}, got {linkage!r}")
    n = len(similarity)
    base = np.array(similarity, dtype=np.float64)
    if allowed is not None:
        base[~allowed] = -np.inf
    np.fill_diagonal(base, -np.inf)
    sim = base.copy()  # linkage similarity between current groups (rows of merged-away groups: -inf)
    link = np.ones((n, n), dtype=bool) if linked is None else np.array(linked, dtype=bool)
    size = np.ones(n, dtype=np.int64)
    members = [[i] for i in range(n)]
    # What may merge now: linked groups; pairs found too big stay blocked, as groups only grow.
    candidates = np.where(link, sim, -np.inf)
    while n > 1:
        flat = int(np.argmax(candidates))
        a, b = sorted(divmod(flat, n))
        best = candidates[a, b]
        if not best >= threshold:  # also -inf and NaN
            break
        if max_size is not None and size[a] + size[b] > max_size:
            candidates[a, b] = candidates[b, a] = -np.inf
            continue
        if linkage == "complete":
            row = np.minimum(sim[a], sim[b])
        else:
            with np.errstate(invalid="ignore"):
                row = (size[a] * sim[a] + size[b] * sim[b]) / (size[a] + size[b])
        size[a] += size[b]
        members[a] += members[b]
        members[b] = []
        sim[a], sim[:, a] = row, row
        sim[b], sim[:, b] = -np.inf, -np.inf
        sim[a, a] = -np.inf
        link[a] |= link[b]
        link[:, a] = link[a]
        candidates[a] = np.where(link[a], sim[a], -np.inf)
        candidates[:, a] = candidates[a]
        if max_size is not None:
            too_big = size[a] + size > max_size
            candidates[a, too_big] = candidates[too_big, a] = -np.inf
        candidates[b], candidates[:, b] = -np.inf, -np.inf
    groups = sorted(tuple(sorted(m)) for m in members if len(m) > 1)
    return [Cluster(g, cohesion(base, g, linkage)) for g in groups]


def cohesion(similarity: np.ndarray, members: tuple[int, ...], linkage: str) -> float:
    """How alike a group's members are: their least pairwise similarity (complete linkage) or the
    mean over their pairs (average linkage)."""
    idx = np.asarray(members)
    pairs = similarity[np.ix_(idx, idx)][np.triu_indices(len(idx), 1)]
    return float(pairs.min() if linkage == "complete" else pairs.mean())
