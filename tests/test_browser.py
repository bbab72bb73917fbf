"""End to end in a real browser: Debian's headless Chromium opens Neo4j Browser on the test
server, logs in, and finds circuitstore's style applied and its guide open; the guide's Dallas
paths query draws the circuit Yen's algorithm finds in the graph file, coloured by kind."""

from __future__ import annotations

import os
import re

import pytest

from circuitstore.formats import read_graph
from circuitstore.queries import get_query, list_queries
from circuitstore.server import LocalServer
from circuitstore.server.browser import kind_colours
from circuitstore.store import store_graph
from tests import browser as chromium
from tests.circuits import logit, shares, strongest_paths, token_ids
from tests.clirun import cli
from tests.conftest import TEST_HOME
from tests.data import GRAPHS_DIR
from tests.database import wipe

DALLAS = read_graph(GRAPHS_DIR / "gemma-2-2b-clt" / "dallas-austin.json")
COLOURS = kind_colours()
GUIDE_TITLE = "circuitstore: the query library"

pytestmark = [
    pytest.mark.skipif(chromium.missing() is not None, reason=chromium.missing() or ""),
    pytest.mark.skipif(
        bool(os.environ.get("NEO4J_URI")), reason="the guide and style are served by circuitstore's own server"
    ),
]


@pytest.fixture(scope="module")
def dallas(neo4j_driver):
    wipe(neo4j_driver)
    store_graph(neo4j_driver, DALLAS)
    return neo4j_driver


@pytest.fixture
def browser(dallas, neo4j_target):
    b = chromium.Browser(LocalServer(TEST_HOME).browser_url)
    try:
        b.login(neo4j_target["NEO4J_URI"], neo4j_target["NEO4J_USER"], neo4j_target["NEO4J_PASSWORD"])
        yield b
    finally:
        b.close()


def test_login_applies_the_style_opens_the_guide_and_stops_connecting_nodes(browser):
    guide = browser.guide(GUIDE_TITLE)
    assert all(q.name in guide.text for q in list_queries())
    grass = chromium.wait_for(lambda: browser.local_storage("neo4j.grass"), what="the style")
    assert set(COLOURS) >= {"Token", "Latent", "Error", "Logit", "Supernode", "Feature", "Vocab", "Graph"}
    assert {kind: grass[f"node.{kind}"]["color"] for kind in COLOURS} == COLOURS
    assert chromium.wait_for(
        lambda: (browser.local_storage("neo4j.settings") or {}).get("autoComplete") is False, what="the setting"
    )
    assert "product usage" not in browser.body_text()

    # For another Neo4j, `circuitstore browser` prints a `:style` line to paste: it gives the same.
    browser.run(":style reset")
    chromium.wait_for(lambda: "node.Logit" not in (browser.local_storage("neo4j.grass") or {}), what="the reset")
    printed = cli("browser", env={"NEO4J_URI": "bolt://neo4j.example:7687"}).stdout.splitlines()
    browser.run(next(line for line in printed if line.startswith(":style ")))
    pasted = chromium.wait_for(
        lambda: (lambda g: g if "node.Logit" in g else None)(browser.local_storage("neo4j.grass") or {}),
        what="the style",
    )
    assert pasted == grass


def test_dallas_paths_from_the_guide_draw_the_strongest_paths(browser, dallas, tmp_path):
    guide = browser.guide(GUIDE_TITLE)
    for _ in range([q.name for q in list_queries()].index("paths") + 1):
        browser.next_slide(guide)
    blocks = chromium.wait_for(
        lambda: [b for b in guide.find_elements("css selector", "pre.runnable") if b.is_displayed()] or None,
        what="the paths slide",
    )
    assert len(blocks) == 2 and blocks[0].text.strip() == get_query("paths").example
    params = browser.run_block(blocks[0])
    assert "error" not in params.text.lower(), params.text
    frame = browser.run_block(blocks[1])
    browser.settle(frame)
    browser.screenshot(frame, tmp_path / "dallas-paths.png")
    assert (tmp_path / "dallas-paths.png").stat().st_size > 10_000

    paths = strongest_paths(DALLAS, token_ids(DALLAS, " Dallas"), logit(DALLAS, " Austin").id, 6, 5)
    edges = {(a, b) for p, _, _ in paths for a, b in zip(p, p[1:])}
    ids = sorted({n for p, _, _ in paths for n in p})
    names, _, _ = dallas.execute_query(
        "MATCH (n:Node {graph_id: $g}) WHERE n.node_id IN $ids RETURN n.name AS name", g=DALLAS.meta.id, ids=ids
    )
    nodes = browser.drawn_nodes(frame)
    # Every caption whole (no `…`): the wrapped lines joined give the stored name.
    assert sorted(" ".join(n["caption"].split()) for n in nodes) == sorted(" ".join(r["name"].split()) for r in names)
    assert '" Dallas"@6' in {n["caption"] for n in nodes}
    for n in nodes:
        (kind,) = [label for label in n["labels"] if label != "Node"]
        assert n["fill"] == COLOURS[kind], n

    # Only the answer's edges (Browser connects no other result nodes), captioned by weight,
    # typed by weight quarter, and a stronger quarter drawn wider.
    rels = browser.drawn_relationships(frame)
    weight = {e: w for e, (w, _) in shares(DALLAS).items()}
    assert sorted(float(r["caption"]) for r in rels) == pytest.approx(sorted(weight[e] for e in edges), abs=0.0051)
    assert all(re.fullmatch(r"(EXCITES|INHIBITS)_[1-4]", r["type"]) for r in rels)
    width = {r["type"]: r["width"] for r in rels}
    assert len(width) > 1 and [width[t] for t in sorted(width)] == sorted(width.values())
