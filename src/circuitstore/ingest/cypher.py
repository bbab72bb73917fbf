"""The ingest Cypher, read from the .cypher files beside this module (one statement each)."""

from __future__ import annotations

from functools import cache
from importlib.resources import files


@cache
def cypher(name: str) -> str:
    """The text of `<name>.cypher`, as Neo4j Browser would run it."""
    return files(__package__).joinpath(f"{name}.cypher").read_text(encoding="utf-8")
