"""The `query` command: the named questions of the query library."""

from __future__ import annotations

import json

import click

from circuitstore.cli.driver import store
from circuitstore.cli.output import emit


@click.command("query")
@click.argument("name", required=False)
@click.option(
    "--param",
    "-p",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    help="A query parameter; typed by the query's header (int, float, list: a,b,c).",
)
@click.option("--json", "as_json", is_flag=True, help="Print rows as JSON.")
@click.option("--list", "list_all", is_flag=True, help="List the queries and their parameters.")
@click.pass_context
def query_cmd(ctx: click.Context, name: str | None, params: tuple[str, ...], as_json: bool, list_all: bool) -> None:
    """Run the named question NAME over the stored graphs (see --list; NAME --list: its parameters)."""
    from circuitstore.queries import get_query, list_queries, parse_cli_params, run_query

    if list_all and name is not None:
        emit(
            (
                {
                    "parameter": p.name,
                    "type": p.type,
                    "default": "(required)" if p.required else json.dumps(p.default),
                    "description": p.doc,
                }
                for p in get_query(name).params
            ),
            as_json,
        )
        return
    if list_all or name is None:
        emit(
            (
                {
                    "query": q.name,
                    "purpose": q.purpose,
                    "parameters": ", ".join(
                        p.name if p.required else f"{p.name}={json.dumps(p.default)}" for p in q.params
                    ),
                }
                for q in list_queries()
            ),
            as_json,
        )
        return
    values = parse_cli_params(name, params)
    emit(run_query(store(ctx), name, **values), as_json)


COMMANDS = (query_cmd,)
