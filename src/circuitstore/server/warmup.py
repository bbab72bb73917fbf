"""Warming a freshly started server, so the first question is as fast as later ones.

Neo4j plans a query the first time it meets its text (seconds on a cold JVM: the first `paths`
after a start took 6 to 21 s, later ones 0.1 to 1.6 s) and caches the plan by text and parameter
types. So every text users send is run once, for real (a run also compiles the plan, which
EXPLAIN does not), with the header example's values typed as Browser types them: each library
file and its checks as `circuitstore query` sends them, and each guide block as Browser sends it.
All are read-only. `circuitstore server start` runs this in a detached process; its output goes
to `<home>/logs/warm-up.log`.

    python -m circuitstore.server.warmup HOME
"""

from __future__ import annotations

import sys
import time

from circuitstore.errors import CircuitstoreError
from circuitstore.neo4j_driver import neo4j
from circuitstore.queries import list_queries
from circuitstore.queries.library import get_check
from circuitstore.queries.runner import bind
from circuitstore.server.browser import guide_text


def example_params(driver: neo4j.Driver, query) -> dict:
    """The example's parameters as Browser sets them: `:param NAME => VALUE` is evaluated on the
    server as `RETURN VALUE AS NAME`, so each keeps its Cypher type."""
    return {
        name: driver.execute_query(f"RETURN {value} AS v").records[0]["v"] for name, value in query.example_values()
    }


def texts(driver: neo4j.Driver) -> list[tuple[str, str, dict]]:
    """(what, text, parameters) for every text users send, with the examples' values."""
    out = []
    for q in list_queries():
        browser = example_params(driver, q)
        values = bind(q, browser)
        out += [(f"{q.name} check {c}", get_check(c).text, values) for c in q.checks]
        out += [(q.name, q.text, values), (f"{q.name} in the guide", guide_text(q), browser)]
    return out


def warm(driver: neo4j.Driver, log=print) -> int:
    """Run every text once; return how many failed (each is logged, none stops the others)."""
    failed = 0
    for what, text, params in texts(driver):
        began = time.monotonic()
        try:
            with driver.session() as session:
                session.execute_read(lambda tx, text=text, params=params: tx.run(text, params).consume())
        except neo4j.exceptions.Neo4jError as exc:
            failed += 1
            log(f"{what}: failed: {exc.message}")
            continue
        log(f"{what}: {time.monotonic() - began:.2f}s")
    return failed


def main(home: str) -> int:
    from circuitstore.schema import migrate
    from circuitstore.server import LocalServer, connect

    server = LocalServer(home)
    try:
        with connect(server.bolt_uri, password=server.password()) as driver:
            migrate(driver)  # as any command would first: the full-text search needs its indexes
            return 1 if warm(driver, lambda line: print(line, flush=True)) else 0
    except (CircuitstoreError, neo4j.exceptions.DriverError) as exc:  # e.g. the server stopped meanwhile
        print(f"warm-up stopped: {exc}", flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
