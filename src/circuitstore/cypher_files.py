"""Cypher kept as Cypher: reading the `.cypher` files that ship inside circuitstore's packages."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib.resources import files


def cypher_reader(package: str) -> Callable[[str], str]:
    """A cached `cypher(name)` giving the text of `<name>.cypher` in `package`, exactly as
    Neo4j Browser would run it."""

    @cache
    def cypher(name: str) -> str:
        return files(package).joinpath(f"{name}.cypher").read_text(encoding="utf-8")

    return cypher
