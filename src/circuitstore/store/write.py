"""Writing one AttributionGraph to Neo4j: one transaction per graph, batched, parameterised."""

from __future__ import annotations

from collections.abc import Callable

from circuitstore.derived import STORED_PATHS
from circuitstore.errors import memory_limit
from circuitstore.graph import AttributionGraph
from circuitstore.neo4j_driver import neo4j
from circuitstore.store.cypher import cypher
from circuitstore.store.delete import clear_graph, prune_shared
from circuitstore.store.errors import GraphExists, GraphTooBig
from circuitstore.store.labels import relabel_features
from circuitstore.store.memory import (
    DELETE_BYTES_PER_EDGE,
    STORE_BYTES_PER_EDGE,
    check_fits,
    more_heap,
    transaction_pool,
)
from circuitstore.store.params import GraphParams
from circuitstore.store.transaction import out_of_memory, write

# Edges per statement: large enough that per-statement costs vanish, small enough that one
# parameter message stays a few MB.
EDGE_BATCH = 20_000


def store_graph(
    driver: neo4j.Driver,
    graph: AttributionGraph,
    *,
    replace: bool = False,
    progress: Callable[[int, int], None] | None = None,
    stored_paths: int = STORED_PATHS,
) -> str:
    """Store `graph` whole or not at all; return 'created', 'unchanged' or 'replaced'.

    The same content again (same fingerprint) changes nothing. A different graph under an existing
    id raises GraphExists unless `replace`, which swaps old for new in the same transaction.
    Transient failures (deadlocks between concurrent imports merging the same Features) are
    retried, the whole unit again; a graph too big for the server's transaction memory raises
    GraphTooBig, before anything is sent where its size tells (memory.py), else at once.
    `progress(edges written, edges)` is called after each batch of edges. `stored_paths` paths
    per logit and length are derived and kept with the graph (circuitstore.derived).
    """
    pool = transaction_pool(driver)
    n = graph.n_edges
    check_fits(pool, graph.meta.id, f"storing its {n:,} edges", n * STORE_BYTES_PER_EDGE)
    params = GraphParams.of(graph, stored_paths=stored_paths)
    try:
        return write(driver, _write, params, replace, pool, progress)
    except neo4j.exceptions.Neo4jError as exc:
        if out_of_memory(exc):
            limit = memory_limit(exc.message)
            raise GraphTooBig(
                f"graph {params.graph_id!r} ({n:,} edges): Neo4j ran out of transaction memory"
                f"{f' ({limit})' if limit else ''}; {more_heap(n * STORE_BYTES_PER_EDGE)}"
            ) from None
        raise


def _write(
    tx: neo4j.Transaction,
    params: GraphParams,
    replace: bool,
    pool: int | None,
    progress: Callable[[int, int], None] | None,
) -> str:
    gid = params.graph_id
    n = len(params.weights)
    claim = tx.run(cypher("claim_graph"), graph_id=gid).single(strict=True)
    stale: list[str] = []
    stale_features: list[str] = []
    outcome = "created"
    if not claim["fresh"]:
        if claim["fingerprint"] == params.fingerprint:
            return "unchanged"
        if not replace:
            raise GraphExists(f"a different graph is already stored as {gid!r} (use --replace to swap it)")
        old = claim["n_edges"] or 0
        needed = old * DELETE_BYTES_PER_EDGE + n * STORE_BYTES_PER_EDGE
        check_fits(pool, gid, f"replacing its {old:,} edges with {n:,}", needed)
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
    if progress:
        progress(min(b, n), n)
    for lo in range(b, n, b):
        hi = lo + b
        tx.run(
            cypher("create_edges"),
            s=[eids[i] for i in params.sources[lo:hi]],
            t=[eids[i] for i in params.targets[lo:hi]],
            w=params.weights[lo:hi],
            share=params.shares[lo:hi],
        ).consume()
        if progress:
            progress(min(hi, n), n)
    prune_shared(tx, stale)
    relabel_features(tx, [f["id"] for f in params.features] + stale_features)
    return outcome
