"""Removing a stored graph, and with it the shared nodes no other graph uses."""

from __future__ import annotations

from circuitstore.neo4j_driver import neo4j
from circuitstore.store.cypher import cypher
from circuitstore.store.errors import GraphNotFound
from circuitstore.store.labels import relabel_features


def clear_graph(tx: neo4j.ManagedTransaction, graph_id: str) -> tuple[list[str], list[str]]:
    """Delete a graph's nodes, edges, supernodes and interventions (also those that swapped in its
    latents; not the :Graph node) inside `tx`; return the elementIds of the Features and Vocab
    entries they used, for `prune_shared` afterwards, and the ids of those Features, for
    `relabel_features` after that."""
    tx.run(cypher("delete_interventions"), graph_id=graph_id).consume()
    record = tx.run(cypher("delete_graph_nodes"), graph_id=graph_id).single(strict=True)
    return record["shared"], record["features"]


def prune_shared(tx: neo4j.ManagedTransaction, candidates: list[str]) -> int:
    """Remove those candidate Feature/Vocab nodes that nothing links to any more."""
    if not candidates:
        return 0
    return tx.run(cypher("prune_shared"), ids=candidates).single(strict=True)["removed"]


def _delete(tx: neo4j.ManagedTransaction, graph_id: str) -> None:
    shared, features = clear_graph(tx, graph_id)
    if not tx.run(cypher("delete_graph"), graph_id=graph_id).single(strict=True)["deleted"]:
        raise GraphNotFound(f"no graph {graph_id!r} is stored")
    prune_shared(tx, shared)
    relabel_features(tx, features)  # what only this graph said about them goes with it


def delete_graph(driver: neo4j.Driver, graph_id: str) -> None:
    """Delete one graph in one transaction, keeping every shared node another graph still uses
    (their labels re-derived without it).
    Raises GraphNotFound (and changes nothing) when no such graph is stored."""
    with driver.session() as session:
        session.execute_write(_delete, graph_id)
