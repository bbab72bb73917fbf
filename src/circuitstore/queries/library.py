"""The query library: one `.cypher` file per named question, described by its own header.

The header (leading `//` lines) is the single source of truth for a query's purpose, parameters
(type, default, bounds), the checks to run before it and a Browser example, so what a user pastes
into Neo4j Browser and what `circuitstore query` runs are the same text. Header grammar:

    // <purpose, first line>
    // <more description ...>  (for whoever reads the file)
    // @param NAME TYPE [= DEFAULT] [(min X[, max Y])]: description
    // @check NAME ...           (files `_check_NAME.cypher`, run first; see below)
    // @example :param NAME => VALUE; :param NAME => VALUE ...

TYPE is one of string, int, float, bool, list (a list of strings); DEFAULT is JSON (`null`,
`5`, `"x"`); a parameter without a default is required. Every int, float and list parameter has
a max (for a list, of its length): a query at its bounds runs in bounded memory; strings are
capped by the runner (runner.MAX_TEXT). Files whose name starts with `_` are
helpers (checks), not listed as queries. A check returns no row when all is well, else a row
whose `problem` is a string or a list of parts, each a string or a list of strings (which the
runner joins with ", ").

The example uses Browser's `:param NAME => VALUE` form, which Browser evaluates on the server as
`RETURN VALUE AS NAME`, so integers stay integers; `:params {...}` is parsed in JavaScript and
sends every number as a float, which is why the queries also write `LIMIT toInteger($k)`.

Four queries repeat a block (paths and neighbourhood a step, supernode-graph and supernode-diff a
node's group); they are generated from templates/ (generate.py), as are the drawable variants in
draw/: the same search, answered as nodes and virtual edges typed by weight for Browser's graph
view (circuitstore.grass styles them).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from circuitstore.errors import CircuitstoreError

TYPES = ("string", "int", "float", "bool", "list")

# One `:param NAME => VALUE` statement of an example; VALUE is Cypher (no `;` in our examples).
_EXAMPLE = re.compile(r":param\s+(?P<name>\w+)\s*=>\s*(?P<value>[^;]+?)\s*(?:;|$)")
_PARAM = re.compile(
    r"@param\s+(?P<name>\w+)\s+(?P<type>\w+)"
    r"(?:\s*=\s*(?P<default>\"(?:[^\"\\]|\\.)*\"|\S+))?"
    r"(?:\s*\(\s*min\s+(?P<min>-?[\d.]+)(?:\s*,\s*max\s+(?P<max>-?[\d.]+))?\s*\))?"
    r"\s*:\s*(?P<doc>.*)$"
)


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    required: bool
    default: object
    doc: str
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class QueryInfo:
    name: str
    purpose: str
    params: tuple[Param, ...]
    checks: tuple[str, ...]
    example: str
    text: str
    # The drawable variant (draw/NAME.cypher) for a query whose answer is a subgraph, else None.
    draw: str | None = None

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def example_values(self) -> list[tuple[str, str]]:
        """The example's (name, Cypher value) pairs, in order."""
        return [(m["name"], m["value"]) for m in _EXAMPLE.finditer(self.example)]


def _parse(name: str, text: str, draw: str | None = None) -> QueryInfo:
    header = []
    for line in text.splitlines():
        if not line.startswith("//"):
            break
        header.append(line[2:].strip())
    params, checks, example, prose = [], [], "", []
    for line in header:
        if line.startswith("@param"):
            m = _PARAM.match(line)
            if not m or m["type"] not in TYPES:
                raise CircuitstoreError(f"query {name}: malformed header line {line!r}")
            default = json.loads(m["default"]) if m["default"] is not None else None
            params.append(
                Param(
                    name=m["name"],
                    type=m["type"],
                    required=m["default"] is None,
                    default=default,
                    doc=m["doc"].strip(),
                    min=float(m["min"]) if m["min"] else None,
                    max=float(m["max"]) if m["max"] else None,
                )
            )
        elif line.startswith("@check"):
            checks.extend(line.split()[1:])
        elif line.startswith("@example"):
            example = line[len("@example") :].strip()
        else:
            prose.append(line)
    purpose = prose[0] if prose else ""
    if purpose.startswith(f"{name}:"):
        purpose = purpose[len(name) + 1 :].strip()
    return QueryInfo(name, purpose, tuple(params), tuple(checks), example, text, draw)


@cache
def _library() -> dict[str, QueryInfo]:
    files = resources.files(__package__)
    out = {}
    for entry in sorted(files.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".cypher"):
            name = entry.name.removesuffix(".cypher")
            draw = files / "draw" / entry.name
            out[name] = _parse(
                name, entry.read_text(encoding="utf-8"), draw.read_text(encoding="utf-8") if draw.is_file() else None
            )
    return out


def list_queries() -> list[QueryInfo]:
    """Every named query (helpers such as checks left out), sorted by name."""
    return [q for name, q in _library().items() if not name.startswith("_")]


def get_query(name: str) -> QueryInfo:
    lib = _library()
    if name.startswith("_") or name not in lib:
        names = ", ".join(q.name for q in list_queries())
        raise CircuitstoreError(f"no query named {name!r}; the queries are: {names}")
    return lib[name]


def get_check(name: str) -> QueryInfo:
    try:
        return _library()[f"_check_{name}"]
    except KeyError:
        raise CircuitstoreError(f"no check named {name!r} (expected _check_{name}.cypher)") from None
