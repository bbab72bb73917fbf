"""A real Neo4j for the tests.

Which one: $NEO4J_URI if set (with NEO4J_USER / NEO4J_PASSWORD); else the project's own test
server, a dedicated home under `.state/test-neo4j/` on Bolt 17687 / HTTP 17474 (or
$CIRCUITSTORE_TEST_BOLT_PORT / $CIRCUITSTORE_TEST_HTTP_PORT), so tests never
touch the user's real server; else, only where a Docker engine answers, a testcontainers
Neo4jContainer. The `store` fixture empties the database (schema kept) before each test.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sys
from collections.abc import Iterator

import pytest

from circuitstore.errors import CircuitstoreError
from circuitstore.neo4j_driver import neo4j
from circuitstore.schema import migrate
from circuitstore.server import LocalServer, NeedsRestart, connect
from tests.data import REPO
from tests.database import wipe

TEST_HOME = REPO / ".state" / "test-neo4j"
# Two checkouts testing side by side each need their own ports.
TEST_BOLT_PORT = int(os.environ.get("CIRCUITSTORE_TEST_BOLT_PORT", "17687"))
TEST_HTTP_PORT = int(os.environ.get("CIRCUITSTORE_TEST_HTTP_PORT", "17474"))

_FOREIGN_DATA = (
    "MATCH (n) WHERE NOT n:SchemaVersion WITH count(n) AS n "
    "OPTIONAL MATCH (v:SchemaVersion {id: 'circuitstore'}) "
    "RETURN n > 0 AND coalesce(v.test_store, false) = false AS foreign"
)
_MARK = "MERGE (v:SchemaVersion {id: 'circuitstore'}) SET v.test_store = true"


@pytest.fixture(scope="session")
def neo4j_target() -> Iterator[dict[str, str]]:
    """NEO4J_URI / NEO4J_USER / NEO4J_PASSWORD of the test database (for CLI subprocesses)."""
    if os.environ.get("NEO4J_URI"):
        yield {
            "NEO4J_URI": os.environ["NEO4J_URI"],
            "NEO4J_USER": os.environ.get("NEO4J_USER", "neo4j"),
            "NEO4J_PASSWORD": os.environ.get("NEO4J_PASSWORD", ""),
        }
        return
    if shutil.which("java") is None and _docker_answers():
        yield from _container()
        return
    yield from _local_test_server()


@pytest.fixture(scope="session")
def neo4j_driver(neo4j_target: dict[str, str]) -> Iterator[neo4j.Driver]:
    """A driver to the test database, schema migrated. Refuses a database holding data that
    earlier test runs did not put there, since `store` wipes it."""
    driver = connect(
        neo4j_target["NEO4J_URI"], user=neo4j_target["NEO4J_USER"], password=neo4j_target["NEO4J_PASSWORD"]
    )
    try:
        if driver.execute_query(_FOREIGN_DATA).records[0]["foreign"]:
            pytest.exit(
                f"{neo4j_target['NEO4J_URI']} holds data that is not from circuitstore's tests; "
                "the tests wipe their database, so point NEO4J_URI at a scratch one",
                returncode=2,
            )
        migrate(driver)
        driver.execute_query(_MARK)
        yield driver
    finally:
        driver.close()


@pytest.fixture
def store(neo4j_driver: neo4j.Driver) -> neo4j.Driver:
    """The test driver on an empty database (data wiped before the test, schema kept)."""
    wipe(neo4j_driver)
    return neo4j_driver


def _local_test_server() -> Iterator[dict[str, str]]:
    TEST_HOME.parent.mkdir(parents=True, exist_ok=True)
    # One test session at a time per checkout: concurrent runs would wipe each other's data.
    with open(TEST_HOME.parent / "test-neo4j.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print("waiting for another test run to release the test server...", file=sys.stderr)
            fcntl.flock(lock, fcntl.LOCK_EX)
        server = LocalServer(TEST_HOME)
        # The default heap, whatever an earlier run of this checkout left (the 500,000-edge test needs it).
        wanted = {"bolt_port": TEST_BOLT_PORT, "http_port": TEST_HTTP_PORT, "heap": "auto"}
        try:
            try:
                started = server.start(**wanted)
            except NeedsRestart:
                started = server.start(**wanted, restart=True)
        except CircuitstoreError as exc:
            pytest.exit(f"cannot start the test Neo4j server: {exc}", returncode=3)
        try:
            yield {"NEO4J_URI": server.bolt_uri, "NEO4J_USER": "neo4j", "NEO4J_PASSWORD": server.password()}
        finally:
            if started:
                server.stop()


def _docker_answers() -> bool:
    try:
        import docker  # optional, with testcontainers

        docker.from_env().ping()
    except Exception:  # no client library, no engine, no permission: all mean "no Docker"
        return False
    return True


def _container() -> Iterator[dict[str, str]]:
    from testcontainers.neo4j import Neo4jContainer  # optional: only where Docker exists

    with Neo4jContainer("neo4j:5.26-community") as container:
        yield {"NEO4J_URI": container.get_connection_url(), "NEO4J_USER": "neo4j", "NEO4J_PASSWORD": container.password}
