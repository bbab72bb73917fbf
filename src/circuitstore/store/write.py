"""Writing one AttributionGraph to Neo4j: one transaction per graph, batched, parameterised."""

from __future__ import annotations

from circuitstore.errors import NEO4J_OUT_OF_MEMORY
from circuitstore.graph import AttributionGraph
from circuitstore.neo4j_driver import neo4j
from circuitstore.store.cypher import cypher
from circuitstore.store.delete import clear_graph, prune_shared
from circuitstore.store.errors import GraphExists, GraphTooBig
from circuitstore.store.labels import relabel_features
from circuitstore.store.params import GraphParams

# Edges per statement: large enough that per-statement costs vanish, small enough that one
# parameter message stays a few MB.
EDGE_BATCH = 20_000


def store_graph(driver: neo4j.Driver, graph: AttributionGraph, *, replace: bool = False) -> str:
    """Store `graph` whole or not at all; return 'created', 'unchanged' or 'replaced'.

    The same content again (same fingerprint) changes nothing. A different graph under an existing
    id raises GraphExists unless `replace`, which swaps old for new in the same transaction.
    Transient failures (deadlocks between concurrent imports merging the same Features) are
    retried by the driver's managed transaction, which re-runs the whole unit.
    """
    params = GraphParams.of(graph)
    with driver.session() as session:
        try:
            return session.execute_write(_store, params, replace)
        except neo4j.exceptions.TransientError as exc:  # at commit, after the driver's retries
            if exc.code == NEO4J_OUT_OF_MEMORY:
                raise _too_big(params, exc) from exc
            raise


def _store(tx: neo4j.ManagedTransaction, params: GraphParams, replace: bool) -> str:
    try:
        return _write(tx, params, replace)
    except neo4j.exceptions.TransientError as exc:
        # Retrying cannot help a graph whose edges alone exceed the server's transaction memory.
        if exc.code == NEO4J_OUT_OF_MEMORY:
            raise _too_big(params, exc) from exc
        raise


def _too_big(params: GraphParams, exc: neo4j.exceptions.TransientError) -> GraphTooBig:
    return GraphTooBig(
        f"graph {params.graph_id!r} ({len(params.weights)} edges): Neo4j ran out of transaction memory "
        f"({exc.message}); store it alone, or give the server more heap "
        "(circuitstore server start --heap)"
    )


def _write(tx: neo4j.ManagedTransaction, params: GraphParams, replace: bool) -> str:
    gid = params.graph_id
    claim = tx.run(cypher("claim_graph"), graph_id=gid).single(strict=True)
    stale: list[str] = []
    stale_features: list[str] = []
    outcome = "created"
    if not claim["fresh"]:
        if claim["fingerprint"] == params.fingerprint:
            return "unchanged"
        if not replace:
            raise GraphExists(f"a different graph is already stored as {gid!r} (use --replace to swap it)")
        stale, stale_features = clear_graph(tx, gid)
        tx.run(cypher("unlink_graph"), graph_id=gid).consume()
        outcome = "replaced"

    b = EDGE_BATCH
    eids = tx.run(
        cypher("write_graph"),
        graph_id=gid,
        props=params.graph,
        features=params.features,
        vocab=params.vocab,
        nodes=params.nodes,
        s=params.sources[:b],
        t=params.targets[:b],
        w=params.weights[:b],
        share=params.shares[:b],
        supernodes=params.supernodes,
    ).single(strict=True)["eids"]
    for lo in range(b, len(params.weights), b):
        hi = lo + b
        tx.run(
            cypher("create_edges"),
            s=[eids[i] for i in params.sources[lo:hi]],
            t=[eids[i] for i in params.targets[lo:hi]],
            w=params.weights[lo:hi],
            share=params.shares[lo:hi],
        ).consume()
    prune_shared(tx, stale)
    relabel_features(tx, [f["id"] for f in params.features] + stale_features)
    return outcome
