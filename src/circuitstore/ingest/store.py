"""Writing one AttributionGraph to Neo4j: one transaction per graph, batched, parameterised."""

from __future__ import annotations

import neo4j
from neo4j.exceptions import TransientError

from circuitstore.errors import CircuitstoreError
from circuitstore.graph import AttributionGraph
from circuitstore.ingest.cypher import cypher
from circuitstore.ingest.delete import clear_graph, prune_shared
from circuitstore.ingest.rows import GraphRows

# Edges per statement: large enough that per-statement costs vanish, small enough that one
# parameter message stays a few MB.
EDGE_BATCH = 20_000
_OUT_OF_TX_MEMORY = "Neo.TransientError.General.MemoryPoolOutOfMemoryError"


class GraphExists(CircuitstoreError):
    """A different graph is already stored under this id (pass replace=True to swap it)."""


class GraphTooBig(CircuitstoreError):
    """Storing the graph needs more transaction memory than the server has (on a 1 GiB heap, about
    700 bytes an edge: some 700,000 edges)."""


def store_graph(driver: neo4j.Driver, graph: AttributionGraph, *, replace: bool = False) -> str:
    """Store `graph` whole or not at all; return 'created', 'unchanged' or 'replaced'.

    The same content again (same fingerprint) changes nothing. A different graph under an existing
    id raises GraphExists unless `replace`, which swaps old for new in the same transaction.
    Transient failures (deadlocks between concurrent imports merging the same Features) are
    retried by the driver's managed transaction, which re-runs the whole unit.
    """
    rows = GraphRows.of(graph)
    with driver.session() as session:
        try:
            return session.execute_write(_store, rows, replace)
        except TransientError as exc:  # at commit, after the driver's retries
            if exc.code == _OUT_OF_TX_MEMORY:
                raise _too_big(rows, exc) from exc
            raise


def _store(tx: neo4j.ManagedTransaction, rows: GraphRows, replace: bool) -> str:
    try:
        return _write(tx, rows, replace)
    except TransientError as exc:
        # Retrying cannot help a graph whose edges alone exceed the server's transaction memory.
        if exc.code == _OUT_OF_TX_MEMORY:
            raise _too_big(rows, exc) from exc
        raise


def _too_big(rows: GraphRows, exc: TransientError) -> GraphTooBig:
    return GraphTooBig(
        f"graph {rows.graph_id!r} ({len(rows.weights)} edges): Neo4j ran out of transaction memory "
        f"({exc.message}); store it alone, or give the server more heap "
        "(circuitstore server start --heap)"
    )


def _write(tx: neo4j.ManagedTransaction, rows: GraphRows, replace: bool) -> str:
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

    b = EDGE_BATCH
    eids = tx.run(
        cypher("write_graph"),
        graph_id=gid,
        props=rows.graph,
        features=rows.features,
        vocab=rows.vocab,
        tokens=rows.nodes["token"],
        latents=rows.nodes["latent"],
        errors=rows.nodes["error"],
        logits=rows.nodes["logit"],
        s=rows.sources[:b],
        t=rows.targets[:b],
        w=rows.weights[:b],
        share=rows.shares[:b],
        supernodes=rows.supernodes,
    ).single(strict=True)["eids"]
    for lo in range(b, len(rows.weights), b):
        hi = lo + b
        tx.run(
            cypher("create_edges"),
            s=[eids[i] for i in rows.sources[lo:hi]],
            t=[eids[i] for i in rows.targets[lo:hi]],
            w=rows.weights[lo:hi],
            share=rows.shares[lo:hi],
        ).consume()
    prune_shared(tx, stale)
    return outcome
