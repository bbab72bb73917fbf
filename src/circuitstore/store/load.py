"""Reading stored graphs back out of Neo4j."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from circuitstore.graph import KINDS, AttributionGraph, GraphMeta, Node, Supernode
from circuitstore.neo4j_driver import neo4j
from circuitstore.store.cypher import cypher
from circuitstore.store.errors import GraphNotFound
from circuitstore.store.params import NODE_PROPERTIES, PRUNING_KEYS, SCORE_KEYS


def graph_exists(driver: neo4j.Driver, graph_id: str) -> bool:
    records, _, _ = driver.execute_query(cypher("graph_exists"), graph_id=graph_id, routing_=neo4j.RoutingControl.READ)
    return records[0]["exists"]


def list_graphs(driver: neo4j.Driver) -> list[dict[str, Any]]:
    """One row per stored graph (id, prompt, model, transcoder_set, nodes, edges, scores, created)."""
    records, _, _ = driver.execute_query(cypher("list_graphs"), routing_=neo4j.RoutingControl.READ)
    return [r.data() for r in records]


# Nodes whose out-edges come back in one part: a few parts for a big graph, one for most.
_SLOTS_PER_PART = 2000


def load_graph(
    driver: neo4j.Driver, graph_id: str, *, progress: Callable[[int, int], None] | None = None
) -> AttributionGraph:
    """The stored graph as an AttributionGraph, read in one transaction (a consistent snapshot).

    Neo4j keeps no order, so nodes come back sorted by kind, layer, position and feature, edges by
    endpoint, supernodes by name; contents are exactly what was stored. `progress(edges read,
    edges)` is called as the edges come, a part at a time.
    """
    with driver.session() as session:
        return session.execute_read(_load, graph_id, progress)


def _load(tx: neo4j.ManagedTransaction, graph_id: str, progress: Callable[[int, int], None] | None) -> AttributionGraph:
    head = tx.run(cypher("load_graph"), graph_id=graph_id).single()
    if head is None:
        raise GraphNotFound(f"no graph {graph_id!r} is stored")
    g = head["graph"]
    props = [r["props"] for r in tx.run(cypher("load_nodes"), graph_id=graph_id)]
    edges: dict[str, list] = {"sources": [], "targets": [], "weights": []}
    for lo in range(0, len(props), _SLOTS_PER_PART):
        part = tx.run(cypher("load_edges"), graph_id=graph_id, lo=lo, hi=lo + _SLOTS_PER_PART).single(strict=True)
        for key, values in edges.items():
            values.extend(part[key])
        if progress:
            progress(len(edges["weights"]), g["n_edges"])
    supernodes = [(r["name"], r["members"]) for r in tx.run(cypher("load_supernodes"), graph_id=graph_id)]

    rank = {kind: i for i, kind in enumerate(KINDS)}
    props.sort(key=lambda p: (rank[p["kind"]], p.get("layer", -1), p["position"], p.get("feature", -1), p["node_id"]))
    nodes = [
        Node(
            id=p["node_id"],
            kind=p["kind"],
            position=p["position"],
            is_target=p.get("is_target", False),
            **{field: p.get(prop) for field, prop in NODE_PROPERTIES.items()},
        )
        for p in props
    ]
    index = {node.id: i for i, node in enumerate(nodes)}

    src = [index[s] for s in edges["sources"]]
    tgt = [index[t] for t in edges["targets"]]
    order = sorted(range(len(src)), key=lambda k: (src[k], tgt[k]))
    meta = GraphMeta(
        id=g["id"],
        prompt=g["prompt"],
        prompt_tokens=tuple(g.get("prompt_tokens", ())),
        model=g["model"],
        transcoder_set=g["transcoder_set"],
        created=g.get("created"),
        generation=json.loads(g["generation"]),
        pruning=_settings(g, "pruning", PRUNING_KEYS),
        scores=_settings(g, "scores", SCORE_KEYS),
        source=json.loads(g["source"]),
        kind=g.get("kind", "attribution"),
    )
    return AttributionGraph(
        meta,
        nodes,
        [src[k] for k in order],
        [tgt[k] for k in order],
        [edges["weights"][k] for k in order],
        [Supernode(name, tuple(sorted(members, key=index.__getitem__))) for name, members in sorted(supernodes)],
    )


def _settings(g: dict, prop: str, columns: tuple[str, ...]) -> dict:
    """Pruning settings or scores: the JSON of all of them, or (graphs stored before it was
    kept) the columns."""
    if prop in g:
        return json.loads(g[prop])
    return {k: g[k] for k in columns if g.get(k) is not None}
