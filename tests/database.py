"""Helpers over the test database: emptying it (schema kept), reading one value, the Feature labels."""

from __future__ import annotations

from typing import Any

from circuitstore.neo4j_driver import neo4j

# Everything but the schema version goes: relationships first, then nodes, in batches, so a
# big leftover graph cannot exhaust the transaction memory of a small heap.
_WIPE = (
    "MATCH ()-[r]->() CALL (r) { DELETE r } IN TRANSACTIONS OF 20000 ROWS",
    "MATCH (n) WHERE NOT n:SchemaVersion CALL (n) { DELETE n } IN TRANSACTIONS OF 20000 ROWS",
)


def wipe(driver: neo4j.Driver) -> None:
    """Delete every node and relationship but the schema version."""
    with driver.session() as session:
        for statement in _WIPE:
            session.run(statement).consume()


def value(driver: neo4j.Driver, query: str, **params: Any) -> Any:
    """The first column of the first row of `query`."""
    records, _, _ = driver.execute_query(query, **params)
    return records[0][0]


def stored_labels(driver: neo4j.Driver) -> dict[str, tuple]:
    """{feature id: (label, label_source, label_graphs, name)} of every stored Feature."""
    rows = value(driver, "MATCH (f:Feature) RETURN collect([f.id, f.label, f.label_source, f.label_graphs, f.name])")
    return {fid: (label, source, graphs, name) for fid, label, source, graphs, name in rows}
