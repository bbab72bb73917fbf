"""Removing a stored graph, and with it the shared nodes no other graph uses."""

from __future__ import annotations

from circuitstore.neo4j_driver import neo4j
from circuitstore.store.cypher import cypher
from circuitstore.store.errors import GraphNotFound, GraphTooBig
from circuitstore.store.labels import relabel_features
from circuitstore.store.memory import DELETE_BYTES_PER_EDGE, check_fits, more_heap, transaction_pool
from circuitstore.store.transaction import out_of_memory, write


def clear_graph(tx: neo4j.Transaction, graph_id: str) -> tuple[list[str], list[str]]:
    """Delete a graph's nodes, edges, supernodes and interventions (also those that swapped in its
    latents; not the :Graph node) inside `tx`; return the elementIds of the Features and Vocab
    entries they used, for `prune_shared` afterwards, and the ids of those Features, for
    `relabel_features` after that."""
    tx.run(cypher("delete_interventions"), graph_id=graph_id).consume()
    record = tx.run(cypher("delete_graph_nodes"), graph_id=graph_id).single(strict=True)
    return record["shared"], record["features"]


def prune_shared(tx: neo4j.Transaction, candidates: list[str]) -> int:
    """Remove those candidate Feature/Vocab nodes that nothing links to any more."""
    if not candidates:
        return 0
    return tx.run(cypher("prune_shared"), ids=candidates).single(strict=True)["removed"]


def _delete(tx: neo4j.Transaction, graph_id: str) -> None:
    shared, features = clear_graph(tx, graph_id)
    if not tx.run(cypher("delete_graph"), graph_id=graph_id).single(strict=True)["deleted"]:
        raise GraphNotFound(f"no graph {graph_id!r} is stored")
    prune_shared(tx, shared)
    relabel_features(tx, features)  # what only this graph said about them goes with it


def delete_graph(driver: neo4j.Driver, graph_id: str) -> None:
    """Delete one graph in one transaction, keeping every shared node another graph still uses
    (their labels re-derived without it). Raises GraphNotFound (and changes nothing) when no
    such graph is stored, GraphTooBig when the server's transaction memory cannot hold it."""
    records, _, _ = driver.execute_query(cypher("graph_size"), graph_id=graph_id, routing_=neo4j.RoutingControl.READ)
    edges = records[0]["edges"] if records else 0
    check_fits(transaction_pool(driver), graph_id, f"deleting its {edges:,} edges", edges * DELETE_BYTES_PER_EDGE)
    try:
        write(driver, _delete, graph_id)
    except neo4j.exceptions.Neo4jError as exc:
        if out_of_memory(exc):
            raise GraphTooBig(
                f"graph {graph_id!r} ({edges:,} edges): Neo4j ran out of transaction memory deleting it; "
                f"{more_heap(edges * DELETE_BYTES_PER_EDGE)}"
            ) from None
        raise
