"""The unrolled queries, generated from templates.

Plain Cypher 5 has no loop that can aggregate, so `paths` and `neighbourhood` repeat one step
block per step (`recurrence` and `logit-drivers` read facts derived at ingest instead); nor a
function, so `supernode-graph` and `supernode-diff` repeat one block (the group a node stands
for) for each node they place. The shipped .cypher files keep the unrolled text (users paste them
into Neo4j Browser as they are); each is written from templates/<name>.cypher, where a line
`{{repeat STEP N key=value ...}}` stands for N copies of templates/steps/STEP.cypher, in which
`{{step}}` is the copy's number (1 to N) and `{{key}}` the value given, and
`{{include STEP key=value ...}}` for one copy (a step may include another). templates/draw/ gives the drawable variants
(queries/draw/), which share their query's steps. The output is committed, and a test checks
that it is what the templates give. After editing a template:

    .venv/bin/python -m circuitstore.queries.generate
"""

from __future__ import annotations

import re
from pathlib import Path

from circuitstore.errors import CircuitstoreError

QUERIES = Path(__file__).parent
TEMPLATES = QUERIES / "templates"
_REPEAT = re.compile(
    r"\{\{(?:repeat (?P<step>[\w-]+) (?P<count>\d+)|include (?P<part>[\w-]+))(?P<fields>(?: \w+=\S+)*)\}\}"
)
_FIELD = re.compile(r"\{\{(\w+)\}\}")


def generated() -> list[str]:
    """The names of the queries written from templates (`draw/NAME` for drawable variants)."""
    return sorted(
        p.relative_to(TEMPLATES).with_suffix("").as_posix()
        for p in TEMPLATES.glob("**/*.cypher")
        if "steps" not in p.relative_to(TEMPLATES).parts
    )


def render(name: str) -> str:
    """The text of query `name` as its template gives it."""
    return _expand((TEMPLATES / f"{name}.cypher").read_text(encoding="utf-8"), f"templates/{name}.cypher")


def _expand(text: str, where: str) -> str:
    """`text` with its repeat and include lines replaced by their steps, themselves expanded
    (a step may include another)."""
    out = []
    for line in text.splitlines(keepends=True):
        repeat = _REPEAT.fullmatch(line.rstrip("\n"))
        if repeat is None:
            out.append(line)
            continue
        step_name = repeat["step"] or repeat["part"]
        step = (TEMPLATES / "steps" / f"{step_name}.cypher").read_text(encoding="utf-8")
        fields = dict(item.split("=", 1) for item in repeat["fields"].split())
        for n in range(1, int(repeat["count"] or 1) + 1):
            values = {"step": str(n), **fields}
            try:
                copy = _FIELD.sub(lambda m, values=values: values[m[1]], step)
            except KeyError as exc:
                raise CircuitstoreError(f"{where}: step {step_name} needs {exc}") from None
            out.append(_expand(copy, f"templates/steps/{step_name}.cypher"))
    return "".join(out)


def main() -> None:
    for name in generated():
        (QUERIES / f"{name}.cypher").parent.mkdir(exist_ok=True)
        (QUERIES / f"{name}.cypher").write_text(render(name), encoding="utf-8")
        print(f"wrote {name}.cypher")


if __name__ == "__main__":
    main()
