"""The database: `db migrate` (the schema) and `cypher` (any statement, like cypher-shell)."""

from __future__ import annotations

import json
import sys

import click

from circuitstore.cli.driver import store
from circuitstore.cli.output import emit
from circuitstore.errors import CircuitstoreError


@click.group("db")
def db_group() -> None:
    """Manage the database's schema."""


@db_group.command("migrate")
@click.option("--json", "as_json", is_flag=True, help="Print the version as JSON.")
@click.pass_context
def db_migrate(ctx: click.Context, as_json: bool) -> None:
    """Apply the schema migrations (every command also does this on first use)."""
    from circuitstore.schema import applied

    version = applied(store(ctx))
    if as_json:
        click.echo(json.dumps({"schema_version": version}))
    else:
        click.echo(f"schema version {version}")


@click.command("cypher")
@click.argument("query")
@click.option(
    "--param",
    "-p",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    help="A parameter ($KEY in the query); VALUE is read as JSON when it parses "
    '(5, 0.5, true, [1,2], "5"), else taken as a string.',
)
@click.option("--json", "as_json", is_flag=True, help="Print rows as JSON.")
@click.pass_context
def cypher_cmd(ctx: click.Context, query: str, params: tuple[str, ...], as_json: bool) -> None:
    """Run any Cypher QUERY ('-' reads it from stdin), like cypher-shell."""
    from circuitstore.records import rows

    if query == "-":
        query = sys.stdin.read()
    if not query.strip():
        raise CircuitstoreError("no query given: pass one, e.g. 'MATCH (g:Graph) RETURN g.id', or - to read stdin")
    values = {}
    for item in params:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise CircuitstoreError(f"--param expects KEY=VALUE, got {item!r}")
        try:
            values[key] = json.loads(text)
        except ValueError:
            values[key] = text
        if not _fits_64_bits(values[key]):
            raise CircuitstoreError(f"--param {key}: an integer beyond 64 bits, which Neo4j cannot hold: {text}")
    with store(ctx).session() as session:
        result = session.run(query, values)
        found = rows(result)
        counters = result.consume().counters
    emit(found, as_json)
    changes = [f"{getattr(counters, name)} {name.replace('_', ' ')}" for name in _COUNTERS if getattr(counters, name)]
    if changes and not as_json:
        click.echo(", ".join(changes))


def _fits_64_bits(value: object) -> bool:
    """Whether every integer in a parameter (a list's, a map's) fits Neo4j's 64-bit integers."""
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    if isinstance(value, list):
        return all(map(_fits_64_bits, value))
    if isinstance(value, dict):
        return all(map(_fits_64_bits, value.values()))
    return True


_COUNTERS = (
    "nodes_created",
    "nodes_deleted",
    "relationships_created",
    "relationships_deleted",
    "properties_set",
    "labels_added",
    "labels_removed",
    "indexes_added",
    "indexes_removed",
    "constraints_added",
    "constraints_removed",
    "system_updates",
)


COMMANDS = (db_group, cypher_cmd)
