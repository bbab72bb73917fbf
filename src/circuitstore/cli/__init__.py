"""The `circuitstore` command line: the `main` group, its error handling, and the commands, one
module per group (graphs: import, graphs, export, delete; compute: ingest, gradients,
demo-model; intervene; weights: weights build; server; browser; db: db migrate, cypher; query;
draw; supernodes: supernode add, remove, list, suggest; families: family build, list). Heavy
imports (torch, the compute layer) happen inside the commands that need them, so `import`,
`query` and `export` start fast."""

from __future__ import annotations

import sys
from typing import Any

import click

from circuitstore.cli import (
    browser,
    compute,
    db,
    draw,
    families,
    graphs,
    intervene,
    query,
    server,
    supernodes,
    weights,
)
from circuitstore.cli.output import error_line
from circuitstore.errors import CircuitstoreError, one_line
from circuitstore.neo4j_driver import neo4j

# Ctrl-C: the exit status a shell gives a command that SIGINT ended.
INTERRUPTED = 130


class Cli(click.Group):
    """Turns CircuitstoreError, Neo4j's own errors and Ctrl-C into one short line on stderr and
    exit status 1 (130 for Ctrl-C), never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (KeyboardInterrupt, Exception) as exc:
            if _after_ctrl_c(exc):
                click.echo(err=True)  # off the progress bar's line
                # Each graph is one transaction, so what was being written is rolled back.
                _fail("interrupted; nothing is half-written (a graph being stored is rolled back)", INTERRUPTED)
            if isinstance(exc, CircuitstoreError):
                _fail(str(exc))
            if isinstance(exc, neo4j.exceptions.Neo4jError):
                _fail(f"Neo4j: {one_line(exc)} ({exc.code})")
            if isinstance(exc, neo4j.exceptions.DriverError):
                _fail(f"Neo4j driver: {one_line(exc)}")
            raise


def _after_ctrl_c(exc: BaseException | None) -> bool:
    """Ctrl-C, or what it set off: cut mid-message, the driver's buffers raise as they unwind."""
    while exc is not None:
        if isinstance(exc, KeyboardInterrupt):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _fail(message: str, status: int = 1) -> None:
    click.echo(error_line(message), err=True)
    sys.exit(status)


@click.group(cls=Cli)
@click.option(
    "--uri",
    envvar="NEO4J_URI",
    default=None,
    metavar="URI",
    help="Bolt URI of another Neo4j (Docker, Aura, a cluster); default: the local server. "
    "NEO4J_USER and NEO4J_PASSWORD give its credentials.",
)
@click.option(
    "--home",
    envvar="CIRCUITSTORE_HOME",
    type=click.Path(file_okay=False),
    default=None,
    help="The local server's directory (config, data, logs, password), for every command that "
    "starts, stops or talks to it; default: neo4j/ in the user data directory. Env: CIRCUITSTORE_HOME.",
)
@click.version_option(package_name="circuitstore")
@click.pass_context
def main(ctx: click.Context, uri: str | None, home: str | None) -> None:
    """Keep, query and compare attribution graphs (circuits) in Neo4j."""
    ctx.obj = {"uri": uri, "home": home}


for _module in (graphs, compute, intervene, weights, server, browser, db, query, draw, supernodes, families):
    for _command in _module.COMMANDS:
        main.add_command(_command)
