"""Deriving the ingest-time facts (circuitstore.derived) for graphs stored without them: the
data step of migration 9. Each graph is read back, derived in Python and updated in its own
transaction, so the step is bounded by the largest graph and, stopped half-way, resumes."""

from __future__ import annotations

from circuitstore.derived import STORED_PATHS
from circuitstore.neo4j_driver import neo4j
from circuitstore.store.cypher import cypher
from circuitstore.store.load import load_graph
from circuitstore.store.params import derived_properties


def derive_missing(driver: neo4j.Driver, stored_paths: int = STORED_PATHS) -> int:
    """Store the derived facts of every graph that lacks them; return how many graphs got them."""
    records, _, _ = driver.execute_query(cypher("underived_graphs"))
    for record in records:
        graph = load_graph(driver, record["id"])
        derived = derived_properties(graph, stored_paths)
        rows = [{"node_id": graph.nodes[i].id, "props": props} for i, props in derived.items()]
        driver.execute_query(cypher("set_derived"), graph_id=graph.meta.id, rows=rows, stored_paths=stored_paths)
    return len(records)
