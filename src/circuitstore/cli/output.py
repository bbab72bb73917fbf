"""Printing for people and for scripts: an aligned table or JSON, and lines safe for a terminal.

Human output escapes control characters (a prompt, label or id holding ESC, NUL or a line break
would otherwise clear the screen, retitle the window or break the table) and cuts wide cells
short; JSON keeps every value exact, escaping what a terminal would act on the JSON way.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import click

# The widest a table cell gets (the full value is in --json), and the longest error line.
MAX_CELL = 80
MAX_LINE = 400


def printable(text: str) -> str:
    """`text` with every character a terminal would act on or not show (controls, line breaks,
    format characters, other odd spaces) written as its Python escape: `\\x1b`, `\\n`, `\\u200b`."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


class ItemsBar:
    """One progress bar (on stderr) across several items, each a fixed share of it that fills
    with the item's own progress, and a line after it saying where things are."""

    STEPS = 1000  # per item

    def __init__(self, bar: Any) -> None:
        self.bar, self.text = bar, ""

    def at(self, i: int, done: int, total: int, text: str, items: int = 1) -> None:
        """Item `i` (and the `items` - 1 after it, done together) has done `done` of `total`."""
        self.text = printable(text)
        self.bar.update(i * self.STEPS + items * self.STEPS * done // max(total, 1) - self.bar.pos)

    def finished(self, i: int) -> None:
        self.bar.update((i + 1) * self.STEPS - self.bar.pos)


@contextmanager
def items_bar(label: str, items: int) -> Iterator[ItemsBar]:
    status: list[ItemsBar] = []
    with click.progressbar(
        length=items * ItemsBar.STEPS, label=label, file=sys.stderr, item_show_func=lambda _: status[0].text
    ) as bar:
        status.append(ItemsBar(bar))
        yield status[0]


def say(line: str, *, err: bool = False) -> None:
    """Print one line for people."""
    click.echo(printable(line), err=err)


def error_line(message: str) -> str:
    """`error: <message>`, printable, each line short: a long one loses its middle, since its end
    often says what to do (a flag to pass, Neo4j's error code). Messages are one line, but for
    the few that show a log's last lines after it."""
    return "\n".join(_shortened(printable(line)) for line in f"error: {message}".splitlines())


def _shortened(line: str) -> str:
    if len(line) <= MAX_LINE:
        return line
    tail = MAX_LINE // 4
    return f"{line[: MAX_LINE - tail - 3]} … {line[-tail:]}"


def emit(rows: Iterable[Mapping[str, Any]], as_json: bool) -> None:
    """Print result rows: JSON (one array) for scripts, an aligned table for people."""
    rows = [dict(r) for r in rows]
    if as_json:
        click.echo(json_text(rows))
        return
    if not rows:
        click.echo("(no rows)")
        return
    cols = list(dict.fromkeys(k for r in rows for k in r))
    cells = [[_cell(r.get(c)) for c in cols] for r in rows]
    heads = [_shown(c) for c in cols]
    widths = [max(len(h), *(len(row[i]) for row in cells)) for i, h in enumerate(heads)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(heads, widths)).rstrip())
    for row in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())


def json_text(value: Any) -> str:
    """`value` as indented JSON, non-ASCII text as it is, but what a terminal would act on
    (DEL, C1 controls, line separators, format characters) as \\u escapes: the same JSON value."""
    text = json.dumps(value, indent=2, default=str, ensure_ascii=False)
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch == "\n" else _json_escape(ch) for ch in text)


def _json_escape(ch: str) -> str:
    code = ord(ch)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, dict)):
        return _shown(json.dumps(value, default=str, ensure_ascii=False))
    return "" if value is None else _shown(str(value))


def _shown(text: str) -> str:
    return cut(printable(text), MAX_CELL)
