"""Removing a stored graph, and with it the shared nodes no other graph uses."""

from __future__ import annotations

from circuitstore.neo4j_driver import neo4j
from circuitstore.store.cypher import cypher
from circuitstore.store.errors import GraphNotFound


def clear_graph(tx: neo4j.ManagedTransaction, graph_id: str) -> list[str]:
    """Delete a graph's nodes, edges, supernodes and interventions (also those that swapped in its
    latents; not the :Graph node) inside `tx`; return the elementIds of the Features and Vocab
    entries they used, for `prune_shared` afterwards."""
    tx.run(cypher("delete_interventions"), graph_id=graph_id).consume()
    return tx.run(cypher("delete_graph_nodes"), graph_id=graph_id).single(strict=True)["shared"]


def prune_shared(tx: neo4j.ManagedTransaction, candidates: list[str]) -> int:
    """Remove those candidate Feature/Vocab nodes that nothing links to any more."""
    if not candidates:
        return 0
    return tx.run(cypher("prune_shared"), ids=candidates).single(strict=True)["removed"]


def _delete(tx: neo4j.ManagedTransaction, graph_id: str) -> None:
    shared = clear_graph(tx, graph_id)
    if not tx.run(cypher("delete_graph"), graph_id=graph_id).single(strict=True)["deleted"]:
        raise GraphNotFound(f"no graph {graph_id!r} is stored")
    prune_shared(tx, shared)


def delete_graph(driver: neo4j.Driver, graph_id: str) -> None:
    """Delete one graph in one transaction, keeping every shared node another graph still uses.
    Raises GraphNotFound (and changes nothing) when no such graph is stored."""
    with driver.session() as session:
        session.execute_write(_delete, graph_id)
