"""`circuitstore draw`: the layout puts tokens at the bottom by position, latents and errors at
their layer, logits on top; a paths picture holds exactly the strongest paths (Yen's algorithm
over the graph file), captioned; the supernode picture and PNG output work; bad names are one line."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from matplotlib.image import imread

from circuitstore.drawing import circuit, layout
from circuitstore.formats import read_graph
from circuitstore.queries import run_query
from circuitstore.store import store_graph
from tests.circuits import logit, strongest_paths, token_ids
from tests.clirun import assert_one_line_error, cli
from tests.data import GRAPHS_DIR
from tests.database import wipe

DALLAS = read_graph(GRAPHS_DIR / "gemma-2-2b-clt" / "dallas-austin.json")
HAIKU = read_graph(GRAPHS_DIR / "claude-haiku" / "capital-state-dallas.json")


@pytest.fixture(scope="module")
def stored(neo4j_driver, neo4j_target):
    wipe(neo4j_driver)
    for graph in (DALLAS, HAIKU):
        store_graph(neo4j_driver, graph)
    return neo4j_target


def test_layout_tokens_bottom_layers_up_logits_top():
    picture = circuit(DALLAS)
    assert picture.number_of_nodes() == len(DALLAS.nodes) and picture.number_of_edges() == len(list(DALLAS.edges()))
    pos = layout(picture)
    top = max(n.layer for n in DALLAS.nodes if n.layer is not None) + 2
    for n in DALLAS.nodes:
        x, y = pos[n.id]
        assert abs(x - n.position) < 0.41, n
        assert y == {"token": 0, "logit": top}.get(n.kind, (n.layer or 0) + 1), n
    assert len(set(pos.values())) == len(pos)  # nodes sharing a cell are spread


def test_draw_paths_holds_the_strongest_paths(stored, tmp_path):
    out = tmp_path / "paths.svg"
    proc = cli("draw", DALLAS.meta.id, "--paths", " Dallas", " Austin", "-o", str(out), env=stored)
    assert proc.returncode == 0, proc.stderr
    paths = strongest_paths(DALLAS, token_ids(DALLAS, " Dallas"), logit(DALLAS, " Austin").id, 6, 5)
    ids = {n for p, _, _ in paths for n in p}
    edges = {(a, b) for p, _, _ in paths for a, b in zip(p, p[1:])}
    assert f"({len(ids)} nodes, {len(edges)} edges)" in proc.stdout
    texts = {"".join(t.itertext()).strip() for t in ET.parse(out).iter("{http://www.w3.org/2000/svg}text")}
    names = {n.id: n for n in DALLAS.nodes}
    assert {f'"{names[i].text}"@{names[i].position}' for i in ids if names[i].kind == "token"} <= texts
    assert any(t.startswith("L20/44686@") for t in texts)


def test_draw_supernodes_as_png(stored, neo4j_driver, tmp_path):
    """The picture holds the supernode-graph query's answer: one node per name, one edge per row."""
    out = tmp_path / "groups.png"
    proc = cli("draw", HAIKU.meta.id, "--supernodes", "-o", str(out), env=stored)
    assert proc.returncode == 0, proc.stderr
    rows = run_query(neo4j_driver, "supernode-graph", graph=HAIKU.meta.id)
    names = {r[end] for r in rows for end in ("source", "target")}
    assert any(r["source_grouped"] for r in rows)
    assert f"({len(names)} nodes, {len(rows)} edges)" in proc.stdout
    assert imread(out).shape[0] > 300


def test_draw_refuses_an_unknown_format(stored, tmp_path):
    assert_one_line_error(cli("draw", DALLAS.meta.id, "-o", str(tmp_path / "x.jpg"), env=stored), ".svg")
