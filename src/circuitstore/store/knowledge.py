"""What the store knows about a graph's Features beyond the graph itself, for the `evidence`
grouping method (supernodes/evidence.py): their labels, the other graphs that hold them, how
they were grouped elsewhere, and what the stored weights say about them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from circuitstore.graph import AttributionGraph
from circuitstore.identity import feature_id
from circuitstore.neo4j_driver import neo4j
from circuitstore.store.cypher import cypher
from circuitstore.store.load import load_graph
from circuitstore.supernodes import HAND_MADE
from circuitstore.supernodes.evidence import Knowledge

# Other graphs read for the `elsewhere` evidence: the ones sharing the most Features.
MAX_OTHERS = 20


def knowledge(
    driver: neo4j.Driver,
    graph: AttributionGraph,
    *,
    loaded: Mapping[str, AttributionGraph] | None = None,
    families: bool = True,
    max_others: int = MAX_OTHERS,
) -> Knowledge:
    """What the store knows of `graph`'s Features. Other graphs are read from the store unless
    `loaded` (graph id -> graph) has them; `families` False leaves the feature families out
    (building families must not read the ones it replaces)."""
    ts = graph.meta.transcoder_set
    features = sorted({feature_id(ts, n.layer, n.feature_index) for n in graph.nodes if n.kind == "latent"})
    gid = graph.meta.id
    loaded = loaded or {}

    def rows(name: str, **params: object) -> list[neo4j.Record]:
        read = neo4j.RoutingControl.READ
        return driver.execute_query(cypher(name), features=features, routing_=read, **params).records

    labels = {r["feature"]: r["label"] for r in rows("knowledge_labels")}
    other_ids = [r["other"] for r in rows("knowledge_others", graph=gid, k=max_others)]
    others = [loaded[o] if o in loaded else load_graph(driver, o) for o in other_ids]
    groupings = [r["groups"] for r in rows("knowledge_groupings", graph=gid, hand_made=list(HAND_MADE))]
    if families:
        groupings += [r["groups"] for r in rows("knowledge_families") if r["groups"]]
    weights: dict[str, dict[str, dict[str, float]]] = defaultdict(dict)
    for r in rows("knowledge_weights"):
        weights[r["feature"]][r["list"]] = dict(r["entries"])
    return Knowledge(labels=labels, others=others, groupings=groupings, weights=dict(weights))
