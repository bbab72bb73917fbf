"""Supernodes in the store and on the command line, against a real Neo4j: imported ones kept,
manual ones added and removed (in the CLI and with the data model's Browser statement), written
back on export, suggestions stored beside them; one-line errors that write nothing; and what
the store tells the evidence method."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from circuitstore.cli import main
from circuitstore.formats import read_graph
from circuitstore.graph import Supernode
from circuitstore.schema import __file__ as schema_file
from circuitstore.store import store_graph
from circuitstore.store.cypher import cypher
from circuitstore.store.knowledge import knowledge
from tests import raw_json
from tests.clirun import assert_one_line_error
from tests.clirun import cli as run_cli
from tests.data import GRAPHS_DIR
from tests.database import value
from tests.hand_graphs import ALIKE, PAIR_A, PAIR_B, TRANSCODERS, feature, hand_graph

HAIKU = GRAPHS_DIR / "claude-haiku" / "capital-state-dallas.json"
HAIKU_ID = "capital-state-dallas"
DATA_MODEL = schema_file.replace("__init__.py", "data-model.md")
COUNTS = (
    "MATCH (s:Supernode) OPTIONAL MATCH (s)-[r]-() WITH count(DISTINCT s) AS s, count(r) AS r "
    "RETURN [s, r, COUNT { (:FeatureFamily) }]"
)


@pytest.fixture
def cli(store, neo4j_target):
    """Run `circuitstore ARGS...` in-process against the (emptied) test database."""

    def run(*args: str):
        result = CliRunner().invoke(main, list(args), env=neo4j_target, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result

    return run


def listed(cli, graph_id: str = HAIKU_ID) -> dict[str, dict]:
    return {row["name"]: row for row in json.loads(cli("supernode", "list", graph_id, "--json").stdout)}


def test_import_keeps_the_files_supernodes_as_imported(cli):
    cli("import", str(HAIKU))
    rows = listed(cli)
    assert {name: set(r["members"]) for name, r in rows.items()} == raw_json.supernode_members(raw_json.load(HAIKU))
    assert {(r["method"], r["score"]) for r in rows.values()} == {("imported", None)}


def test_add_export_import_round_trip(store, cli, tmp_path):
    cli("import", str(HAIKU))
    raw = raw_json.load(HAIKU)
    members = [n["node_id"] for n in raw["nodes"] if n["feature_type"] == "cross layer transcoder"][:3]
    out = cli("supernode", "add", HAIKU_ID, "Texas capital", *members, members[0])
    assert "added supernode 'Texas capital' to capital-state-dallas (3 members)" in out.stdout
    rows = listed(cli)
    assert (rows["Texas capital"]["method"], set(rows["Texas capital"]["members"])) == ("manual", set(members))

    # the same file again changes nothing and keeps the manual supernode
    assert "1 unchanged" in cli("import", str(HAIKU)).stdout
    assert "Texas capital" in listed(cli)

    exported = tmp_path / "out.json"
    cli("export", HAIKU_ID, "-o", str(exported))
    written = raw_json.supernode_members(raw_json.load(exported))
    assert written == raw_json.supernode_members(raw) | {"Texas capital": set(members)}
    # Haiku files name members by jsNodeId: so does the export
    js = {n["node_id"]: n["jsNodeId"] for n in raw["nodes"]}
    entry = next(e for e in raw_json.load(exported)["qParams"]["supernodes"] if e[0] == "Texas capital")
    assert sorted(entry[1:]) == sorted(js[m] for m in members)

    cli("delete", HAIKU_ID)
    cli("import", str(exported))
    rows = listed(cli)
    assert set(rows["Texas capital"]["members"]) == set(members) and rows["Texas capital"]["method"] == "imported"

    assert (
        "removed supernode 'Texas capital' (imported)" in cli("supernode", "remove", HAIKU_ID, "Texas capital").stdout
    )
    # an intervention that named it loses its TARGETS, not itself nor the name
    store.execute_query(
        "MATCH (s:Supernode {graph_id: $g, name: 'capital'}) "
        "CREATE (:Intervention {id: 'i', graph_id: $g, targets: ['capital']})-[:TARGETS {role: 'ablate'}]->(s)",
        g=HAIKU_ID,
    )
    cli("supernode", "remove", HAIKU_ID, "capital")
    assert set(listed(cli)) == set(raw_json.supernode_members(raw)) - {"capital"}
    assert value(store, "MATCH (i:Intervention {id: 'i'}) RETURN [i.targets, COUNT { (i)-[:TARGETS]->() }]") == [
        ["capital"],
        0,
    ]


def browser_statement() -> str:
    """The data model's statement for adding a supernode in Browser."""
    doc = open(DATA_MODEL, encoding="utf-8").read()
    return next(b for b in re.findall(r"```cypher\n(.*?)```", doc, re.S) if "method: 'manual'" in b)


def test_the_browser_statement_is_what_add_runs(store):
    body = "".join(line + "\n" for line in cypher("supernode_add").splitlines() if not line.startswith("//"))
    statement = browser_statement()
    assert body.replace('"', "'") == statement
    store_graph(store, read_graph(HAIKU))
    members = ["1_1729136_5", "3_10502022_6"]
    before = value(store, COUNTS)
    # an unknown member: nothing is created, no row comes back
    records, _, _ = store.execute_query(statement, graph=HAIKU_ID, name="x", members=[*members, "9_9_9"])
    assert records == [] and value(store, COUNTS) == before
    records, _, _ = store.execute_query(statement, graph=HAIKU_ID, name="Texas capital", members=members)
    assert [r.data() for r in records] == [{"supernode": "Texas capital", "members": 2}]
    got = value(
        store,
        "MATCH (:Graph {id: $g})-[:HAS_SUPERNODE]->(s:Supernode {name: 'Texas capital'})-[:GROUPS]->(n) "
        "WITH s, collect(n.node_id) AS ids RETURN [s.method, s.graph_id, ids]",
        g=HAIKU_ID,
    )
    assert got[0] == "manual" and got[1] == HAIKU_ID and sorted(got[2]) == sorted(members)


def test_errors_are_one_line_and_write_nothing(store, neo4j_target):
    store_graph(store, read_graph(HAIKU))
    before = value(store, COUNTS)
    node = "1_1729136_5"
    for args, fragments in [
        (("add", "nope", "x", node), ["no graph 'nope' is stored"]),
        (("add", HAIKU_ID, "x", node, "9_9_9", "8_8_8"), ["has no nodes '9_9_9', '8_8_8'", "graph's JSON"]),
        (("add", HAIKU_ID, "capital", node), ["already has a supernode named 'capital' (imported)"]),
        (("add", HAIKU_ID, " ", node), ["not blank"]),
        (("add", HAIKU_ID, "x\x1b[2J", node), ["supernode name", "control character"]),
        (("remove", HAIKU_ID, "nope"), ["has no supernode named 'nope'", "its supernodes are: Dallas, Texas-related"]),
        (("remove", "nope", "x"), ["no graph 'nope' is stored"]),
        (("list", "nope"), ["no graph 'nope' is stored"]),
        (("suggest", "nope"), ["no graph 'nope' is stored"]),
    ]:
        assert_one_line_error(run_cli("supernode", *args, env=neo4j_target), *fragments)
    for args, fragments in [
        (("--graphs", f"{HAIKU_ID},nope,nada"), ["no graphs 'nada', 'nope' are stored"]),
        (("--graphs", HAIKU_ID), ["no transcoder set has 2 or more of the chosen graphs (1 chosen)"]),
        (("--prompt", "no such prompt"), ["(0 chosen)"]),
    ]:
        assert_one_line_error(run_cli("family", "build", *args, env=neo4j_target), *fragments)
    assert value(store, COUNTS) == before


def test_suggestions_are_stored_beside_the_hand_made_ones(store, cli):
    cli("import", str(HAIKU))
    hand = listed(cli)
    held = {m for r in hand.values() for m in r["members"]}
    shown = json.loads(cli("supernode", "suggest", HAIKU_ID, "--json").stdout)
    out = cli("supernode", "suggest", HAIKU_ID, "--apply")
    assert f"stored {len(shown)} evidence suggestions in {HAIKU_ID}" in out.stdout
    rows = listed(cli)
    suggested = {n: r for n, r in rows.items() if r["method"] == "evidence"}
    assert {n: sorted(r["members"]) for n, r in suggested.items()} == {r["name"]: sorted(r["members"]) for r in shown}
    assert all(0 < r["score"] <= 1 for r in suggested.values())
    assert not held & {m for r in suggested.values() for m in r["members"]}  # left out by default
    assert {n: r for n, r in rows.items() if r["method"] == "imported"} == hand

    # again: replaced, not added to; another method's stay beside
    again = cli("supernode", "suggest", HAIKU_ID, "--apply")
    assert f"replacing {len(shown)} earlier" in again.stdout
    cli("supernode", "suggest", HAIKU_ID, "--method", "edge-profile", "--include-grouped", "--apply")
    rows = listed(cli)
    assert {n for n, r in rows.items() if r["method"] == "evidence"} == set(suggested)
    profile = {n: r for n, r in rows.items() if r["method"] == "edge-profile"}
    assert profile and held & {m for r in profile.values() for m in r["members"]}
    assert len(rows) == len(hand) + len(suggested) + len(profile)  # names never clash


def test_knowledge_reads_labels_other_graphs_groupings_and_weights(store):
    g = hand_graph("g", ALIKE)
    h = hand_graph("h", ALIKE, {PAIR_A[0]: "Texas"}, [Supernode("A", PAIR_A), Supernode("B", PAIR_B)])
    lone = hand_graph("lone", [("E_1_1", "0_99_1", 1.0), ("0_99_1", "9_7_3", 1.0)])
    for graph in (g, h, lone):
        store_graph(store, graph)
    store.execute_query(
        "MATCH (f:Feature {id: $f}) MERGE (v7:Vocab {id: 'hand-model/7'}) MERGE (v8:Vocab {id: 'hand-model/8'}) "
        "CREATE (f)-[:LOGIT_LENS {weight: 2.0, rank: 1}]->(v7), (f)-[:LOGIT_LENS {weight: -1.0, rank: -1}]->(v8), "
        "(:FeatureFamily {id: 'fam', method: 'evidence'})-[:INCLUDES]->(f)",
        f=feature(PAIR_A[0]),
    )
    known = knowledge(store, g)
    assert known.labels == {feature(PAIR_A[0]): "Texas"}
    assert [o.meta.id for o in known.others] == ["h"]  # "lone" shares no Feature
    pair = [{feature(n) for n in PAIR_A}, {feature(n) for n in PAIR_B}]
    assert [sorted(map(set, grouping), key=sorted) for grouping in known.groupings] == [
        sorted(pair, key=sorted),
        [{feature(PAIR_A[0])}],
    ]
    assert known.weights == {feature(PAIR_A[0]): {"logit-lens": {"hand-model/7": 2.0}}}
    assert all(f.startswith(TRANSCODERS) for f in known.labels)
    assert knowledge(store, g, families=False).groupings == known.groupings[:1]
