"""`circuitstore import / graphs / export / delete` through click's CliRunner against a real Neo4j,
with bad input made from the real graph files."""

from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner

from circuitstore.cli import main
from circuitstore.formats import dump_graph
from circuitstore.store import load_graph
from tests import raw_json
from tests.data import GRAPH_FILES, GRAPHS_DIR
from tests.database import value

DALLAS = GRAPHS_DIR / "gemma-2-2b-clt" / "dallas-austin.json"
HAIKU = GRAPHS_DIR / "claude-haiku" / "capital-state-dallas.json"


@pytest.fixture
def cli(store, neo4j_target):
    """Run `circuitstore ARGS...` in-process against the (emptied) test database."""

    def run(*args: str):
        return CliRunner().invoke(main, list(args), env=neo4j_target, catch_exceptions=False)

    return run


def stored_ids(driver) -> list[str]:
    records, _, _ = driver.execute_query("MATCH (g:Graph) RETURN g.id AS id ORDER BY id")
    return [r["id"] for r in records]


def test_import_a_directory_then_list_export_and_delete(store, cli, tmp_path):
    raws = {p: raw_json.load(p) for p in GRAPH_FILES}
    ids = sorted(raw_json.graph_id(raw, p) for p, raw in raws.items())

    result = cli("import", *sorted(str(d) for d in GRAPHS_DIR.iterdir() if d.is_dir()))
    assert result.exit_code == 0, result.stderr
    assert stored_ids(store) == ids
    edges = sum(len(raw["links"]) for raw in raws.values())
    nodes = sum(len(raw["nodes"]) for raw in raws.values())
    assert f"{len(ids)} graphs stored" in result.stdout
    assert f"{nodes} nodes, {edges} edges" in result.stdout

    again = cli("import", str(GRAPHS_DIR / "*" / "*.json"))
    assert again.exit_code == 0
    assert f"0 graphs stored (0 created, 0 replaced), {len(ids)} unchanged" in again.stdout

    listed = cli("graphs", "--json")
    rows = {row["id"]: row for row in json.loads(listed.stdout)}
    assert sorted(rows) == ids
    for path, raw in raws.items():
        row = rows[raw_json.graph_id(raw, path)]
        assert (row["prompt"], row["nodes"], row["edges"]) == (
            raw["metadata"]["prompt"],
            len(raw["nodes"]),
            len(raw["links"]),
        )
    table = cli("graphs").stdout
    assert all(gid in table for gid in ids)

    out = tmp_path / "haiku.json"
    haiku = raws[HAIKU]
    result = cli("export", raw_json.graph_id(haiku, HAIKU), "-o", str(out))
    assert result.exit_code == 0, result.stderr
    back = json.loads(out.read_text())
    assert {n["node_id"]: n for n in back["nodes"]} == {n["node_id"]: n for n in haiku["nodes"]}
    assert sorted(map(json.dumps, back["links"])) == sorted(map(json.dumps, haiku["links"]))
    assert back["metadata"] == haiku["metadata"]

    result = cli("delete", raw_json.graph_id(haiku, HAIKU))
    assert result.exit_code == 0, result.stderr
    assert stored_ids(store) == [gid for gid in ids if gid != raw_json.graph_id(haiku, HAIKU)]
    missing = cli("delete", raw_json.graph_id(haiku, HAIKU))
    assert missing.exit_code == 1 and "no graph" in missing.stderr
    assert cli("export", "no-such-graph", "-o", str(tmp_path / "x.json")).exit_code == 1


def test_replace_needs_the_flag(store, cli, tmp_path):
    raw = raw_json.load(DALLAS)
    raw["metadata"]["prompt"] = "a different prompt under the same slug"
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(raw))
    assert cli("import", str(DALLAS)).exit_code == 0

    refused = cli("import", str(changed))
    assert refused.exit_code == 1
    assert str(changed) in refused.stderr and "--replace" in refused.stderr
    records, _, _ = store.execute_query("MATCH (g:Graph) RETURN g.prompt AS p")
    assert [r["p"] for r in records] == [raw_json.load(DALLAS)["metadata"]["prompt"]]

    swapped = cli("import", "--replace", str(changed))
    assert swapped.exit_code == 0 and "1 replaced" in swapped.stdout
    records, _, _ = store.execute_query("MATCH (g:Graph) RETURN g.prompt AS p")
    assert [r["p"] for r in records] == [raw["metadata"]["prompt"]]


def _bad_files(tmp_path):
    """{name: (path, what the error must say)}, each made from a real file."""
    good = DALLAS.read_text()
    raw = json.loads(good)

    def write(name: str, text: str):
        path = tmp_path / f"{name}.json"
        path.write_text(text)
        return path

    missing = json.loads(good)
    missing["links"][5]["target"] = "no-such-node"
    nan = json.loads(good)
    nan["links"][3]["weight"] = math.nan
    empty = {**raw, "nodes": [], "links": []}
    return {
        "not-json": (write("not-json", "this is not JSON\n"), "not valid JSON"),
        "wrong-shape": (write("wrong-shape", json.dumps([raw["nodes"], raw["links"]])), "expected a JSON object"),
        "no-links": (write("no-links", json.dumps({k: v for k, v in raw.items() if k != "links"})), "'links'"),
        "truncated": (write("truncated", good[: len(good) // 2]), "truncated"),
        "missing-node": (write("missing-node", json.dumps(missing)), "no-such-node"),
        "nan-weight": (write("nan-weight", json.dumps(nan)), "NaN"),
        "empty-graph": (write("empty-graph", json.dumps(empty)), "no nodes"),
    }


@pytest.mark.parametrize(
    "case", ["not-json", "wrong-shape", "no-links", "truncated", "missing-node", "nan-weight", "empty-graph"]
)
def test_bad_file_is_reported_and_nothing_written(store, cli, tmp_path, case):
    path, problem = _bad_files(tmp_path)[case]
    result = cli("import", str(path))
    assert result.exit_code == 1
    line = next(ln for ln in result.stderr.splitlines() if ln.startswith("error:"))
    assert str(path) in line and problem in line
    assert value(store, "MATCH (n) WHERE NOT n:SchemaVersion RETURN count(n)") == 0


def test_bad_files_do_not_stop_the_good_ones(store, cli, tmp_path):
    bad = _bad_files(tmp_path)
    result = cli("import", str(tmp_path / "*.json"), str(DALLAS), str(tmp_path / "nothing-here-*.json"))
    assert result.exit_code == 1
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == len(bad) + 1  # every bad file, and the glob that matched nothing
    for path, _ in bad.values():
        assert sum(str(path) in ln for ln in errors) == 1
    assert stored_ids(store) == [raw_json.graph_id(raw_json.load(DALLAS), DALLAS)]
    assert f"1 graph stored (1 created, 0 replaced), 0 unchanged, {len(bad) + 1} failed" in result.stdout


def test_import_says_which_id_each_file_became_and_skips_what_is_no_graph(store, cli, tmp_path):
    folder = tmp_path / "graphs"
    folder.mkdir()
    (folder / "dallas.json").write_text(DALLAS.read_text())
    (folder / "schema.json").write_text(json.dumps({"$schema": "x", "type": "object"}))
    result = cli("import", str(folder))
    assert result.exit_code == 0, result.stderr
    dallas_id = raw_json.graph_id(raw_json.load(DALLAS), DALLAS)
    lines = result.stdout.splitlines()
    assert f"created {dallas_id}  {folder / 'dallas.json'}" in lines
    assert f"skipped {folder / 'schema.json'}: not a graph file (no metadata, nodes or links)" in lines
    assert "1 skipped (not graph files), 0 failed" in lines[-1]
    # named on its own, the same file is an error
    named = cli("import", str(folder / "schema.json"))
    assert named.exit_code == 1 and "expected a JSON object with metadata, nodes and links" in named.stderr


def test_export_to_stdout_and_never_over_a_file_without_force(store, cli, tmp_path):
    haiku_id = raw_json.graph_id(raw_json.load(HAIKU), HAIKU)
    assert cli("import", str(HAIKU)).exit_code == 0
    out = cli("export", haiku_id, "-o", "-")
    assert out.exit_code == 0 and not (tmp_path / "-").exists()
    assert json.loads(out.stdout) == json.loads(json.dumps(dump_graph(load_graph(store, haiku_id))))
    assert out.stderr.splitlines()[-1].startswith(f"wrote {haiku_id} (")
    path = tmp_path / "haiku.json"
    path.write_text("keep me")
    refused = cli("export", haiku_id, "-o", str(path))
    assert refused.exit_code == 1 and "exists; pass --force to overwrite it" in refused.stderr
    assert path.read_text() == "keep me"
    forced = cli("export", haiku_id, "-o", str(path), "--force")
    assert forced.exit_code == 0 and json.loads(path.read_text()) == json.loads(out.stdout)


def test_wide_and_hostile_cells_are_cut_and_escaped_in_tables_only(store, cli, tmp_path):
    raw = raw_json.load(DALLAS)
    prompt = "\x1b[2J\x1b]0;owned\x07" + "a very long prompt " * 5000
    raw["metadata"]["prompt"] = prompt
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(raw))
    assert cli("import", str(path)).exit_code == 0
    table = cli("graphs").stdout
    assert "\x1b" not in table and "\x07" not in table and "\\x1b[2J" in table
    assert max(map(len, table.splitlines())) < 1000 and "…" in table
    rows = json.loads(cli("graphs", "--json").stdout)
    assert [r["prompt"] for r in rows] == [prompt]


def test_errors_are_one_short_line(store, cli):
    missing = cli("delete", "x" * 100_000)
    line = missing.stderr.strip()
    assert missing.exit_code == 1 and "\n" not in line and len(line) <= 400 and line.startswith("error: no graph")
