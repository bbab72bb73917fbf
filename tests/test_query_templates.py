"""The unrolled query files are exactly what their templates give (queries/generate.py)."""

from __future__ import annotations

import pytest

from circuitstore.queries import generate


def test_the_unrolled_queries_have_templates():
    assert generate.generated() == [
        "draw/neighbourhood",
        "draw/paths",
        "draw/supernode-graph",
        "draw/top-inputs",
        "neighbourhood",
        "paths",
        "supernode-diff",
        "supernode-graph",
    ]


@pytest.mark.parametrize("name", generate.generated())
def test_generated_query_matches_its_template(name):
    shipped = (generate.QUERIES / f"{name}.cypher").read_text(encoding="utf-8")
    assert shipped == generate.render(name), (
        f"{name}.cypher differs from templates/{name}.cypher: run `python -m circuitstore.queries.generate`"
    )


def test_each_step_is_repeated_and_numbered():
    text = generate.render("paths")
    assert "{{" not in text
    assert [f"// step {n}: paths of length {n}" in text for n in range(1, 9)] == [True] * 8
    assert "// step 9:" not in text and text.count("size(us) > toInteger($k)") == 2 * 8  # each step keeps the best k


def test_the_group_block_stands_in_for_each_node_placed():
    assert generate.render("supernode-graph").count("(x:FeatureFamily {method: $families})") == 2
    text = generate.render("supernode-diff")
    assert [f"CALL ({n}) {{" in text for n in "uvn"] == [True] * 3 and "{{" not in text
