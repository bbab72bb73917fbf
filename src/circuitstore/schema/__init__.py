"""Numbered Cypher migrations (`NNN_name.cypher`) and the code that applies them.

A migration is a file of `;`-terminated statements that change nothing when run twice: schema
statements written with IF NOT EXISTS, or data statements that match only what they have not
converted yet (004: influence made cumulative; 005: nodes given a slot; 007: supernodes given a
method). A migration may also have a data step (`_data_steps`): Python that re-applies a rule kept
in one place elsewhere (005: the store's Feature-label rule; 009: the facts derived at ingest), in
bounded transactions, and gives the same result when run twice. The highest number applied is
kept on `(:SchemaVersion {id: 'circuitstore'})`, with the list of the numbers applied: migrations
are numbered when planned and may land out of order (005, 006 and 007 after 008), so `migrate` applies
the files above the version and those below it that the list lacks, data steps included (all of
them, once, on a database from before the list: applying twice changes nothing).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from importlib import resources

from circuitstore.cypher_files import cypher_reader
from circuitstore.errors import CircuitstoreError
from circuitstore.neo4j_driver import neo4j

_MIGRATION = re.compile(r"^(\d{3})_\w+\.cypher$")
# A schema statement (an index or a constraint), as opposed to a data statement.
_SCHEMA_STATEMENT = re.compile(r"^CREATE\s+(?:\w+\s+)?(?:INDEX|CONSTRAINT)\b", re.I)
# Codes a concurrent migrate() can raise for a rule the other one just created.
_ALREADY_THERE = {
    "Neo.ClientError.Schema.EquivalentSchemaRuleAlreadyExists",
    "Neo.ClientError.Schema.ConstraintAlreadyExists",
    "Neo.ClientError.Schema.IndexAlreadyExists",
}


cypher = cypher_reader(__name__)


def _data_steps() -> dict[int, Callable[[neo4j.Driver], object]]:
    """What runs after a migration's statements, by version."""
    from circuitstore.store.derive import derive_missing
    from circuitstore.store.labels import relabel_all

    return {5: relabel_all, 9: derive_missing}


def migrations() -> list[tuple[int, str]]:
    """(version, name) of every migration (`name.cypher`), in order."""
    found = []
    for entry in resources.files(__name__).iterdir():
        m = _MIGRATION.match(entry.name)
        if m:
            found.append((int(m.group(1)), entry.name.removesuffix(".cypher")))
    return sorted(found)


def latest() -> int:
    return migrations()[-1][0]


def statements(text: str) -> list[str]:
    """Split a migration into statements: `//` comment lines dropped, split at `;` ending a line."""
    body = "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("//"))
    return [s.strip() for s in re.split(r";\s*$", body, flags=re.M) if s.strip()]


def _recorded(driver: neo4j.Driver) -> tuple[int, set[int]]:
    """The schema version recorded in the database (0 if none) and the migrations applied."""
    records, _, _ = driver.execute_query(cypher("version_read"))
    if not records:
        return 0, set()
    return records[0]["version"] or 0, set(records[0]["migrations"] or ())


def applied(driver: neo4j.Driver) -> int:
    """The schema version recorded in the database (0 if none)."""
    return _recorded(driver)[0]


def migrate(driver: neo4j.Driver) -> int:
    """Apply every migration newer than the database's version or missing from its list; return
    the version now applied."""
    current, done = _recorded(driver)
    newest = latest()
    if current > newest:
        raise CircuitstoreError(
            f"the database's schema is version {current}, newer than this circuitstore knows "
            f"({newest}); upgrade circuitstore"
        )
    pending = [(v, name) for v, name in migrations() if v > current or v not in done]
    if not pending:
        return current
    steps = _data_steps()
    with driver.session() as session:
        for version, name in pending:
            for statement in statements(cypher(name)):
                try:
                    session.run(statement).consume()
                except neo4j.exceptions.ClientError as exc:
                    if exc.code not in _ALREADY_THERE:
                        raise CircuitstoreError(f"migration {name} failed: {exc.message}") from None
            if version in steps:
                session.run(cypher("await_indexes"), seconds=300).consume()
                steps[version](driver)
            session.run(cypher("version_record"), version=version).consume()
        session.run(cypher("await_indexes"), seconds=300).consume()
    return max(current, pending[-1][0])


def create_schema(driver: neo4j.Driver, on_progress: Callable[[str], None] = lambda line: None) -> int:
    """The schema of a store that this version's bulk import wrote (store/bulk.py): every
    migration's index and constraint statements, each migration recorded as applied, and the
    indexes awaited (how far they are goes to `on_progress`). Data statements and data steps are
    left out: they convert what older versions stored, which such a store does not hold."""
    with driver.session() as session:
        for version, name in migrations():
            for statement in statements(cypher(name)):
                if _SCHEMA_STATEMENT.match(statement):
                    session.run(statement).consume()
            session.run(cypher("version_record"), version=version).consume()
    said = None
    while True:
        state = driver.execute_query(cypher("index_progress")).records[0]
        if state["failed"]:
            raise CircuitstoreError(
                f"{state['failed']} of the {state['indexes']} indexes failed to build; see the server's debug.log"
            )
        line = f"indexes online: {state['online']} of {state['indexes']} ({state['percent'] or 0:.0f}% built)"
        if line != said:
            on_progress(line)
            said = line
        if state["online"] == state["indexes"]:
            return latest()
        time.sleep(0.5)
