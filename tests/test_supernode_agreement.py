"""Agreement with hand-made groupings, recomputed here from the raw JSON (Anthropic's supernodes
in the Haiku files, planted.json's for the planted model) by plain pair counting, against the
suggestions `circuitstore supernode suggest` prints: the numbers bench/supernodes.py reports,
and the claim that the evidence method beats the baseline on the Haiku graphs."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from circuitstore.cli import main
from circuitstore.compute import compute_graph, load_model, load_transcoders
from circuitstore.compute.planted import cached, prompts
from circuitstore.formats import read_graph
from circuitstore.graph import AttributionGraph, Supernode
from circuitstore.store import store_graph
from circuitstore.supernodes.agreement import agreement
from tests import raw_json
from tests.data import GRAPHS_DIR
from tests.pair_counts import ari_by_pairs, labelling, precision_recall_f1

HAIKU = sorted((GRAPHS_DIR / "claude-haiku").glob("*.json"))


@pytest.fixture
def cli(store, neo4j_target):
    def run(*args: str) -> list[dict]:
        result = CliRunner().invoke(main, [*args, "--json"], env=neo4j_target, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    return run


def scores(truth: dict[str, str], groups: list[list[str]]) -> tuple[float, float, float, float]:
    pred = labelling(groups, truth)
    return (ari_by_pairs(truth, pred), *precision_recall_f1(truth, pred))


def test_haiku_agreement_recomputed_from_the_raw_json(store, cli):
    for path in HAIKU:
        store_graph(store, read_graph(path))
    for path in HAIKU:
        raw = raw_json.load(path)
        gid = raw_json.graph_id(raw, path)
        truth = {m: name for name, members in raw_json.supernode_members(raw).items() for m in members}
        ari = {}
        for method in ("edge-profile", "evidence"):
            # --include-grouped: group every latent, the imported supernodes' members too
            found = [r["members"] for r in cli("supernode", "suggest", gid, "--method", method, "--include-grouped")]
            mine = scores(truth, found)
            theirs = agreement(read_supernodes(raw), found)
            assert (theirs.ari, theirs.precision, theirs.recall, theirs.f1) == pytest.approx(mine)
            assert theirs.nodes == len(truth)
            ari[method] = mine[0]
        assert ari["evidence"] > ari["edge-profile"] + 0.08, (gid, ari)


def read_supernodes(raw: dict) -> list[Supernode]:
    return [Supernode(name, tuple(sorted(ms))) for name, ms in raw_json.supernode_members(raw).items()]


def test_the_planted_groups_are_found_in_graph_and_across_prompts(store, cli):
    """The 18 planted prompts (each fact in three templates); the truth from planted.json itself."""
    model = load_model("planted")
    transcoders = load_transcoders("planted", model)
    truth = json.loads(cached().planted.read_text(encoding="utf-8"))
    concept = {(layer, index): name for name, fs in truth["supernodes"].items() for layer, index in fs}
    graphs: list[AttributionGraph] = [compute_graph(model, transcoders, text) for text, _, _ in prompts()]
    for g in graphs:
        store_graph(store, g)
    for g in graphs:
        hand = {
            n.id: concept[n.layer, n.feature_index]
            for n in g.nodes
            if n.kind == "latent" and (n.layer, n.feature_index) in concept
        }
        assert len(set(hand.values())) == 3  # the fact's state, capital, its say feature
        for method in ("edge-profile", "evidence"):
            found = [r["members"] for r in cli("supernode", "suggest", g.meta.id, "--method", method)]
            assert scores(hand, found) == (1.0, 1.0, 1.0, 1.0), (g.meta.prompt, method)
    ts = graphs[0].meta.transcoder_set
    held = {(n.layer, n.feature_index) for g in graphs for n in g.nodes if n.kind == "latent"}
    wanted = {f"{ts}/{layer}/{index}": name for (layer, index), name in concept.items() if (layer, index) in held}
    for method in ("edge-profile", "evidence"):
        families = cli("family", "build", "--model", graphs[0].meta.model, "--method", method)
        assert scores(wanted, [fam["features"] for fam in families]) == (1.0, 1.0, 1.0, 1.0), method
