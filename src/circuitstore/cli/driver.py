"""The Neo4j a command talks to: one driver per command, the schema migrated on first use."""

from __future__ import annotations

import click

from circuitstore.neo4j_driver import neo4j


def store(ctx: click.Context) -> neo4j.Driver:
    """A connected driver with the schema migrated, opened once per command and closed after it.

    The target is ctx.obj["uri"] (--uri or NEO4J_URI), else the local server in ctx.obj["home"]
    (--home or CIRCUITSTORE_HOME)."""
    from circuitstore.schema import migrate
    from circuitstore.server import connect

    root = ctx.find_root()
    driver = root.obj.get("driver")
    if driver is None:
        driver = connect(root.obj["uri"], home=root.obj["home"])
        root.call_on_close(lambda: _close(driver))
        migrate(driver)
        root.obj["driver"] = driver
    return driver


def _close(driver: neo4j.Driver) -> None:
    try:
        driver.close()
    except Exception:  # the command is over; after a Ctrl-C its connection may be cut mid-message
        pass  # (the server rolls back what a dropped connection left open)
