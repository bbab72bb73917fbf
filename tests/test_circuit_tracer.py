"""Graphs computed here against circuit-tracer's own (v0.5.0, TransformerLens backend), run in
its own environment on the same tiny weights, prompt and settings.

circuit-tracer comes from the source tree $CIRCUIT_TRACER_SRC (e.g. `git archive v0.5.0`);
tests/circuit_tracer/env.py builds its environment once (cached under .state/, PyPI needed) and
tests/circuit_tracer/run_ct.py runs it there. Without a source tree, or where the environment
cannot be built, the module skips and says why.

Cases: GPT-2 style (LayerNorm, GELU, learned positions) and Gemma 3 style (RMSNorm pre- and
post-norms, gated MLP, rotary, grouped queries, q/k norms) models, each with ReLU, ReLU + skip,
JumpReLU and JumpReLU + skip transcoders, saved by SAELens and read by each tool its own way;
and sets in circuit-tracer's own layouts, read by its own loaders (a cross-layer transcoder,
JumpReLU or ReLU, and Top-K per-layer transcoders, with and without skip); the Dallas prompt.
One case also runs with attribution targets in place of the likely logits: token strings, and
custom targets (a logit difference, a direction). Every case runs in float64 on both sides
(circuit-tracer with float64 as torch's default dtype, so its edge matrix and pruning are
float64 too), where the issue's tolerance (1e-5 relative on edges above 1e-3 of the largest) is
meaningful, and in float32.
Two cases also run with a cap on latents, which re-ranks them every `update_interval` batches.
Compared: nodes and their order, activations, edge weights, logit probabilities, raw influence,
replacement and completeness scores, pruned nodes and edges and cumulative influence at several
thresholds, and circuit-tracer's graph JSON read back; then circuit-tracer's JSON and the graph
computed here are stored in the test Neo4j, and the queries give the same answers on both.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from circuitstore.compute import (
    AttributionSettings,
    Target,
    attribute,
    compute_graph,
    graph_scores,
    load_model,
    load_transcoders,
    prune,
    raw_influence,
    save_model,
    tokenize,
)
from circuitstore.compute.tokenizer import word_tokenizer
from circuitstore.formats import read_graph
from circuitstore.graph import AttributionGraph
from circuitstore.queries import run_query
from circuitstore.store import store_graph
from tests.circuit_tracer.env import Unavailable, python_for
from tests.synthetic import (
    WORDS,
    gemma_style,
    gpt2_style,
    random_clt,
    random_layer_set,
    random_model,
    random_transcoders,
    save_ct_layout,
    save_transcoders,
)

pytestmark = pytest.mark.slow

RUN_CT = Path(__file__).parent / "circuit_tracer" / "run_ct.py"
ARCHITECTURES = {"gpt2": gpt2_style(n_layers=3), "gemma": gemma_style(n_layers=3)}
KINDS = ("relu", "relu_skip", "jumprelu", "jumprelu_skip")
# Sets in circuit-tracer's own layouts, read by its own loaders (load_clt, load_transcoder_set).
CT_LAYOUTS = ("gpt2-clt_jumprelu", "gemma-clt_jumprelu", "gemma-clt_relu", "gpt2-topk", "gemma-topk_skip")
CASES = [f"{arch}-{kind}" for arch in ARCHITECTURES for kind in KINDS] + list(CT_LAYOUTS)
TOP_K = 6
# Attribution targets in place of the likely logits, on one case: token strings, and custom
# targets (a logit difference and a direction with their weights), as circuit-tracer takes them.
TARGETS_CASE = "gemma-clt_jumprelu"
DIRECTION = [((-1) ** i) * (i + 1) / 32 for i in range(32)]
TARGETS = {
    "tokens": (Target("token", (" austin",)), Target("token", (" dallas",)), Target("token", (" city",))),
    "custom": (
        Target("diff", (" austin", " dallas"), label="austin-dallas", weight=0.4),
        Target("vector", vector=DIRECTION, label="direction", weight=0.25),
    ),
}
PROMPT = "the capital of the state in dallas is"
UNCAPPED = AttributionSettings(max_feature_nodes=None, batch_size=32)
# A cap below the active latents, several refills of update_interval batches each.
CAPPED = AttributionSettings(max_feature_nodes=60, batch_size=8, update_interval=2)
CAPPED_CASES = ("gpt2-jumprelu_skip", "gemma-relu")
THRESHOLDS = [(0.8, 0.98), (0.5, 0.9), (0.9, 0.7), (1.0, 0.95), (0.6, 0.99)]
# Edges: float64 meets the issue's bar, 1e-5 relative on every edge above 1e-3 of the largest.
# float32 cannot: an edge is a sum of products through the frozen network, rounded at each step,
# so its error scales with the terms summed (as large as the largest edges), not with the edge;
# small edges then differ relatively much (measured: 8e-7 absolute with weights up to 2, up to
# 7e-5 relative just above 1e-3 of the largest). Its bound is absolute, 1e-5 of the largest
# edge: a 10x margin over that, and still 100x below the smallest edge the relative test covers.
EDGE_TOLERANCE = {"float64": {"rel": 1e-5, "of_largest": 1e-12}, "float32": {"rel": None, "of_largest": 1e-5}}
# Values computed from the edges (probabilities, influence, scores): rounding of the same order.
VALUE_TOLERANCE = {"float64": 1e-9, "float32": 2e-5}


def circuit_tracer() -> Path:
    source = os.environ.get("CIRCUIT_TRACER_SRC")
    if not source:
        pytest.skip("CIRCUIT_TRACER_SRC names no circuit-tracer source tree (e.g. git archive v0.5.0)")
    try:
        return python_for(Path(source))
    except Unavailable as exc:
        pytest.skip(f"circuit-tracer's environment cannot be built here: {exc}")


def save_case(directory: Path, case: str) -> tuple[Path, Path]:
    arch, kind = case.split("-")
    model = random_model(ARCHITECTURES[arch], tokenizer=word_tokenizer(WORDS, directory / "tokenizer"))
    if case in CT_LAYOUTS:
        return save_model(model, directory / "model"), save_ct_case(model, kind, directory / "transcoders")
    saes = random_transcoders(model, kind, seed=1)
    # Layer-0 latents numbered below n_layers never fire: circuit-tracer names error nodes
    # 0_<layer>_<pos>, which would also be such a latent's id, and a file where one is kept
    # cannot be read (its links are ambiguous).
    with torch.no_grad():
        dead = slice(0, model.cfg.n_layers)
        if kind.startswith("jumprelu"):
            saes[0].threshold[dead] = 1e6
        else:
            saes[0].b_enc[dead] = -1e6
    return save_model(model, directory / "model"), save_transcoders(saes, directory / "transcoders")


def save_ct_case(model, kind: str, directory: Path) -> Path:
    if kind.startswith("clt"):
        files, config = random_clt(model, jump=kind == "clt_jumprelu", seed=1), {}
        first, bias = "W_enc_0.safetensors", "b_enc_0"
    else:
        files = random_layer_set(model, "topk", k=TOP_K, skip=kind.endswith("_skip"), seed=1)
        config, first, bias = {"activation": "topk", "k": TOP_K}, "layer_0.safetensors", "b_enc"
    files[first][bias][: model.cfg.n_layers] = -1e6  # see save_case: these never fire (nor are kept)
    return save_ct_layout(files, directory, **config)


def jobs(weights: dict[str, tuple[Path, Path]], tokens: list[int]) -> list[dict]:
    out = []
    for case, (model_dir, tc_dir) in weights.items():
        runs = [("float64", UNCAPPED), ("float32", UNCAPPED)]
        runs += [("float64", CAPPED)] if case in CAPPED_CASES else []
        for dtype, settings in runs:
            name = f"{case}-{dtype}" + ("-capped" if settings is CAPPED else "")
            out.append(job(name, case, model_dir, tc_dir, tokens, dtype, settings))
    model_dir, tc_dir = weights[TARGETS_CASE]
    for kind, targets in TARGETS.items():
        name = f"{TARGETS_CASE}-float64-{kind}"
        out.append(job(name, TARGETS_CASE, model_dir, tc_dir, tokens, "float64", UNCAPPED, targets))
    return out


def job(name, case, model_dir, tc_dir, tokens, dtype, settings, targets=()) -> dict:
    """One run's job for run_ct.py; `targets` (Target values) as circuit-tracer takes them."""
    spec = None
    if targets and all(t.kind == "token" for t in targets):
        spec = {"tokens": [t.tokens[0] for t in targets]}
    elif targets:
        model = load_model(model_dir)
        ids = lambda t: [model.tokenizer.encode(w, add_special_tokens=False)[0] for w in t.tokens]  # noqa: E731
        spec = {
            "custom": [
                {"label": t.label, "prob": t.weight}
                | ({"logit_diff": ids(t)} if t.kind == "diff" else {"vec": DIRECTION})
                for t in targets
            ]
        }
    return {
        "name": name,
        "case": case,
        "model": str(model_dir),
        "transcoders": str(tc_dir),
        "tokens": tokens,
        "dtype": dtype,
        "settings": {
            k: getattr(settings, k) for k in ("max_n_logits", "desired_logit_prob", "batch_size", "max_feature_nodes")
        }
        | {"update_interval": settings.update_interval},
        "thresholds": THRESHOLDS,
        "json": {
            "slug": f"ct-{name}",
            # The transcoder set's name here, so both graphs' latents are the same Features.
            "scan": str(tc_dir.resolve()),
            "node_threshold": settings.node_threshold,
            "edge_threshold": settings.edge_threshold,
        },
        "targets": spec,
    }


def settings_of(name: str) -> AttributionSettings:
    for kind, targets in TARGETS.items():
        if name.endswith(f"-{kind}"):
            return dataclasses.replace(UNCAPPED, targets=targets)
    return CAPPED if name.endswith("capped") else UNCAPPED


class Run:
    """One job: what circuit-tracer wrote, and the same graph computed here."""

    def __init__(self, job: dict, out: Path) -> None:
        self.job, self.dtype = job, job["dtype"]
        load = lambda name: np.load(out / f"{name}.npy")  # noqa: E731
        self.adjacency = load("adjacency").astype(np.float64)
        self.active, self.selected = load("active_features"), load("selected_features")
        self.activations = load("activation_values").astype(np.float64)
        self.input_tokens = load("input_tokens").tolist()
        self.probabilities = load("logit_probabilities").astype(np.float64)
        self.node_influence = load("node_influence").astype(np.float64)
        self.pruned = [
            tuple(load(f"prune_{i}_{part}") for part in ("nodes", "edges", "cumulative"))
            for i in range(len(THRESHOLDS))
        ]
        self.logit_tokens = json.loads((out / "logit_tokens.json").read_text())
        self.scores = json.loads((out / "scores.json").read_text())
        self.file = read_graph(out / f"{job['json']['slug']}.json")
        self.model = load_model(job["model"], dtype=self.dtype)
        self.transcoders = load_transcoders(job["transcoders"], self.model, dtype=self.dtype)
        self.settings = settings_of(job["name"])
        self.graph = attribute(self.model, self.transcoders, job["tokens"], self.settings)
        n_layers, n_pos = self.model.cfg.n_layers, len(self.input_tokens)
        # circuit-tracer's node order: selected latents, errors by layer then position, tokens,
        # logits; ids as circuitstore names them.
        self.ids = [f"{layer}_{feature}_{pos}" for layer, pos, feature in self.active[self.selected].tolist()]
        self.ids += [f"{layer}_-1_{pos}" for layer in range(n_layers) for pos in range(n_pos)]
        self.ids += [f"E_{token}_{pos}" for pos, token in enumerate(self.input_tokens)]
        self.ids += [f"{n_layers + 1}_{token}_{n_pos - 1}" for token in self.logit_tokens]

    def dense(self, graph: AttributionGraph) -> np.ndarray:
        """graph's weights over circuit-tracer's node order, A[target, source]."""
        at = {node_id: i for i, node_id in enumerate(self.ids)}
        where = np.array([at[n.id] for n in graph.nodes])
        a = np.zeros((len(self.ids), len(self.ids)))
        a[where[graph.targets], where[graph.sources]] = graph.weights
        return a


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Run]:
    python = circuit_tracer()
    base = tmp_path_factory.mktemp("circuit-tracer")
    weights = {case: save_case(base / case, case) for case in CASES}
    model = load_model(weights[CASES[0]][0])
    _, tokens = tokenize(model, PROMPT)
    todo = jobs(weights, tokens)
    (base / "jobs.json").write_text(json.dumps(todo))
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    done = subprocess.run(
        [str(python), str(RUN_CT), str(base / "jobs.json"), str(base / "out")],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return {job["name"]: Run(job, base / "out" / job["name"]) for job in todo}


def run_names() -> list[str]:
    names = [f"{case}-{dtype}" for case in CASES for dtype in ("float64", "float32")]
    names += [f"{TARGETS_CASE}-float64-{kind}" for kind in TARGETS]
    return names + [f"{case}-float64-capped" for case in CAPPED_CASES]


def close(ours, theirs, tol: float) -> bool:
    """Equal to `tol` of the largest value: rounding is relative to the terms summed, which are
    of the largest values' size."""
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    return ours.shape == theirs.shape and np.abs(ours - theirs).max(initial=0) <= tol * np.abs(theirs).max(initial=0)


def edge_differences(ours: np.ndarray, theirs: np.ndarray) -> tuple[float, float]:
    """(largest difference / largest edge, largest relative difference on edges above 1e-3 of
    the largest)."""
    largest = np.abs(theirs).max()
    big = np.abs(theirs) > 1e-3 * largest
    diff = np.abs(ours - theirs)
    return float(diff.max() / largest), float((diff[big] / np.abs(theirs[big])).max())


@pytest.mark.parametrize("name", run_names())
def test_the_unpruned_graph_is_circuit_tracers(runs, name):
    run = runs[name]
    g, tol = run.graph, VALUE_TOLERANCE[run.dtype]
    assert [n.token_id for n in g.nodes if n.kind == "token"] == run.input_tokens
    # The same nodes in the same order: latents (the same selection under a cap), errors,
    # tokens, logits.
    assert [n.id for n in g.nodes] == run.ids
    if run.settings is CAPPED:
        assert len(run.selected) == CAPPED.max_feature_nodes < len(run.active)
    assert close([n.activation for n in g.nodes if n.kind == "latent"], run.activations[run.selected], tol)
    logits = [n for n in g.nodes if n.kind == "logit"]
    # A custom target is no vocabulary token: circuit-tracer numbers it d_vocab + its place.
    d_vocab = run.model.cfg.d_vocab
    assert [n.token_id for n in logits] == [t if t < d_vocab else None for t in run.logit_tokens]
    assert close([n.probability for n in logits], run.probabilities, tol)
    of_largest, rel = edge_differences(run.dense(g), run.adjacency)
    bound = EDGE_TOLERANCE[run.dtype]
    assert of_largest <= bound["of_largest"]
    assert bound["rel"] is None or rel <= bound["rel"]
    print(f"{name}: edges differ by {of_largest:.1e} of the largest, {rel:.1e} relative above 1e-3 of it")

    assert close(raw_influence(g), run.node_influence, tol)
    assert graph_scores(g) == pytest.approx(run.scores, rel=tol)


@pytest.mark.parametrize("name", run_names())
def test_pruning_keeps_what_circuit_tracer_keeps(runs, name):
    run = runs[name]
    tol = VALUE_TOLERANCE[run.dtype]
    for (node_threshold, edge_threshold), (keep, edges, cumulative) in zip(THRESHOLDS, run.pruned):
        pruned = prune(run.graph, node_threshold, edge_threshold)
        where = f"{name} at {node_threshold}/{edge_threshold}"
        assert [n.id for n in pruned.nodes] == [i for i, k in zip(run.ids, keep) if k], where
        kept = edges & keep[:, None] & keep[None, :] & (run.adjacency != 0)
        expected = {(run.ids[s], run.ids[t]) for t, s in zip(*np.nonzero(kept))}
        assert {(s, t) for s, t, _ in pruned.edges()} == expected, where
        at = {node_id: i for i, node_id in enumerate(run.ids)}
        for node in pruned.nodes:
            if node.kind == "logit":
                assert node.influence is None
            else:
                assert node.influence == pytest.approx(float(cumulative[at[node.id]]), abs=tol), where


@pytest.mark.parametrize("name", run_names())
def test_circuit_tracers_json_reads_back_as_the_graph_computed_here(runs, name):
    run = runs[name]
    tol = VALUE_TOLERANCE[run.dtype]
    ours = compute_graph(run.model, run.transcoders, run.job["tokens"], run.settings)
    theirs = run.file
    assert theirs.meta.prompt == ours.meta.prompt and theirs.meta.prompt_tokens == ours.meta.prompt_tokens
    assert theirs.meta.transcoder_set == ours.meta.transcoder_set
    assert sorted(n.id for n in theirs.nodes) == sorted(n.id for n in ours.nodes)
    for mine in ours.nodes:
        other = theirs.node(mine.id)
        for field in ("kind", "position", "layer", "feature_index", "is_target", "text"):
            assert getattr(other, field) == getattr(mine, field), (mine.id, field)
        # A custom target has no token: circuit-tracer's file numbers it d_vocab + its place,
        # which reads back as a token id (the file does not tell them apart).
        assert other.token_id == (mine.token_id if mine.token_id is not None else mine.file_feature), mine.id
        for field in ("activation", "influence", "probability"):
            a, b = getattr(mine, field), getattr(other, field)
            assert (a is None) == (b is None) and (a is None or math.isclose(a, b, rel_tol=tol, abs_tol=tol)), (
                mine.id,
                field,
                a,
                b,
            )
    mine = {(s, t): w for s, t, w in ours.edges()}
    other = {(s, t): w for s, t, w in theirs.edges()}
    assert mine.keys() == other.keys()
    largest = max(map(abs, other.values()))
    assert max(abs(mine[k] - other[k]) for k in mine) <= EDGE_TOLERANCE[run.dtype]["of_largest"] * largest


# ---- the same query answers from both graphs ------------------------------------------------


def plain(value, graph_ids: dict[str, str]):
    """A query answer with graph ids replaced by their role, for comparing answers across
    graphs. Graph elements (nodes, relationships, from Browser-style queries) come in no order,
    so lists of them are sorted; a node's `feature_ref` and `js_id`, which keep what a file
    wrote for writing it back (Neuronpedia's feature number and jsNodeId), are left out."""
    if isinstance(value, str):
        return graph_ids.get(value, value)
    if isinstance(value, dict):
        drop = ("feature_ref", "js_id") if "_labels" in value else ()
        return {k: plain(v, graph_ids) for k, v in value.items() if k not in drop}
    if isinstance(value, list):
        items = [plain(v, graph_ids) for v in value]
        if items and all(isinstance(v, dict) and ("_labels" in v or "_type" in v) for v in items):
            items.sort(key=lambda v: (v.get("node_id", ""), v.get("source", ""), v.get("target", "")))
        return items
    return value


def same(a, b, rel: float = 1e-6) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return (
            isinstance(a, (int, float))
            and isinstance(b, (int, float))
            and math.isclose(a, b, rel_tol=rel, abs_tol=1e-12)
        )
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k], rel) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y, rel) for x, y in zip(a, b))
    return a == b


@pytest.mark.parametrize("case", ["gpt2-jumprelu_skip", "gemma-relu_skip"])
def test_queries_answer_the_same_on_both_graphs(store, runs, case):
    """The Dallas prompt computed here and circuit-tracer's graph of it, imported from its JSON."""
    run = runs[f"{case}-float64"]
    ours = compute_graph(run.model, run.transcoders, run.job["tokens"], run.settings)
    theirs = run.file
    for g in (ours, theirs):
        store_graph(store, g)
    roles = {ours.meta.id: "graph", theirs.meta.id: "graph"}
    target = next(n for n in ours.nodes if n.kind == "logit" and n.is_target)
    latent = max((n for n in ours.nodes if n.kind == "latent"), key=lambda n: n.activation)
    token = next(n for n in ours.nodes if n.kind == "token" and n.text == " dallas")
    feature = f"{ours.meta.transcoder_set}/{latent.layer}/{latent.feature_index}"

    def answers(name: str, **params) -> list:
        return [plain(run_query(store, name, graph=g.meta.id, **params), roles) for g in (ours, theirs)]

    single = {
        "paths": {"source": " dallas", "k": 5},
        "top-inputs": {"node": target.id},
        "top-outputs": {"node": token.id},
        "logit-drivers": {"k": 10},
        "neighbourhood": {"node": latent.id, "depth": 2},
        "supernode-graph": {"influence": 0.5},
    }
    for name, params in single.items():
        mine, other = answers(name, **params)
        assert mine, name
        assert same(mine, other), name
    # Two-graph queries, one graph against the other: every latent shared, with equal values.
    shared = run_query(store, "shared-features", graphs=[ours.meta.id, theirs.meta.id], k=1000)
    assert len(shared) == len({(n.layer, n.feature_index) for n in ours.nodes if n.kind == "latent"})
    assert all(same(r["influences"][0], r["influences"][1]) for r in shared)
    assert all(same(r["activations"][0], r["activations"][1]) for r in shared)
    diff = run_query(store, "diff", graphs=[ours.meta.id, theirs.meta.id], k=1000)
    assert {r["section"] for r in diff} <= {"changed", "edge"}
    assert all(abs(r["change"]) <= 1e-9 * max(1.0, abs(r["a"])) for r in diff)
    rows = run_query(store, "feature", feature=feature, k=5)
    by_graph = {r["graph"]: plain(r, roles) for r in rows}
    assert len(by_graph) == 2 and same(by_graph[ours.meta.id], by_graph[theirs.meta.id])
