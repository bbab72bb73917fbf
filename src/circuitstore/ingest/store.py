"""Writing one AttributionGraph to Neo4j: one transaction per graph, batched, parameterised."""

from __future__ import annotations

import neo4j

from circuitstore.errors import CircuitstoreError
from circuitstore.graph import AttributionGraph
from circuitstore.ingest.cypher import cypher
from circuitstore.ingest.delete import clear_graph, prune_shared
from circuitstore.ingest.rows import GraphRows

# Edges per CREATE statement: large enough that round trips do not matter, small enough that one
# parameter message stays a few MB.
EDGE_BATCH = 20_000
_CREATE = {"token": "create_tokens", "latent": "create_latents",
           "error": "create_errors", "logit": "create_logits"}


class GraphExists(CircuitstoreError):
    """A different graph is already stored under this id (pass replace=True to swap it)."""


def store_graph(driver: neo4j.Driver, graph: AttributionGraph, *, replace: bool = False) -> str:
    """Store `graph` whole or not at all; return 'created', 'unchanged' or 'replaced'.

    The same content again (same fingerprint) changes nothing. A different graph under an existing
    id raises GraphExists unless `replace`, which swaps old for new in the same transaction.
    Transient failures (deadlocks between concurrent imports merging the same Features) are
    retried by the driver's managed transaction, which re-runs the whole unit.
    """
    rows = GraphRows.of(graph)
    with driver.session() as session:
        return session.execute_write(_store, rows, replace)


def _store(tx: neo4j.ManagedTransaction, rows: GraphRows, replace: bool) -> str:
    gid = rows.graph_id
    claim = tx.run(cypher("claim_graph"), graph_id=gid).single(strict=True)
    stale: list[str] = []
    outcome = "created"
    if not claim["fresh"]:
        if claim["fingerprint"] == rows.fingerprint:
            return "unchanged"
        if not replace:
            raise GraphExists(f"a different graph is already stored as {gid!r} (use --replace to swap it)")
        stale = clear_graph(tx, gid)
        tx.run(cypher("unlink_graph"), graph_id=gid).consume()
        outcome = "replaced"

    tx.run(cypher("merge_shared"), model=rows.graph["model"], transcoder_set=rows.graph["transcoder_set"],
           features=rows.features, vocab=rows.vocab).consume()
    tx.run(cypher("set_graph"), graph_id=gid, props=rows.graph).consume()

    eids = [""] * rows.graph["n_nodes"]  # node-table index -> elementId
    for kind, query in _CREATE.items():
        if rows.nodes[kind]:
            for rec in tx.run(cypher(query), rows=rows.nodes[kind]):
                eids[rec["i"]] = rec["eid"]

    s = rows.sources.tolist()
    t = rows.targets.tolist()
    for lo in range(0, len(s), EDGE_BATCH):
        hi = lo + EDGE_BATCH
        tx.run(cypher("create_edges"), s=[eids[i] for i in s[lo:hi]], t=[eids[i] for i in t[lo:hi]],
               w=rows.weights[lo:hi], share=rows.shares[lo:hi]).consume()

    if rows.supernodes:
        tx.run(cypher("create_supernodes"), graph_id=gid,
               supernodes=[{"name": sn["name"], "members": [eids[i] for i in sn["members"]]}
                           for sn in rows.supernodes]).consume()
    prune_shared(tx, stale)
    return outcome
