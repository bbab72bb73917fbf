"""Printing result rows: JSON for scripts, an aligned table for people."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import click


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
