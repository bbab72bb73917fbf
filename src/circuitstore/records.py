"""Neo4j result values as plain Python (dicts, lists, ISO strings), for tables and JSON."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from neo4j import Record
from neo4j.graph import Node, Path, Relationship


def plain(value: Any) -> Any:
    """A JSON-ready copy of one value: nodes and relationships become dicts of their
    properties plus `_labels` / `_type`, paths lists of those, temporal values ISO strings."""
    if isinstance(value, Node):
        return {"_labels": sorted(value.labels), **{k: plain(v) for k, v in value.items()}}
    if isinstance(value, Relationship):
        return {"_type": value.type, **{k: plain(v) for k, v in value.items()}}
    if isinstance(value, Path):
        return [plain(part) for pair in zip(value.nodes, value.relationships) for part in pair] + [plain(value.end_node)]
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "iso_format"):  # neo4j.time Date, Time, DateTime, Duration
        return value.iso_format()
    return value


def rows(records: Iterable[Record]) -> list[dict[str, Any]]:
    return [{key: plain(val) for key, val in record.items()} for record in records]
