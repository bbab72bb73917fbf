"""Run a named query: check and coerce its parameters against its header, run its checks, run
the very text of its `.cypher` file, and hand back plain Python rows."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from circuitstore.errors import NEO4J_OUT_OF_MEMORY, CircuitstoreError, memory_limit, one_line
from circuitstore.neo4j_driver import neo4j
from circuitstore.queries.library import Param, QueryInfo, get_check, get_query
from circuitstore.records import rows

# The longest string parameter (and list item) a query takes; numbers and lists have their
# bounds in the query's header.
MAX_TEXT = 10_000


def run_query(driver: neo4j.Driver, name: str, **params: Any) -> list[dict[str, Any]]:
    """Run query `name` with `params` (Python values); raise CircuitstoreError on bad ones."""
    query = get_query(name)
    values = bind(query, params)
    checks = [get_check(c) for c in query.checks]

    # Checks and query share one read transaction: one round of begin/commit, one snapshot.
    def work(tx: neo4j.ManagedTransaction) -> list[dict[str, Any]]:
        for check in checks:
            problems = [problem_text(r["problem"]) for r in run_statement(tx, check, values) if r.get("problem")]
            if problems:
                raise CircuitstoreError("; ".join(problems))
        return run_statement(tx, query, values)

    with driver.session() as session:
        return session.execute_read(work)


def problem_text(problem: str | list) -> str:
    """A check's `problem` as one line: a string as it is; a list's parts concatenated, a part
    that is itself a list (of names, say) joined with ", "."""
    if isinstance(problem, str):
        return problem
    return "".join(", ".join(map(str, part)) if isinstance(part, list) else str(part) for part in problem)


def parse_cli_params(name: str, pairs: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """`key=value` strings from the command line, typed by the query's header."""
    query = get_query(name)
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep:
            raise CircuitstoreError(f"--param {pair!r}: expected key=value")
        param = _param(query, key.strip())
        out[param.name] = _from_text(query, param, raw)
    return out


def bind(query: QueryInfo, params: Mapping[str, Any]) -> dict[str, Any]:
    """The full parameter map for `query`: defaults filled in, every value type- and range-checked."""
    for key in params:
        _param(query, key)
    values: dict[str, Any] = {}
    for p in query.params:
        if p.name in params and params[p.name] is not None:
            values[p.name] = _checked(query, p, params[p.name])
        elif p.required:
            raise CircuitstoreError(f"query {query.name}: parameter {p.name} is required ({p.doc})")
        else:
            values[p.name] = p.default
    return values


def _param(query: QueryInfo, key: str) -> Param:
    param = query.param(key)
    if param is None:
        known = ", ".join(p.name for p in query.params)
        raise CircuitstoreError(f"query {query.name} has no parameter {key!r}; its parameters are: {known}")
    return param


def _from_text(query: QueryInfo, p: Param, raw: str) -> Any:
    try:
        if p.type == "int":
            return _checked(query, p, int(raw))
        if p.type == "float":
            return _checked(query, p, float(raw))
        if p.type == "bool":
            if raw.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(raw)
            return raw.lower() in ("true", "1", "yes")
        if p.type == "list":
            return _checked(query, p, [x for x in raw.split(",") if x != ""])
    except ValueError:
        raise CircuitstoreError(f"query {query.name}: {p.name} must be {_a(p.type)}, got {raw!r}") from None
    return raw


def _checked(query: QueryInfo, p: Param, value: Any) -> Any:
    ok = {
        "string": isinstance(value, str),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, (int, float)) and not isinstance(value, bool),
        "bool": isinstance(value, bool),
        "list": isinstance(value, (list, tuple)) and all(isinstance(x, str) for x in value),
    }[p.type]
    if not ok:
        raise CircuitstoreError(f"query {query.name}: {p.name} must be {_a(p.type)}, got {value!r}")
    if p.type == "float":
        value = float(value)
        if not math.isfinite(value):
            raise CircuitstoreError(f"query {query.name}: {p.name} must be finite, got {value!r}")
    if p.type == "list":
        value = list(value)
    texts = value if p.type == "list" else [value] if p.type == "string" else []
    if any(len(text) > MAX_TEXT for text in texts):
        raise CircuitstoreError(f"query {query.name}: {p.name} is longer than {MAX_TEXT} characters")
    size = len(value) if p.type == "list" else value
    what = "the number of " + p.name if p.type == "list" else p.name
    if p.min is not None and size < p.min:
        raise CircuitstoreError(f"query {query.name}: {what} must be at least {p.min:g}, got {size!r}")
    if p.max is not None and size > p.max:
        raise CircuitstoreError(f"query {query.name}: {what} must be at most {p.max:g}, got {size!r}")
    return value


def _a(type_: str) -> str:
    return {
        "int": "an integer",
        "float": "a number",
        "bool": "true or false",
        "list": "a comma-separated list",
        "string": "a string",
    }[type_]


def run_statement(tx: neo4j.ManagedTransaction, query: QueryInfo, values: dict[str, Any]) -> list[dict[str, Any]]:
    """One query's rows inside `tx`. Its faults become one-line CircuitstoreErrors, which the
    driver does not retry: a bad statement, a full-text search that is no Lucene query, and a
    request that outgrows Neo4j's transaction memory (retrying would only take a minute to fail
    the same way)."""
    try:
        return rows(tx.run(query.text, values))
    except neo4j.exceptions.TransientError as exc:
        if exc.code != NEO4J_OUT_OF_MEMORY:
            raise
        limit = memory_limit(exc.message)
        raise CircuitstoreError(
            f"query {query.name} needs more memory than Neo4j gives a transaction"
            f"{f' ({limit})' if limit else ''}; ask for less, or give the server more heap "
            "(circuitstore server start --heap 8g --restart)"
        ) from None
    except neo4j.exceptions.ClientError as exc:
        lucene = re.search(r"lucene\.queryparser\.classic\.\w+: (.*?)(?:\.\s|\n|$)", exc.message or "")
        if lucene:
            raise CircuitstoreError(
                f"query {query.name}: the text is not a valid Lucene query ({lucene[1].strip()}); "
                'put phrases in double quotes, or escape special characters such as ( ) : " with a backslash'
            ) from None
        raise CircuitstoreError(f"query {query.name} failed: {one_line(exc)}") from None
