"""Suggested supernodes of one graph, by either method, named and scored.

    suggest(graph, method, knowledge=Knowledge(), exclude=(), taken=()) -> [Suggestion]

`exclude` holds node ids to leave ungrouped (the CLI passes the members of the graph's
imported and manual supernodes, so suggestions never overlap them). Suggestions come ordered
by their first latent (position, layer, feature), named from their members' labels
(naming.py), unique among themselves and against the names in `taken` (the graph's other
supernodes).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from circuitstore.errors import CircuitstoreError
from circuitstore.graph import AttributionGraph
from circuitstore.supernodes import METHODS
from circuitstore.supernodes.edge_profile import edge_profile_clusters
from circuitstore.supernodes.evidence import Knowledge, evidence_clusters, node_labels
from circuitstore.supernodes.naming import group_name, unique_names


@dataclass(frozen=True)
class Suggestion:
    name: str
    members: tuple[str, ...]  # node ids
    score: float
    method: str


def suggest(
    graph: AttributionGraph,
    method: str,
    knowledge: Knowledge = Knowledge(),
    exclude: Collection[str] = (),
    taken: Collection[str] = (),
) -> list[Suggestion]:
    if method == "edge-profile":
        rows, clusters = edge_profile_clusters(graph, exclude)
    elif method == "evidence":
        rows, clusters = evidence_clusters(graph, knowledge, exclude)
    else:
        raise CircuitstoreError(f"no grouping method {method!r}; the methods are: {', '.join(METHODS)}")
    labels = node_labels(graph, rows, knowledge)
    tokens = graph.meta.prompt_tokens
    names = []
    for c in clusters:
        members = [graph.nodes[rows[k]] for k in c.members]
        texts = [tokens[n.position] if n.position < len(tokens) else None for n in members]
        names.append(group_name([labels[k] for k in c.members], [n.layer for n in members], texts))
    return [
        Suggestion(name, tuple(graph.nodes[rows[k]].id for k in c.members), c.score, method)
        for name, c in zip(unique_names(names, taken), clusters)
    ]
