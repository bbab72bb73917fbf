"""The `circuitstore` command line: the `main` group, its error handling, and the commands, one
module per group (graphs: import, graphs, export, delete; compute: ingest, demo-model; intervene;
server; db: db migrate, cypher; query). Heavy imports (torch, the compute layer) happen inside the commands that need
them, so `import`, `query` and `export` start fast."""

from __future__ import annotations

import sys
from typing import Any

import click

from circuitstore.cli import compute, db, graphs, intervene, query, server
from circuitstore.errors import CircuitstoreError, one_line
from circuitstore.neo4j_driver import neo4j


class Cli(click.Group):
    """Turns CircuitstoreError, and Neo4j's own errors, into a one-line message and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CircuitstoreError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        except neo4j.exceptions.Neo4jError as exc:
            click.echo(f"error: Neo4j: {one_line(exc)} ({exc.code})", err=True)
            sys.exit(1)
        except neo4j.exceptions.DriverError as exc:
            click.echo(f"error: Neo4j driver: {one_line(exc)}", err=True)
            sys.exit(1)


@click.group(cls=Cli)
@click.option(
    "--uri",
    envvar="NEO4J_URI",
    default=None,
    metavar="URI",
    help="Bolt URI of another Neo4j (Docker, Aura, a cluster); default: the local server. "
    "NEO4J_USER and NEO4J_PASSWORD give its credentials.",
)
@click.version_option(package_name="circuitstore")
@click.pass_context
def main(ctx: click.Context, uri: str | None) -> None:
    """Keep, query and compare attribution graphs (circuits) in Neo4j."""
    ctx.obj = {"uri": uri}


for _module in (graphs, compute, intervene, server, db, query):
    for _command in _module.COMMANDS:
        main.add_command(_command)
