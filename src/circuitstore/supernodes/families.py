"""Feature families: Features of one transcoder set that play one role across many graphs
("the Texas group" in every Dallas prompt), found from how each graph groups them.

Each graph has its say through its groups (its supernodes, hand-made or suggested): two
Features held by one group of a graph were together there; two Features both in a graph but in
no common group were apart. A pair's co-grouping rate is the share of the graphs holding both
that put them together. Features in at least `min_graphs` graphs and grouped in at least one
are clustered on that rate with average linkage (clustering.py) down to `threshold` (by default
a majority of the graphs), each merge joining groups with at least one pair that was ever
together, so every family is held together by observed groupings; two Features no graph holds
both of never share a family, as nothing tells whether they play one role (else a Feature of
every prompt, grouped with Texas in the Dallas prompts and with California in the Oakland
ones, would chain the two states into one family). A family's score is its mean
pairwise rate; it is named from its Features' labels, else from its layers and the token its
Features most often lie at (naming.py); it occurs in the graphs that hold any of its Features.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from circuitstore.supernodes.clustering import agglomerate
from circuitstore.supernodes.naming import group_name, unique_names


@dataclass(frozen=True)
class GraphGroups:
    """One graph's say: the Features it holds, its groups (as Feature ids), and the texts of the
    tokens each Feature lies at in it."""

    graph_id: str
    features: frozenset[str]
    groups: tuple[frozenset[str], ...]
    tokens: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class FamilySettings:
    threshold: float = 0.5
    min_graphs: int = 2


@dataclass(frozen=True)
class Family:
    name: str
    features: tuple[str, ...]  # Feature ids, sorted
    score: float
    graphs: tuple[str, ...]  # the graphs holding any of them, sorted


def co_grouping(observed: Sequence[GraphGroups], features: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(how many graphs hold both, how many put both in one group), for each pair of `features`."""
    index = {f: i for i, f in enumerate(features)}
    n = len(features)
    present = np.zeros((n, len(observed)))
    together = np.zeros((n, n))
    for g, graph in enumerate(observed):
        present[[index[f] for f in graph.features if f in index], g] = 1.0
        member = np.zeros((n, len(graph.groups)))
        for k, group in enumerate(graph.groups):
            member[[index[f] for f in group if f in index], k] = 1.0
        together += (member @ member.T) > 0
    both = present @ present.T
    np.fill_diagonal(together, 0.0)
    return both, together


def build_families(
    observed: Sequence[GraphGroups],
    labels: Mapping[str, str],
    layers: Mapping[str, int],
    settings: FamilySettings = FamilySettings(),
) -> list[Family]:
    """The families across the `observed` graphs, most widespread first; `labels` and `layers`
    give each Feature's label (where one is known) and layer, for names."""
    counts: dict[str, int] = {}
    grouped: set[str] = set()
    for graph in observed:
        for f in graph.features:
            counts[f] = counts.get(f, 0) + 1
        for group in graph.groups:
            grouped |= group
    features = sorted(f for f in grouped if counts.get(f, 0) >= settings.min_graphs)
    if len(features) < 2:
        return []
    both, together = co_grouping(observed, features)
    rate = np.divide(together, both, out=np.zeros_like(together), where=both > 0)
    clusters = agglomerate(rate, settings.threshold, linkage="average", allowed=both > 0, linked=together > 0)
    found = []
    for c in clusters:
        members = tuple(features[k] for k in c.members)
        graphs = tuple(sorted(g.graph_id for g in observed if g.features & set(members)))
        texts = [t for g in observed for f in members for t in g.tokens.get(f, ())]
        name = group_name([labels.get(f) for f in members], [layers[f] for f in members], texts)
        found.append((name, members, c.score, graphs))
    found.sort(key=lambda x: (-len(x[3]), -len(x[1]), x[1]))
    names = unique_names([x[0] for x in found])
    return [Family(name, members, score, graphs) for name, (_, members, score, graphs) in zip(names, found)]
