"""Ingest under real processes: `circuitstore import` killed with SIGKILL mid-transaction leaves
no trace, and several importers at once share Features without duplicating them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from circuitstore.formats import read_graph, write_graph
from circuitstore.store import store_graph
from tests import raw_json
from tests.big_graphs import big_graph
from tests.data import GRAPHS_DIR
from tests.database import value

DALLAS = GRAPHS_DIR / "gemma-2-2b-clt" / "dallas-austin.json"
GEMMA = sorted(GRAPHS_DIR.glob("gemma-2-2b-clt*/*.json"))
# The edge statement's own text, to spot the importer's transaction while it writes edges.
EDGE_STATEMENT = "CREATE (a)-[:ATTRIBUTION"
CIRCUITSTORE = str(Path(sys.executable).with_name("circuitstore"))  # the installed command


def importer(neo4j_target: dict, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [CIRCUITSTORE, "import", *args],
        env={**os.environ, **neo4j_target},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # Ctrl-C as a terminal delivers it: a suite started in the background (`make test &`)
        # ignores SIGINT, children inherit that, and Python then never raises KeyboardInterrupt.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def edge_writers(driver) -> int:
    return value(
        driver,
        "SHOW TRANSACTIONS YIELD currentQuery WHERE currentQuery CONTAINS $text "
        "AND NOT currentQuery STARTS WITH 'SHOW' RETURN count(*)",
        text=EDGE_STATEMENT,
    )


@pytest.mark.parametrize("replace", [False, True], ids=["new-id", "replacing"])
def test_sigkill_mid_import_leaves_no_trace(store, neo4j_target, tmp_path, replace):
    dallas = raw_json.load(DALLAS)
    dallas_id = raw_json.graph_id(dallas, DALLAS)
    store_graph(store, read_graph(DALLAS))
    # Either a new graph, or a different graph swapped in for Dallas with --replace.
    target_id = dallas_id if replace else "killed-mid-import"
    path = tmp_path / "big.json"
    write_graph(big_graph(target_id, transcoders="synthetic/killed-transcoders"), path)

    proc = importer(neo4j_target, *(["--replace"] if replace else []), str(path))
    deadline = time.monotonic() + 120
    while edge_writers(store) == 0:
        assert proc.poll() is None, f"import ended before it was caught writing edges: {proc.communicate()}"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    while edge_writers(store):  # the server rolls back once it sees the connection gone
        assert time.monotonic() < deadline
        time.sleep(0.05)

    # Only Dallas, exactly as it was: no node, edge, Feature or Vocab entry of the big graph.
    assert value(store, "MATCH (g:Graph) RETURN collect(g.id)") == [dallas_id]
    assert value(store, "MATCH (g:Graph {id: $g}) RETURN g.prompt", g=dallas_id) == dallas["metadata"]["prompt"]
    assert value(store, "MATCH (n:Node) RETURN count(n)") == len(dallas["nodes"])
    assert value(store, "MATCH ()-[r:ATTRIBUTION]->() RETURN count(r)") == len(dallas["links"])
    assert value(store, "MATCH (f:Feature) RETURN count(f)") == len(raw_json.feature_keys(dallas))
    assert value(store, "MATCH (v:Vocab) RETURN count(v)") == len(raw_json.vocab_ids(dallas))
    assert value(store, "MATCH (t:TranscoderSet) RETURN collect(t.id)") == [
        dallas["metadata"]["info"]["transcoder_set"]
    ]


def test_ctrl_c_mid_import_is_one_line_and_leaves_no_trace(store, neo4j_target, tmp_path):
    path = tmp_path / "big.json"
    write_graph(big_graph("interrupted", transcoders="synthetic/interrupted-transcoders"), path)
    proc = importer(neo4j_target, str(path))
    deadline = time.monotonic() + 120
    while edge_writers(store) == 0:
        assert proc.poll() is None, f"import ended before it was caught writing edges: {proc.communicate()}"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (proc.returncode, err)
    assert "Traceback" not in err and "retried" not in err and "defunct" not in err, err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert errors == ["error: interrupted; nothing is half-written (a graph being stored is rolled back)"], err
    while edge_writers(store):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert value(store, "MATCH (n) WHERE n:Graph OR n:Node OR n:Feature OR n:Vocab RETURN count(n)") == 0


def test_concurrent_importer_processes_share_features(store, neo4j_target):
    raws = {p: raw_json.load(p) for p in GEMMA}
    procs = [importer(neo4j_target, *map(str, GEMMA[k::4])) for k in range(4)]
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err

    assert sorted(value(store, "MATCH (g:Graph) RETURN collect(g.id)")) == sorted(
        raw_json.graph_id(raw, p) for p, raw in raws.items()
    )
    for path, raw in raws.items():
        gid = raw_json.graph_id(raw, path)
        assert value(store, "MATCH (n:Node {graph_id: $g}) RETURN count(n)", g=gid) == len(raw["nodes"])
        assert value(store, "MATCH (:Node {graph_id: $g})-[r:ATTRIBUTION]->() RETURN count(r)", g=gid) == len(
            raw["links"]
        )
    union = set().union(*(raw_json.feature_keys(raw) for raw in raws.values()))
    features = value(store, "MATCH (f:Feature) RETURN collect([f.layer, f.index])")
    assert len(features) == len(union) and {tuple(f) for f in features} == union
    instances = sum(raw_json.kind_counts(raw)["Latent"] for raw in raws.values())
    assert value(store, "MATCH (:Latent)-[r:INSTANCE_OF]->(:Feature) RETURN count(r)") == instances
    assert value(store, "MATCH (v:Vocab) RETURN count(v)") == len(
        set().union(*(raw_json.vocab_ids(raw) for raw in raws.values()))
    )
