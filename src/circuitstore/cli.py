"""The `circuitstore` command line. Heavy imports (torch, the compute layer) happen inside the
commands that need them, so `import`, `query` and `export` start fast."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from typing import Any

import click

from circuitstore.errors import CircuitstoreError


class Cli(click.Group):
    """Turns CircuitstoreError into a one-line message and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CircuitstoreError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)


def emit(rows: Iterable[Mapping[str, Any]], as_json: bool) -> None:
    """Print result rows: JSON (one array) for scripts, an aligned table for people."""
    rows = [dict(r) for r in rows]
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str, ensure_ascii=False))
        return
    if not rows:
        click.echo("(no rows)")
        return
    cols = list(dict.fromkeys(k for r in rows for k in r))
    cells = [[_cell(r.get(c)) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    click.echo("  ".join(c.ljust(w) for c, w in zip(cols, widths)).rstrip())
    for row in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, dict)):
        return json.dumps(value, default=str, ensure_ascii=False)
    return "" if value is None else str(value)


@click.group(cls=Cli)
@click.option("--uri", envvar="NEO4J_URI", default=None, metavar="URI",
              help="Bolt URI of another Neo4j (Docker, Aura, a cluster); default: the local server. "
                   "NEO4J_USER and NEO4J_PASSWORD give its credentials.")
@click.version_option(package_name="circuitstore")
@click.pass_context
def main(ctx: click.Context, uri: str | None) -> None:
    """Keep, query and compare attribution graphs (circuits) in Neo4j."""
    ctx.obj = {"uri": uri}
