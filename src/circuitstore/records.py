"""Neo4j result values as plain Python (dicts, lists, ISO strings), for tables and JSON."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from circuitstore.neo4j_driver import neo4j


def plain(value: Any) -> Any:
    """A JSON-ready copy of one value: nodes become dicts of their properties plus `_labels`,
    relationships of theirs plus `_type` and the `source` / `target` node ids, paths dicts of
    `nodes` and `relationships`, temporal values ISO strings."""
    if isinstance(value, neo4j.graph.Node):
        return {"_labels": sorted(value.labels), **{k: plain(v) for k, v in value.items()}}
    if isinstance(value, neo4j.graph.Relationship):
        return {
            "_type": value.type,
            "source": value.start_node.get("node_id"),
            "target": value.end_node.get("node_id"),
            **{k: plain(v) for k, v in value.items()},
        }
    if isinstance(value, neo4j.graph.Path):
        return {"nodes": [plain(n) for n in value.nodes], "relationships": [plain(r) for r in value.relationships]}
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "iso_format"):  # neo4j.time Date, Time, DateTime, Duration
        return value.iso_format()
    return value


def rows(records: Iterable[neo4j.Record]) -> list[dict[str, Any]]:
    return [{key: plain(val) for key, val in record.items()} for record in records]
