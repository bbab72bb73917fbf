"""`weights build` against the real test Neo4j: every stored relationship equals the plain numpy
product for it (tests/weights_checks.py), the queries return those numbers, automatic labels
and captions follow the rule, re-running changes nothing, and a build killed between or inside
layers leaves each layer whole or unmarked (and the queries refuse an unmarked one), then
resumes to what an uninterrupted build stores."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
from click.testing import CliRunner

from circuitstore.captions import auto_label, feature_caption
from circuitstore.cli import main
from circuitstore.compute import load_model, load_transcoders, planted
from circuitstore.compute.weights_build import build_weights
from circuitstore.errors import CircuitstoreError
from circuitstore.graph import AttributionGraph, GraphMeta, Node
from circuitstore.queries import run_query
from circuitstore.store import delete_graph, store_graph
from circuitstore.store.params import caption
from circuitstore.store.weights import stored_layers
from tests.clirun import assert_one_line_error, cli
from tests.database import value, wipe
from tests.synthetic import gemma_style, save_tiny
from tests.weights_checks import de_embedding, logit_lens, pullback_pairs, top_bottom, virtual_weights

K = 3
WEIGHTS = "DE_EMBEDDING|LOGIT_LENS|VIRTUAL_WEIGHT|PULLBACK"
DUMP = (
    f"MATCH (a)-[r:{WEIGHTS}]->(b) "
    "RETURN type(r) AS type, a.id AS a, b.id AS b, r.rank AS rank, r.weight AS weight, r.kind AS kind, r.via AS via "
    "ORDER BY type, a, b, rank, kind"
)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    model_dir, tc_dir = save_tiny(
        tmp_path_factory.mktemp("weights"), gemma_style(n_layers=3), "jumprelu_skip", tokenizer=True
    )
    model = load_model(model_dir)
    return model_dir, tc_dir, model, load_transcoders(tc_dir, model)


@pytest.fixture(scope="module")
def built(neo4j_driver, tiny):
    """The test database holding one whole build (wiped first), shared by the read-only tests."""
    wipe(neo4j_driver)
    _, _, model, tcs = tiny
    outcomes = build_weights(neo4j_driver, model, tcs, top_k=K)
    assert [o.status for o in outcomes] == ["stored"] * tcs.n_layers
    return neo4j_driver


def dump(driver) -> list[dict]:
    return [r.data() for r in driver.execute_query(DUMP).records]


def fid(tcs, layer, index) -> str:
    return f"{tcs.name}/{layer}/{index}"


def stored_lists(driver, rel: str, **where) -> dict[tuple[str, int], list]:
    """{(feature id, sign): [(other end's id, weight), ... by |rank|]} of one relationship type,
    keyed by the feature the lists are ranked for (the target, but the source for LOGIT_LENS)."""
    cond = " AND ".join(f"r.{k} = ${k}" for k in where) or "true"
    records = driver.execute_query(
        f"MATCH (a)-[r:{rel}]->(b) WHERE {cond} RETURN a.id AS a, b.id AS b, r.rank AS rank, r.weight AS weight",
        **where,
    ).records
    out: dict = {}
    for r in sorted(records, key=lambda r: abs(r["rank"])):
        owner, other = (r["a"], r["b"]) if rel == "LOGIT_LENS" else (r["b"], r["a"])
        out.setdefault((owner, 1 if r["rank"] > 0 else -1), []).append((other, r["weight"]))
    return out


def expected_lists(matrix: np.ndarray, owner_ids, other_ids) -> dict[tuple[str, int], list]:
    top, top_v, bottom, bottom_v = top_bottom(matrix, K)
    out = {}
    for row, owner in enumerate(owner_ids):
        out[(owner, 1)] = [(other_ids[j], v) for j, v in zip(top[row], top_v[row])]
        out[(owner, -1)] = [(other_ids[j], v) for j, v in zip(bottom[row], bottom_v[row])]
    return out


def assert_lists_equal(found, expected):
    assert found.keys() == expected.keys()
    for key, items in expected.items():
        assert [o for o, _ in found[key]] == [o for o, _ in items], key
        np.testing.assert_allclose([w for _, w in found[key]], [w for _, w in items], rtol=1e-4, atol=1e-5)


def test_every_stored_weight_is_the_plain_product(built, tiny):
    _, _, model, tcs = tiny
    vocab = [f"{model.cfg.model_name}/{t}" for t in range(model.cfg.d_vocab)]
    for layer in range(tcs.n_layers):
        d_sae = tcs.transcoders[layer].cfg.d_sae
        feats = [fid(tcs, layer, i) for i in range(d_sae)]
        for kind in ["raw"] if layer == 0 else ["raw", "extended"]:
            found = {k: v for k, v in stored_lists(built, "DE_EMBEDDING", kind=kind).items() if k[0] in feats}
            assert_lists_equal(found, expected_lists(de_embedding(model, tcs, layer, kind), feats, vocab))
        found = {k: v for k, v in stored_lists(built, "LOGIT_LENS").items() if k[0] in feats}
        assert_lists_equal(found, expected_lists(logit_lens(model, tcs, layer), feats, vocab))
        if layer:
            v, names = virtual_weights(model, tcs, layer)
            found = {k: v for k, v in stored_lists(built, "VIRTUAL_WEIGHT").items() if k[0] in feats}
            assert_lists_equal(found, expected_lists(v, feats, [fid(tcs, e, i) for e, i in names]))
    assert value(built, "MATCH (:Feature {layer: 0})<-[r:DE_EMBEDDING {kind: 'extended'}]-() RETURN count(r)") == 0


def test_stored_pullbacks_are_the_best_token_and_feature_pairs(built, tiny):
    _, _, model, tcs = tiny
    records = built.execute_query(
        "MATCH (v:Vocab)-[r:PULLBACK]->(g:Feature) RETURN g.id AS g, v.token_id AS token, r.via AS via, "
        "r.rank AS rank, r.weight AS weight ORDER BY g, rank"
    ).records
    found: dict = {}
    for r in records:
        found.setdefault((r["g"], r["rank"] > 0), []).append((abs(r["rank"]), r["token"], r["via"], r["weight"]))
    n_pairs = 0
    for layer in range(1, tcs.n_layers):
        for g, (best, worst) in enumerate(pullback_pairs(model, tcs, layer, K)):
            for top, expected in ((True, best), (False, worst)):
                got = sorted(found.get((fid(tcs, layer, g), top), []))
                assert [(t, via) for _, t, via, _ in got] == [(t, fid(tcs, *f)) for _, t, f in expected]
                np.testing.assert_allclose([w for *_, w in got], [p[0] for p in expected], rtol=1e-4, atol=1e-6)
                n_pairs += len(expected)
    assert n_pairs == len(records) > 0


def test_queries_return_the_stored_lists_and_the_feature_shows_them(built, tiny):
    _, _, model, tcs = tiny
    layer, index = 2, 5
    feature = fid(tcs, layer, index)
    text = {t: model.tokenizer.decode([t]) for t in range(model.cfg.d_vocab)}
    for kind in ("extended", "raw"):
        d = de_embedding(model, tcs, layer, kind)[index]
        for bottom, order in ((False, np.argsort(-d, kind="stable")), (True, np.argsort(d, kind="stable"))):
            rows = run_query(built, "de-embedding", feature=feature, kind=kind, bottom=bottom, k=2)
            assert [r["token_id"] for r in rows] == order[:2].tolist() and [r["rank"] for r in rows] == [1, 2]
            assert [r["weight"] for r in rows] == pytest.approx(d[order[:2]].tolist(), rel=1e-4)
            assert {r["kind"] for r in rows} == {kind}
    # Layer 0 has no extended kind: the query falls back to raw.
    rows = run_query(built, "de-embedding", feature=fid(tcs, 0, index), k=K)
    assert {r["kind"] for r in rows} == {"raw"} and len(rows) == K
    lens = logit_lens(model, tcs, layer)[index]
    order = np.argsort(-lens, kind="stable")
    rows = run_query(built, "logit-lens", feature=feature, k=K)
    assert [r["token_id"] for r in rows] == order[:K].tolist()
    assert [r["text"] for r in rows] == [text[t] for t in order[:K].tolist()]
    v, names = virtual_weights(model, tcs, layer)
    order = np.argsort(v[index], kind="stable")
    rows = run_query(built, "virtual-weights", feature=feature, bottom=True, k=K)
    assert [r["feature"] for r in rows] == [fid(tcs, *names[j]) for j in order[:K]]
    best, _ = pullback_pairs(model, tcs, layer, K)[index]
    rows = run_query(built, "pullback", feature=feature, k=K)
    assert [(r["token_id"], r["via"]) for r in rows] == [(t, fid(tcs, *f)) for _, t, f in best]
    assert [r["weight"] for r in rows] == pytest.approx([p[0] for p in best], rel=1e-4)
    vw = {fid(tcs, *names[j]): v[index, j] for j in range(len(names))}
    for r in rows:  # the virtual weight shown is the stored one, where that pair is in the top lists
        assert r["virtual_weight"] is None or r["virtual_weight"] == pytest.approx(vw[r["via"]], rel=1e-4)

    (row,) = run_query(built, "feature", feature=feature, k=2)
    ext = de_embedding(model, tcs, layer, "extended")[index]
    # The feature shows, and its label names, the tokens of positive weight among the top k.
    ins = [text[t] for t in np.argsort(-ext, kind="stable")[:K].tolist() if ext[t] > 0]
    outs = [text[t] for t in np.argsort(-lens, kind="stable")[:K].tolist() if lens[t] > 0]
    assert row["de_embedding"] == ins[:2] and row["logit_lens"] == outs[:2]
    assert row["auto_label"] == auto_label(ins, outs) and row["label"] is None
    assert row["caption"] == feature_caption(layer, index, None, row["auto_label"])
    assert row["graph"] is None and row["partners"] == [] and row["n_rows"] == 0


def test_search_finds_features_by_their_automatic_label(built, tiny):
    _, _, _, tcs = tiny
    label = value(built, "MATCH (f:Feature {id: $id}) RETURN f.auto_label", id=fid(tcs, 1, 0))
    word = next(w.strip(",|") for w in label.split() if w.strip(",|").isalpha() and w not in ("in:", "out:"))
    rows = run_query(built, "search", text=word, k=50)
    assert fid(tcs, 1, 0) in {r["id"] for r in rows if r["kind"] == "feature"}


def test_an_imported_label_wins_the_caption_and_weights_keep_their_features(store, tiny):
    """A graph's label is the caption where it exists (before or after the build), and the query
    outputs show it; deleting the graphs keeps the Features and Vocab the weights link."""

    _, _, model, tcs = tiny
    meta = GraphMeta("g1", "x", ("x",), model.cfg.model_name, tcs.name)
    nodes = [
        Node("E_4_0", "token", 0, token_id=4, text="the"),
        Node("1_0_0", "latent", 0, layer=1, feature_index=0, activation=1.0, label="texas things"),
        Node("1_1_0", "latent", 0, layer=1, feature_index=1, activation=1.0),
    ]
    edges = [("E_4_0", "1_0_0", 1.0), ("E_4_0", "1_1_0", 2.0)]
    store_graph(store, AttributionGraph.from_edge_ids(meta, nodes, edges))
    build_weights(store, model, tcs, layers=[0, 1], top_k=K)
    store_graph(store, AttributionGraph.from_edge_ids(replace(meta, id="g2"), nodes, edges))
    labelled = store.execute_query(
        "MATCH (f:Feature) WHERE f.id IN $ids RETURN f.index AS i, f.name AS name, f.label AS label, "
        "f.auto_label AS auto ORDER BY i",
        ids=[fid(tcs, 1, 0), fid(tcs, 1, 1)],
    ).records
    assert labelled[0]["name"] == "L1/0 texas things" and labelled[0]["auto"].startswith("in: ")
    assert labelled[1]["label"] is None and labelled[1]["name"] == feature_caption(1, 1, None, labelled[1]["auto"])
    # The graphs' latents: their own label where they have one, else the Feature's automatic one,
    # whether the graph was stored before the build (g1) or after it (g2).
    latents = store.execute_query("MATCH (l:Latent) RETURN l.graph_id AS g, l.node_id AS id, l.name AS name").records
    expected = {nodes[1].id: caption(nodes[1]), nodes[2].id: f"{caption(nodes[2])} {labelled[1]['auto']}"}
    assert sorted((r["g"], r["id"], r["name"]) for r in latents) == sorted(
        (g, i, name) for g in ("g1", "g2") for i, name in expected.items()
    )
    assert expected[nodes[1].id] == "L1/0@0 texas things"
    shared = run_query(store, "shared-features", graphs=["g1", "g2"])
    assert {r["feature"]: r["caption"] for r in shared} == {
        fid(tcs, 1, 0): "L1/0 texas things",
        fid(tcs, 1, 1): labelled[1]["name"],
    }
    before = value(store, "MATCH (n) WHERE n:Feature OR n:Vocab RETURN count(n)")
    delete_graph(store, "g1")
    delete_graph(store, "g2")
    assert value(store, "MATCH (n) WHERE n:Feature OR n:Vocab RETURN count(n)") == before


def test_rerunning_changes_nothing_and_other_settings_are_refused(store, tiny):
    _, _, model, tcs = tiny
    build_weights(store, model, tcs, top_k=K)
    before = dump(store), value(store, "MATCH (f:Feature) RETURN collect([f.id, f.name, f.auto_label])")
    outcomes = build_weights(store, model, tcs, top_k=K)
    assert [o.status for o in outcomes] == ["skipped"] * tcs.n_layers
    assert (dump(store), value(store, "MATCH (f:Feature) RETURN collect([f.id, f.name, f.auto_label])")) == before
    with pytest.raises(CircuitstoreError, match="stored with top-k 3.*--replace"):
        build_weights(store, model, tcs, top_k=K + 1)
    with pytest.raises(CircuitstoreError, match=r"layer\(s\) \[7\] outside the 3 layers"):
        build_weights(store, model, tcs, layers=[7], top_k=K)
    assert dump(store) == before[0]
    build_weights(store, model, tcs, layers=[1], top_k=K + 1, replace=True)
    assert stored_layers(store, tcs.name)[1]["top_k"] == K + 1
    assert value(store, "MATCH (:Feature {layer: 1})<-[r:DE_EMBEDDING {rank: 4}]-() RETURN count(r)") > 0


KILLER = """
import os, signal, sys
from circuitstore.compute import load_model, load_transcoders, planted
from circuitstore.compute.weights_build import build_weights
from circuitstore.server import connect
import circuitstore.store.weights as w

w.REL_BATCH = 50  # many small transactions, so there is a middle of a layer to die in
model_dir, tc_dir, kill_layer, mid = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "mid"
model = load_model(model_dir)
tcs = load_transcoders(tc_dir, model)
driver = connect(os.environ["NEO4J_URI"], user=os.environ["NEO4J_USER"], password=os.environ["NEO4J_PASSWORD"])

def progress(layer, stage, done, total):
    if mid and layer == kill_layer and stage == "storing" and done >= 100:
        os.kill(os.getpid(), signal.SIGKILL)

def done(outcome):
    if not mid and outcome.layer == kill_layer:
        os.kill(os.getpid(), signal.SIGKILL)

build_weights(driver, model, tcs, top_k=3, progress=progress, on_done=done)
"""


def owner(row: dict) -> str:
    """The feature a dumped relationship is ranked for (so belongs to that feature's layer)."""
    return row["a"] if row["type"] == "LOGIT_LENS" else row["b"]


def assert_same(found: list[dict], expected: list[dict]) -> None:
    """The same relationships; weights to float tolerance (the builds ran in different processes)."""
    key = ("type", "a", "b", "rank", "kind", "via")
    assert [tuple(r[k] for k in key) for r in found] == [tuple(r[k] for k in key) for r in expected]
    np.testing.assert_allclose([r["weight"] for r in found], [r["weight"] for r in expected], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("where", ["between", "mid"])
def test_a_killed_build_leaves_layers_whole_or_unmarked_and_resumes(store, neo4j_target, tiny, where):
    """SIGKILL after layer 1 is stored, or in the middle of storing it."""
    model_dir, tc_dir, model, tcs = tiny
    build_weights(store, model, tcs, top_k=K)
    whole = dump(store)
    wipe(store)
    proc = subprocess.run(
        [sys.executable, "-c", KILLER, str(model_dir), str(tc_dir), "1", where],
        env={**os.environ, **neo4j_target},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == -9, proc.stderr
    marked = sorted(stored_layers(store, tcs.name))
    assert marked == ([0, 1] if where == "between" else [0])
    layer_of = {fid(tcs, layer, i): layer for layer in range(3) for i in range(tcs.transcoders[layer].cfg.d_sae)}
    now = dump(store)
    for layer in marked:  # a marked layer holds exactly what the whole build holds for it
        assert_same([r for r in now if layer_of[owner(r)] == layer], [r for r in whole if layer_of[owner(r)] == layer])
    killed = marked[-1] + 1
    partial = sum(layer_of[owner(r)] == killed for r in now)
    full = sum(layer_of[owner(r)] == killed for r in whole)
    assert (0 < partial < full) if where == "mid" else partial == 0
    # The queries refuse an unmarked layer (mid: its features exist; between: not even they do).
    refused = "are not stored; run `circuitstore weights build" if where == "mid" else "no feature"
    with pytest.raises(CircuitstoreError, match=refused):
        run_query(store, "logit-lens", feature=fid(tcs, killed, 0))

    resumed = CliRunner().invoke(
        main,
        ["weights", "build", "--model", str(model_dir), "--transcoders", str(tc_dir), "--top-k", str(K)],
        env=neo4j_target,
        catch_exceptions=False,
    )
    assert resumed.exit_code == 0, resumed.output
    statuses = [line.split()[2] for line in resumed.stdout.strip().splitlines()[:3]]
    assert statuses == ["skipped" if layer in marked else "stored" for layer in range(3)]
    assert_same(dump(store), whole)


def test_cli_errors_are_one_line(neo4j_target, tiny):
    model_dir, tc_dir, _, _ = tiny
    args = ["weights", "build", "--model", str(model_dir), "--transcoders", str(tc_dir)]
    assert_one_line_error(cli(*args, "--layers", "2-1", env=neo4j_target), "--layers '2-1'", "runs backwards")
    assert_one_line_error(cli(*args, "--layers", "x", env=neo4j_target), "expected layer numbers")
    assert_one_line_error(cli(*args, "--layers", "5", env=neo4j_target), "layer(s) [5] outside the 3 layers")
    bad = cli("weights", "build", "--model", str(tc_dir), "--transcoders", str(tc_dir), env=neo4j_target)
    assert_one_line_error(bad, "lacks config.json")


def label_tokens(label: str | None) -> dict[str, set[str]]:
    """{"in": {...}, "out": {...}} of an automatic label `in: a, b | out: c`."""
    sides = dict(part.split(": ", 1) for part in (label or "").split(" | ") if part)
    return {side: set(sides[side].split(", ")) if side in sides else set() for side in ("in", "out")}


def test_the_planted_model_s_weights_show_its_planted_features(store, neo4j_target, tmp_path, monkeypatch):
    """`weights build --model planted`, checked against planted.json alone: each city feature
    is excited by the tokens it reads (its city first), each "say <capital>" feature promotes
    that capital and nothing else, their automatic labels say so, and the virtual weights between
    the two layers are all zero: the planted circuit crosses layers only through layer 1's
    attention, which the direct residual path leaves out, and planted.json has no layer-1
    feature read a direction that a layer-0 feature writes."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    result = CliRunner().invoke(
        main,
        ["weights", "build", "--model", "planted", "--transcoders", "planted", "--top-k", str(K)],
        env={**neo4j_target, "XDG_CACHE_HOME": str(tmp_path)},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    truth = json.loads(planted.cached().planted.read_text(encoding="utf-8"))
    city_of = {p["state"]: f" {p['city']}" for p in truth["prompts"]}
    features = {(f["layer"], f["feature"]): f for f in truth["features"]}

    def fid(f: dict) -> str:
        return f"{truth['transcoder_set']}/{f['layer']}/{f['feature']}"

    circuit = [f for f in features.values() if f["role"] in ("state", "capital", "say")]
    assert {f["role"] for f in circuit} == {"state", "capital", "say"}
    for f in circuit:
        (row,) = run_query(store, "feature", feature=fid(f), k=K)
        reads = {d.removeprefix("token:"): w for d, w in f["reads"].items() if d.startswith("token:")}
        if f["layer"] == 0:
            # A word's normalised embedding holds one raw unit of its token direction, which is
            # what planted.json's read weights are given in; nothing else of it is read.
            rows = run_query(store, "de-embedding", feature=fid(f), kind="raw", k=K)
            expected = sorted(reads.values(), reverse=True) + [0.0] * K
            assert [r["weight"] for r in rows] == pytest.approx(expected[:K], rel=1e-4, abs=1e-6)
            assert all(r["weight"] == pytest.approx(reads.get(r["text"], 0.0), rel=1e-4, abs=1e-6) for r in rows)
            assert set(row["de_embedding"]) == set(reads) and row["logit_lens"] == []
            assert label_tokens(row["auto_label"]) == {"in": {t.strip() for t in reads}, "out": set()}
            if f["role"] == "state" and len(reads) == 1:  # the city feature: its city excites it most
                assert rows[0]["text"] == city_of[f["concept"]]
        else:
            answer = " " + f["concept"].removeprefix("say ")
            rows = run_query(store, "logit-lens", feature=fid(f), k=K)
            assert rows[0]["text"] == answer and rows[0]["weight"] > 0
            assert row["logit_lens"] == [answer] and row["de_embedding"] == []
            assert row["auto_label"] == f"out: {answer.strip()}"
        assert row["caption"] == feature_caption(f["layer"], f["feature"], None, row["auto_label"])
    assert any(f["role"] == "state" and len(f["reads"]) == 1 for f in circuit)
    written = {d for f in features.values() if f["layer"] == 0 for d in f["writes"]}
    assert not any(set(f["reads"]) & written for f in features.values() if f["layer"] == 1)
    weights = value(store, "MATCH ()-[r:VIRTUAL_WEIGHT]->() RETURN collect(r.weight)")
    assert weights and set(weights) == {0.0}
    assert value(store, "MATCH ()-[r:PULLBACK]->() RETURN count(r)") == 0
