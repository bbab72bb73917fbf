"""Migrations: every index of the data model exists, the version is recorded, twice is once."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from circuitstore import schema
from circuitstore.derived import STORED_PATHS
from circuitstore.errors import CircuitstoreError
from circuitstore.formats import parse_graph, read_graph
from circuitstore.graph import AttributionGraph, GraphMeta, Node
from circuitstore.queries.library import get_check, get_query
from circuitstore.store import load_graph, store_graph
from circuitstore.store.cypher import cypher as store_cypher
from tests import raw_json
from tests.data import GRAPHS_DIR
from tests.database import stored_labels, value
from tests.graph_files import labelled

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
        (("Intervention",), ("id",)),
        (("WeightsLayer",), ("id",)),
        (("FeatureFamily",), ("id",)),
    }
    for label in ("Token", "Latent", "Error", "Logit"):
        assert ("RANGE", (label,), ("graph_id",)) in indexes
    assert ("RANGE", ("Latent",), ("feature_id",)) in indexes
    assert ("RANGE", ("Token",), ("graph_id", "text")) in indexes
    assert ("RANGE", ("Logit",), ("graph_id", "text")) in indexes
    assert ("RANGE", ("Intervention",), ("graph_id",)) in indexes
    assert ("RANGE", ("Intervention",), ("swap_from",)) in indexes
    assert ("RANGE", ("Node",), ("graph_id", "slot")) in indexes
    assert ("RANGE", ("Feature",), ("transcoder_set", "layer")) in indexes
    assert ("RANGE", ("Supernode",), ("method",)) in indexes
    assert ("RANGE", ("Graph",), ("stored_paths",)) in indexes
    assert ("RANGE", ("FeatureFamily",), ("transcoder_set", "method")) in indexes
    fulltext = {
        r["name"]: (tuple(r["labelsOrTypes"]), tuple(r["properties"]))
        for r in _rows(store, _SCHEMA)
        if r["type"] == "FULLTEXT"
    }
    assert fulltext == {
        "feature_label": (("Feature",), ("label",)),
        "feature_auto_label": (("Feature",), ("auto_label",)),
        "node_label": (("Node",), ("label",)),
        "graph_prompt": (("Graph",), ("prompt",)),
        "family_name": (("FeatureFamily",), ("name",)),
    }


def test_the_data_model_names_every_index_it_gets():
    """The doc's index section and the migrations tell the same story."""
    doc = DATA_MODEL.read_text()
    for name in ("feature_label", "feature_auto_label", "node_label", "graph_prompt", "family_name"):
        assert f"`{name}`" in doc
    statements = [s for _, f in schema.migrations() for s in schema.statements(schema.cypher(f))]
    created = [s for s in statements if s.startswith("CREATE")]
    assert all(re.match(r"CREATE (CONSTRAINT|INDEX|FULLTEXT INDEX) \w+ IF NOT EXISTS", s) for s in created)
    # The others convert data (004; 005: slots; 007: supernodes' method) and create no index.
    assert all(s.startswith("MATCH") and "INDEX" not in s for s in statements if s not in created)
    assert "`node_slot`" in doc
    for version, name in schema.migrations():
        assert f"| {version} | `{name}.cypher` |" in doc


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


def test_migration_7_gives_older_supernodes_their_method(store):
    """A store from before methods: supernodes without one. Migrating from version 6 marks
    them imported, and again changes nothing."""
    for slug in ("old", "new"):
        store_graph(store, parse_graph(labelled(slug, "greeting"), origin=slug))
    store.execute_query("MATCH (s:Supernode {graph_id: 'old'}) REMOVE s.method")
    store.execute_query("MATCH (s:Supernode {graph_id: 'new'}) SET s.method = 'manual'")
    store.execute_query("MATCH (v:SchemaVersion {id: 'circuitstore'}) SET v.version = 6")
    for _ in range(2):
        assert schema.migrate(store) == schema.latest()
        store.execute_query("MATCH (v:SchemaVersion {id: 'circuitstore'}) SET v.version = 6")
    schema.migrate(store)
    methods = _rows(store, "MATCH (s:Supernode) RETURN s.graph_id AS graph, s.method AS method ORDER BY graph")
    assert methods == [{"graph": "new", "method": "manual"}, {"graph": "old", "method": "imported"}]


# migration 6's indexes (its constraint, weights_layer_id, is dropped apart)
_INDEXES_OF_6 = ("feature_layer", "feature_auto_label")
_METHODS = "MATCH (s:Supernode) RETURN collect(DISTINCT coalesce(s.method, 'none')) AS methods"


def test_migrations_that_land_below_the_version_are_applied(store):
    """A store at version 8 from before migrations 5, 6 and 7 landed, and before the list of
    migrations: their indexes are missing, its nodes have no slot, its Features the first label
    given, its supernodes no method. Migrating applies 5 (its data step too), 6 and 7 (and,
    having no list, every other once) and records them all; with the list, only what it lacks."""
    files = {slug: labelled(slug, clerp) for slug, clerp in (("a", "greeting"), ("b", "hello"), ("c", "hello"))}
    for slug, f in files.items():
        store_graph(store, parse_graph(f, origin=slug))
    older_labels = (
        "MATCH (f:Feature) SET f.label = 'greeting', f.name = 'L0/3 greeting' REMOVE f.label_source, f.label_graphs"
    )
    store.execute_query(older_labels)
    store.execute_query("MATCH (n:Node) REMOVE n.slot")
    store.execute_query("DROP INDEX node_slot")
    for index in ("supernode_method", *_INDEXES_OF_6):
        store.execute_query(f"DROP INDEX {index}")
    store.execute_query("DROP CONSTRAINT weights_layer_id")
    store.execute_query("MATCH (s:Supernode) REMOVE s.method")
    store.execute_query("MATCH (v:SchemaVersion {id: 'circuitstore'}) SET v.version = 8 REMOVE v.migrations")
    assert schema.migrate(store) == schema.latest()
    indexes = {r["name"] for r in _rows(store, _SCHEMA)}
    assert {"node_slot", "supernode_method", *_INDEXES_OF_6} <= indexes
    assert "weights_layer_id" in {r["name"] for r in _rows(store, _CONSTRAINTS)}
    slots = _rows(store, "MATCH (n:Node) RETURN n.graph_id AS graph, collect(n.slot) AS slots")
    assert len(slots) == len(files) and all(sorted(r["slots"]) == list(range(len(r["slots"]))) for r in slots)
    assert stored_labels(store) == raw_json.expected_labels(files)
    assert _rows(store, _METHODS) == [{"methods": ["imported"]}]
    every = [v for v, _ in schema.migrations()]
    listed = _rows(store, "MATCH (v:SchemaVersion {id: 'circuitstore'}) RETURN v.migrations AS m")[0]["m"]
    assert sorted(listed) == every
    # with the list, only what it lacks
    store.execute_query(older_labels)
    store.execute_query("MATCH (s:Supernode) REMOVE s.method")
    store.execute_query("DROP INDEX feature_layer")
    store.execute_query(
        "MATCH (v:SchemaVersion {id: 'circuitstore'}) SET v.migrations = [m IN v.migrations WHERE NOT m IN [5, 6, 7]]"
    )
    assert schema.migrate(store) == schema.latest()
    assert "feature_layer" in {r["name"] for r in _rows(store, _SCHEMA)}
    assert stored_labels(store) == raw_json.expected_labels(files)
    assert _rows(store, _METHODS) == [{"methods": ["imported"]}]
    listed = _rows(store, "MATCH (v:SchemaVersion {id: 'circuitstore'}) RETURN v.migrations AS m")[0]["m"]
    assert sorted(listed) == every


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
    "delete_graph_nodes": (lambda: store_cypher("delete_graph_nodes"), {"graph_id": "g"}),
    "supernode-graph": (lambda: get_query("supernode-graph").text, {"graph": "g", "influence": 0.5}),
    "supernode-diff": (lambda: get_query("supernode-diff").text, {"graphs": ["a", "b"], "k": 5}),
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


def earlier_computed_graph() -> tuple[AttributionGraph, dict[str, float]]:
    """A graph as circuitstore computed and stored it before schema version 4: node influence
    raw, w (I - Â)^-1 (a logit's own probability included), no conventions recorded. Returns it
    and the cumulative influence each non-logit node must get: the share of the nodes' total
    held by the nodes ranked at or above it."""
    nodes = [
        Node("E_0_0", "token", 0, token_id=0, text="a"),
        Node("E_5_1", "token", 1, token_id=5, text="b"),
        Node("0_3_1", "latent", 1, layer=0, feature_index=3, activation=1.5),
        Node("0_7_1", "latent", 1, layer=0, feature_index=7, activation=0.5),
        Node("0_-1_1", "error", 1, layer=0),
        Node("2_9_1", "logit", 1, layer=2, token_id=9, text="c", probability=0.6, is_target=True),
        Node("2_4_1", "logit", 1, layer=2, token_id=4, text="d", probability=0.3),
    ]
    edges = [
        ("E_0_0", "0_3_1", 1.0),
        ("E_5_1", "0_3_1", -2.0),
        ("E_5_1", "0_7_1", 0.5),
        ("0_3_1", "2_9_1", 3.0),
        ("0_7_1", "2_9_1", -1.0),
        ("0_-1_1", "2_9_1", 0.5),
        ("0_3_1", "2_4_1", 1.0),
        ("E_5_1", "2_4_1", 2.0),
    ]
    index = {n.id: i for i, n in enumerate(nodes)}
    a = np.zeros((len(nodes), len(nodes)))
    for s, t, w in edges:
        a[index[t], index[s]] = w
    norm = np.abs(a) / np.maximum(np.abs(a).sum(axis=1, keepdims=True), 1e-300)
    w = np.array([n.probability or 0.0 for n in nodes])
    raw = w @ np.linalg.inv(np.eye(len(nodes)) - norm)
    nodes = [replace(n, influence=float(r)) for n, r in zip(nodes, raw)]
    ranked = sorted((n for n in nodes if n.kind != "logit"), key=lambda n: -n.influence)
    total = sum(n.influence for n in ranked)
    expected = {n.id: sum(m.influence for m in ranked[: i + 1]) / total for i, n in enumerate(ranked)}
    meta = GraphMeta(
        id="cs-earlier",
        prompt="a b",
        prompt_tokens=("a", "b"),
        model="m",
        transcoder_set="t",
        generation={"max_n_logits": 10, "batch_size": 64, "dtype": "float32", "n_active_latents": 2},
        pruning={"node_threshold": 0.8, "edge_threshold": 0.98},
        scores={"replacement_score": 0.75, "completeness_score": 0.5},
    )
    return AttributionGraph.from_edge_ids(meta, nodes, edges), expected


def test_004_makes_the_influence_of_earlier_computed_graphs_cumulative(store):
    old, expected = earlier_computed_graph()
    imported = read_graph(GRAPHS_DIR / "gemma-2-2b-clt" / "dallas-austin.json")
    # Computed since: it records its conventions.
    recent = AttributionGraph(
        replace(old.meta, id="cs-recent", generation={**old.meta.generation, "position_0_sources": False}),
        old.nodes,
        old.sources,
        old.targets,
        old.weights,
    )
    for g in (old, imported, recent):
        store_graph(store, g)
    untouched = [load_graph(store, g.meta.id).fingerprint() for g in (imported, recent)]
    store.execute_query("MATCH (v:SchemaVersion {id: 'circuitstore'}) SET v.version = 3")
    assert schema.migrate(store) == schema.latest()

    migrated = load_graph(store, old.meta.id)
    got = {n.id: n.influence for n in migrated.nodes}
    assert {k: v for k, v in got.items() if k in expected} == pytest.approx(expected, rel=1e-12)
    assert [got[n.id] for n in old.nodes if n.kind == "logit"] == [None, None]
    assert migrated.meta.generation == {
        **old.meta.generation,
        "position_0_sources": True,
        "token_vectors": "resid_pre",
        "influence_over": "kept nodes",
    }
    assert migrated.meta.scores == {"replacement_score": 0.75}
    row = _rows(
        store,
        "MATCH (g:Graph {id: 'cs-earlier'}) RETURN g.position_0_sources AS p, g.token_vectors AS t, "
        "g.influence_over AS i, g.fingerprint AS f",
    )
    assert row == [{"p": True, "t": "resid_pre", "i": "kept nodes", "f": None}]
    assert [load_graph(store, g.meta.id).fingerprint() for g in (imported, recent)] == untouched
    # Applying it again changes nothing.
    store.execute_query("MATCH (v:SchemaVersion {id: 'circuitstore'}) SET v.version = 3")
    schema.migrate(store)
    assert load_graph(store, old.meta.id).fingerprint() == migrated.fingerprint()


def test_migration_5_derives_the_labels_an_older_store_took_from_its_first_graph(store):
    files = {slug: labelled(slug, clerp) for slug, clerp in (("a", "greeting"), ("b", "hello"), ("c", "hello"))}
    for slug, f in files.items():
        store_graph(store, parse_graph(f, origin=slug))
    # as circuitstore left them before version 5: the first label given, no provenance
    store.execute_query(
        "MATCH (f:Feature) SET f.label = 'greeting', f.name = 'L0/3 greeting' REMOVE f.label_source, f.label_graphs"
    )
    store.execute_query("MATCH (v:SchemaVersion {id: 'circuitstore'}) SET v.version = 4")
    assert schema.migrate(store) == schema.latest()
    assert stored_labels(store) == raw_json.expected_labels(files)
    assert stored_labels(store)["some/clt/0/3"][:3] == ("hello", "graph", 2)


def test_migration_5_gives_the_nodes_of_older_graphs_their_slots(store):
    graph = read_graph(GRAPHS_DIR / "gemma-2-2b-clt" / "dallas-austin.json")
    store_graph(store, graph)
    store.execute_query("MATCH (n:Node) REMOVE n.slot")  # as stored before version 5
    store.execute_query("MATCH (v:SchemaVersion {id: 'circuitstore'}) SET v.version = 4")
    assert schema.migrate(store) == schema.latest()
    slots = value(store, "MATCH (n:Node {graph_id: $g}) RETURN collect(n.slot)", g=graph.meta.id)
    assert sorted(slots) == list(range(graph.n_nodes))


def test_a_part_of_a_graphs_edges_is_a_seek_on_the_slot_index(neo4j_driver):
    with neo4j_driver.session() as session:
        plan = session.run("EXPLAIN " + store_cypher("load_edges"), graph_id="g", lo=0, hi=10).consume().plan
    operators = _operators(plan)
    assert not [op for op, _ in operators if "Scan" in op], operators
    seeks = [details for op, details in operators if op.startswith("NodeIndexSeek")]
    assert any("Node(graph_id, slot)" in details for details in seeks), operators


_DERIVED = (
    "MATCH (n:Node) WHERE n.logit_influence IS NOT NULL OR n.logit_index IS NOT NULL "
    "RETURN n.graph_id AS g, n.node_id AS id, [k IN keys(n) WHERE k STARTS WITH 'paths_' OR k STARTS WITH 'logit_' "
    "OR k = 'transcoder_set' | [k, n[k]]] AS derived ORDER BY g, id"
)


def _by_key(rows):
    """keys(n) comes in the order of the database's property-key tokens, which a long-used test
    database created in another order than a fresh one: compare by name."""
    return [{**r, "derived": sorted(r["derived"], key=lambda kv: kv[0])} for r in rows]


_STRIP = (
    "MATCH (n:Node) REMOVE n.logit_influence, n.logit_index, n.paths_strength, n.paths_length, n.paths_weight, "
    "n.paths_nodes, n.paths_node_start, n.paths_feature_layer, n.paths_feature_index, n.paths_feature_start, "
    "n.transcoder_set "
    "WITH count(*) AS _ MATCH (g:Graph) REMOVE g.stored_paths"
)


def _store_dallas_and_haiku(store) -> tuple[AttributionGraph, AttributionGraph]:
    dallas = read_graph(GRAPHS_DIR / "gemma-2-2b-clt" / "dallas-austin.json")
    haiku = read_graph(GRAPHS_DIR / "claude-haiku" / "capital-state-dallas.json")
    for g in (dallas, haiku):
        store_graph(store, g)
    return dallas, haiku


def test_009_derives_the_facts_of_graphs_stored_before_it(store):
    from circuitstore.queries import run_query
    from tests.test_queries import influence_on, logit

    dallas, haiku = _store_dallas_and_haiku(store)
    fresh = _by_key(_rows(store, _DERIVED))
    assert {r["g"] for r in fresh} == {dallas.meta.id, haiku.meta.id}
    store.execute_query(_STRIP)
    assert _rows(store, _DERIVED) == []
    store.execute_query("MATCH (v:SchemaVersion {id: 'circuitstore'}) SET v.version = 8")
    assert schema.migrate(store) == schema.latest()
    # Read back, a graph's nodes and edges come in another order: sums agree to rounding.
    migrated = _by_key(_rows(store, _DERIVED))
    assert [(r["g"], r["id"], [k for k, _ in r["derived"]]) for r in migrated] == [
        (r["g"], r["id"], [k for k, _ in r["derived"]]) for r in fresh
    ]
    for got, want in zip(migrated, fresh):
        for (_, a), (_, b) in zip(got["derived"], want["derived"]):
            exact = isinstance(b, int) or not b or isinstance(b[0], (str, int))
            assert a == (b if exact else pytest.approx(b, rel=1e-12))
    assert _rows(store, "MATCH (g:Graph) RETURN DISTINCT g.stored_paths AS k") == [{"k": STORED_PATHS}]
    rows = run_query(store, "logit-drivers", graph=dallas.meta.id, target=" Austin", k=5)
    influence = influence_on(dallas, logit(dallas, " Austin").id)
    latents = [n.id for n in dallas.nodes if n.kind == "latent"]
    assert [r["node_id"] for r in rows] == sorted(latents, key=lambda i: -influence[i])[:5]
    # Fewer stored paths: recurrence says how many it can take.
    store_graph(store, haiku.renamed("haiku-2"), stored_paths=2)
    with pytest.raises(CircuitstoreError, match=r"paths must be at most 2: 1 graph\(s\) keep only that many"):
        run_query(store, "recurrence", target="Austin", paths=3)
    assert run_query(store, "recurrence", target="Austin", paths=2)


def test_010_turns_the_stored_paths_feature_ids_into_numbers(store):
    from circuitstore.derived import strongest_paths
    from circuitstore.identity import feature_id
    from circuitstore.queries import run_query

    g = read_graph(GRAPHS_DIR / "gemma-2-2b-clt" / "dallas-austin.json")
    store_graph(store, g)
    fresh = _by_key(_rows(store, _DERIVED))
    answer = run_query(store, "recurrence", target=" Austin")
    # What ingest and migration 9 wrote before 10: each path's latents as Feature ids.
    for t, paths in strongest_paths(g, STORED_PATHS).items():
        ids = [
            feature_id(g.meta.transcoder_set, g.nodes[i].layer, g.nodes[i].feature_index)
            for p in paths
            for i in p.nodes
            if g.nodes[i].kind == "latent"
        ]
        store.execute_query(
            "MATCH (t:Logit {graph_id: $g, node_id: $t}) SET t.paths_features = $ids "
            "REMOVE t.paths_feature_layer, t.paths_feature_index",
            g=g.meta.id,
            t=g.nodes[t].id,
            ids=ids,
        )
    assert value(store, "MATCH (t:Logit) WHERE t.paths_feature_layer IS NOT NULL RETURN count(t)") == 0
    store.execute_query("MATCH (v:SchemaVersion {id: 'circuitstore'}) SET v.version = 9")
    assert schema.migrate(store) == schema.latest()
    assert _by_key(_rows(store, _DERIVED)) == fresh
    assert value(store, "MATCH (t:Logit) WHERE t.paths_features IS NOT NULL RETURN count(t)") == 0
    assert run_query(store, "recurrence", target=" Austin") == answer


def test_011_gives_each_logit_with_stored_paths_its_graphs_transcoder_set(store):
    from circuitstore.queries import run_query

    dallas, haiku = _store_dallas_and_haiku(store)
    fresh = _by_key(_rows(store, _DERIVED))
    answers = [run_query(store, "recurrence", target=t) for t in (" Austin", "Austin")]
    store.execute_query("MATCH (t:Logit) REMOVE t.transcoder_set")
    store.execute_query("MATCH (v:SchemaVersion {id: 'circuitstore'}) SET v.version = 10")
    assert schema.migrate(store) == schema.latest()
    assert _by_key(_rows(store, _DERIVED)) == fresh
    # Every logit with stored paths, and only those, holds its graph's set.
    expected = {(g.meta.id, g.meta.transcoder_set) for g in (dallas, haiku)}
    assert {tuple(r.values()) for r in _rows(store, _SETS)} == expected
    assert [run_query(store, "recurrence", target=t) for t in (" Austin", "Austin")] == answers
    assert all(answers)


_SETS = "MATCH (t:Logit) WHERE t.paths_length IS NOT NULL RETURN DISTINCT t.graph_id AS g, t.transcoder_set AS s"
