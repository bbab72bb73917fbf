"""Migrations: every index of the data model exists, the version is recorded, twice is once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from circuitstore import schema
from circuitstore.errors import CircuitstoreError
from circuitstore.queries.library import get_check, get_query
from circuitstore.store.cypher import cypher as store_cypher

DATA_MODEL = Path(schema.__file__).with_name("data-model.md")

_SCHEMA = (
    "SHOW INDEXES YIELD name, type, labelsOrTypes, properties, owningConstraint "
    "WHERE type <> 'LOOKUP' RETURN name, type, labelsOrTypes, properties, owningConstraint ORDER BY name"
)
_CONSTRAINTS = (
    "SHOW CONSTRAINTS YIELD name, type, labelsOrTypes, properties "
    "RETURN name, type, labelsOrTypes, properties ORDER BY name"
)
_VERSIONS = "MATCH (v:SchemaVersion) RETURN v.id AS id, v.version AS version"


def _rows(driver, query):
    return [r.data() for r in driver.execute_query(query).records]


def test_every_documented_index_exists(store):
    indexes = {(r["type"], tuple(r["labelsOrTypes"]), tuple(r["properties"])) for r in _rows(store, _SCHEMA)}
    unique = {
        (tuple(r["labelsOrTypes"]), tuple(r["properties"]))
        for r in _rows(store, _CONSTRAINTS)
        if r["type"] == "UNIQUENESS"
    }
    assert unique == {
        (("Graph",), ("id",)),
        (("Model",), ("id",)),
        (("TranscoderSet",), ("id",)),
        (("Feature",), ("id",)),
        (("Vocab",), ("id",)),
        (("Node",), ("graph_id", "node_id")),
        (("Supernode",), ("graph_id", "name")),
    }
    for label in ("Token", "Latent", "Error", "Logit"):
        assert ("RANGE", (label,), ("graph_id",)) in indexes
    assert ("RANGE", ("Latent",), ("feature_id",)) in indexes
    assert ("RANGE", ("Token",), ("graph_id", "text")) in indexes
    assert ("RANGE", ("Logit",), ("graph_id", "text")) in indexes
    fulltext = {
        r["name"]: (tuple(r["labelsOrTypes"]), tuple(r["properties"]))
        for r in _rows(store, _SCHEMA)
        if r["type"] == "FULLTEXT"
    }
    assert fulltext == {
        "feature_label": (("Feature",), ("label",)),
        "node_label": (("Node",), ("label",)),
        "graph_prompt": (("Graph",), ("prompt",)),
    }


def test_the_data_model_names_every_index_it_gets():
    """The doc's index section and the migrations tell the same story."""
    doc = DATA_MODEL.read_text()
    for name in ("feature_label", "node_label", "graph_prompt"):
        assert f"`{name}`" in doc
    created = [s for _, f in schema.migrations() for s in schema.statements(schema.cypher(f))]
    assert all(re.match(r"CREATE (CONSTRAINT|INDEX|FULLTEXT INDEX) \w+ IF NOT EXISTS", s) for s in created)


def test_version_recorded_and_migrating_twice_changes_nothing(store):
    assert _rows(store, _VERSIONS) == [{"id": "circuitstore", "version": schema.latest()}]
    before = (_rows(store, _SCHEMA), _rows(store, _CONSTRAINTS))
    assert schema.migrate(store) == schema.latest()
    assert schema.migrate(store) == schema.latest()
    assert (_rows(store, _SCHEMA), _rows(store, _CONSTRAINTS)) == before
    assert _rows(store, _VERSIONS) == [{"id": "circuitstore", "version": schema.latest()}]


def test_migrating_from_scratch_applies_every_file_and_records_the_version(store):
    """Drop the whole schema, as on a fresh database, and let migrate rebuild it."""
    before = (_rows(store, _SCHEMA), _rows(store, _CONSTRAINTS))
    with store.session() as session:
        for r in _rows(store, _CONSTRAINTS):
            session.run(f"DROP CONSTRAINT `{r['name']}`").consume()
        for r in _rows(store, _SCHEMA):
            session.run(f"DROP INDEX `{r['name']}`").consume()
        # Version 0 rather than no node: the node also carries the test database's mark.
        session.run("MATCH (v:SchemaVersion {id: 'circuitstore'}) SET v.version = 0").consume()
    assert schema.applied(store) == 0
    assert _rows(store, _CONSTRAINTS) == []
    assert schema.migrate(store) == schema.latest()
    assert (_rows(store, _SCHEMA), _rows(store, _CONSTRAINTS)) == before
    assert schema.applied(store) == schema.latest()


def test_a_newer_database_schema_is_refused(store):
    store.execute_query("MATCH (v:SchemaVersion {id: 'circuitstore'}) SET v.version = $v", v=schema.latest() + 1)
    try:
        with pytest.raises(CircuitstoreError, match="newer than this circuitstore knows"):
            schema.migrate(store)
    finally:
        store.execute_query("MATCH (v:SchemaVersion {id: 'circuitstore'}) SET v.version = $v", v=schema.latest())


def test_every_example_in_the_data_model_is_valid_cypher(neo4j_driver):
    """The doc's examples are meant to be pasted into Browser; EXPLAIN compiles each one."""
    examples = [
        chunk.strip()
        for block in re.findall(r"```cypher\n(.*?)```", DATA_MODEL.read_text(), re.S)
        for chunk in re.split(r"^//.*\n", block, flags=re.M)
        if chunk.strip()
    ]
    assert len(examples) >= 20
    for example in examples:
        neo4j_driver.execute_query("EXPLAIN " + example, graph="g", a="a", b="b", feature="f")


def _operators(plan) -> list[tuple[str, str]]:
    """(operator, details) of every step of an EXPLAIN plan."""
    found = [(plan["operatorType"], plan.get("args", {}).get("Details", ""))]
    for child in plan.get("children", []):
        found += _operators(child)
    return found


# The statements that read one whole graph, and parameters to plan them with.
WHOLE_GRAPH = {
    "load_nodes": (lambda: store_cypher("load_nodes"), {"graph_id": "g"}),
    "load_edges": (lambda: store_cypher("load_edges"), {"graph_id": "g"}),
    "delete_graph_nodes": (lambda: store_cypher("delete_graph_nodes"), {"graph_id": "g"}),
    "supernode-graph": (lambda: get_query("supernode-graph").text, {"graph": "g", "influence": 0.5}),
    "_check_node": (lambda: get_check("node").text, {"graph": "g", "node": "n"}),
}


@pytest.mark.parametrize("name", WHOLE_GRAPH)
def test_all_nodes_of_a_graph_are_a_seek_on_the_node_key(neo4j_driver, name):
    """`MATCH (n:Node {graph_id: $g}) WHERE n.node_id IS NOT NULL` plans as a seek on the
    (graph_id, node_id) uniqueness index, never a scan of every :Node."""
    text, params = WHOLE_GRAPH[name]
    with neo4j_driver.session() as session:
        plan = session.run("EXPLAIN " + text(), params).consume().plan
    operators = _operators(plan)
    assert not [op for op, _ in operators if "Scan" in op], operators
    assert any(
        op.startswith("NodeUniqueIndexSeek") and "Node(graph_id, node_id)" in details and "IS NOT NULL" in details
        for op, details in operators
    ), operators
