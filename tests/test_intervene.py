"""Interventions on tiny models (the planted-circuit model's are in test_planted.py): the graph's
prediction against an independent linear solve, the frozen model's measured change against the
prediction, and `circuitstore intervene` storing, replacing, listing and deleting its results,
refusing bad requests in one line."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from circuitstore.cli import main
from circuitstore.compute import AttributionSettings, SaeLensTranscoders, attribute, load_model, load_transcoders
from circuitstore.compute.intervene import intervene
from circuitstore.formats import read_graph
from circuitstore.graph import AttributionGraph, Supernode
from circuitstore.interventions import Rule, plan
from circuitstore.prediction import propagate
from circuitstore.queries import run_query
from circuitstore.store import delete_graph, store_graph
from tests.clirun import assert_one_line_error
from tests.data import GRAPHS_DIR
from tests.database import value
from tests.synthetic import gemma_style, gpt2_style, save_tiny

# (architecture, transcoder kind, hook the transcoders read), as in test_compute_attribution.py.
CASES = {
    "gpt2-relu": (gpt2_style(n_layers=2), "relu", "ln2.hook_normalized"),
    "gemma-jumprelu-skip": (gemma_style(n_layers=3), "jumprelu_skip", "hook_mlp_in"),
}
TOKENS = [1, 7, 30, 4, 19, 11, 2]
OTHER_TOKENS = [1, 9, 30, 4, 22, 11, 2]
EVERYTHING = AttributionSettings(max_feature_nodes=None)


@pytest.fixture(scope="module", params=list(CASES))
def case(request):
    return CASES[request.param]


@pytest.fixture(scope="module")
def tiny(case, tmp_path_factory):
    model_dir, tc_dir = save_tiny(tmp_path_factory.mktemp("tiny"), *case)
    model = load_model(model_dir)
    return model, load_transcoders(tc_dir, model)


@pytest.fixture(scope="module")
def unpruned(tiny):
    return attribute(*tiny, TOKENS, EVERYTHING)


def chain(graph: AttributionGraph) -> list[str]:
    """Three latents to intervene on: the two ends of the strongest latent-to-latent edge (so one
    edit acts on another's input) and the latent with the strongest edge into the target logit."""
    latent = {i for i, n in enumerate(graph.nodes) if n.kind == "latent"}
    target = next(i for i, n in enumerate(graph.nodes) if n.kind == "logit" and n.is_target)
    edges = list(zip(np.abs(graph.weights), graph.sources, graph.targets))
    _, s, t = max(e for e in edges if {e[1], e[2]} <= latent)
    _, top, _ = max(e for e in edges if e[1] in latent and e[2] == target)
    return list(dict.fromkeys(graph.nodes[i].id for i in (s, t, top)))


def solved(graph: AttributionGraph, rules: dict[int, Rule]) -> np.ndarray:
    """The logit nodes' changes under `rules`, from one dense linear solve: with W[t, s] = w(s ->
    t) / a_s over latents, every latent's change d satisfies d = D (W d) + c, where D is 1 for a
    free latent, the scale for a scaled one and 0 for one set to a value, and c its own change
    ((scale - 1) a, or value - a)."""
    lat = [i for i, n in enumerate(graph.nodes) if n.kind == "latent"]
    logits = [i for i, n in enumerate(graph.nodes) if n.kind == "logit"]
    at = {i: k for k, i in enumerate(lat)}
    act = np.array([graph.nodes[i].activation for i in lat])
    w = np.zeros((len(lat), len(lat)))
    out = np.zeros((len(logits), len(lat)))
    row = {i: k for k, i in enumerate(logits)}
    for s, t, weight in zip(graph.sources, graph.targets, graph.weights):
        if s in at and t in at:
            w[at[t], at[s]] = weight / act[at[s]]
        elif s in at and t in row:
            out[row[t], at[s]] = weight / act[at[s]]
    d, c = np.ones(len(lat)), np.zeros(len(lat))
    for i, rule in rules.items():
        k = at[i]
        d[k] = 0.0 if rule.value is not None else rule.scale
        c[k] = rule.applied(act[k]) - act[k]
    change = np.linalg.solve(np.eye(len(lat)) - d[:, None] * w, c)
    return out @ change


def test_the_prediction_is_the_graphs_linear_model(unpruned):
    graph = unpruned
    picked = [graph.index_of(i) for i in chain(graph)]
    logits = [i for i, n in enumerate(graph.nodes) if n.kind == "logit"]
    for rules in (
        {picked[0]: Rule(0.0)},
        dict.fromkeys(picked, Rule(0.0)),
        dict.fromkeys(picked, Rule(-2.0)),
        {picked[0]: Rule(0.5), picked[1]: Rule(value=3.0), picked[2]: Rule(1.5)},
    ):
        expected = solved(graph, rules)
        assert np.allclose(propagate(graph, rules)[logits], expected, rtol=1e-9, atol=1e-12 * np.abs(expected).max())


def test_frozen_changes_match_the_prediction_to_first_order(tiny, unpruned):
    """With attention patterns, norm scales and errors frozen, the model is the graph's linear
    model until a latent crosses its threshold. The prediction is that model's exact response,
    not its first-order expansion (which would miss terms of order (scale - 1)^2 where an edit
    acts on another edit's input), so on an unpruned graph, for changes of 1-5% (too small to push
    any latent of these graphs across a threshold), measured and predicted changes differ only
    by float32 rounding of the two runs: below 5e-7 of the logits' size here; we allow 2e-6."""
    model, tcs = tiny
    graph = unpruned
    names = chain(graph)
    for scale in (0.99, 1.01, 0.95):
        result = intervene(plan(graph, names, scale=scale, frozen=True), model, tcs)
        measured = np.array([c.measured for c in result.logits])
        predicted = np.array([c.predicted for c in result.logits])
        tol = 2e-6 * (1 + max(abs(c.before) for c in result.logits))
        assert np.abs(measured - predicted).max() <= tol, (scale, measured, predicted)
        assert np.abs(measured).max() > 20 * tol  # the edits do move the logits


def test_free_changes_are_the_real_models(tiny, unpruned):
    """Free, the intervention is the real model with decoder rows added at the latents' positions:
    checked against hooks written here from SAELens' own encode and decode."""
    import torch

    model, tcs = tiny
    graph = unpruned
    names = chain(graph)
    scale = 0.25
    result = intervene(plan(graph, names, scale=scale), model, tcs)
    nodes = [graph.node(i) for i in names]

    def edit(layer: int):
        def hook(out, hook):
            out = out.clone()
            for n in nodes:
                if n.layer == layer:
                    tc = tcs.transcoders[layer]
                    a = tc.encode(reads[layer][0, n.position])[n.feature_index]
                    out[0, n.position] += (scale - 1) * a * tc.W_dec[n.feature_index]
            return out

        return hook

    reads = {}

    def read(layer: int):
        def hook(x, hook):
            reads[layer] = x

        return hook

    hooks = [(tcs.hooks_in[layer], read(layer)) for layer in range(tcs.n_layers)]
    hooks += [(tcs.hooks_out[layer], edit(layer)) for layer in range(tcs.n_layers)]
    with torch.no_grad():
        clean = model(torch.tensor([TOKENS]))[0, -1]
        edited = model.run_with_hooks(torch.tensor([TOKENS]), fwd_hooks=hooks)[0, -1]
    for c in result.logits:
        expected = float((edited[c.token_id] - edited.mean()) - (clean[c.token_id] - clean.mean()))
        assert c.measured == pytest.approx(expected, abs=1e-5 * (1 + abs(c.before)))
    assert [t.token_id for t in result.top_after] == edited.topk(len(result.top_after)).indices.tolist()


# ---- the command, the store and the query ------------------------------------------------


@pytest.fixture
def stored(store, tiny, unpruned):
    """Two graphs of the tiny model (each with a supernode of its chain) in an empty database."""
    graphs = []
    for g in (unpruned, attribute(*tiny, OTHER_TOKENS, EVERYTHING)):
        g = AttributionGraph(g.meta, g.nodes, g.sources, g.targets, g.weights, [Supernode("chain", chain(g))])
        store_graph(store, g)
        graphs.append(g)
    return store, graphs


def interventions(driver) -> int:
    return value(driver, "MATCH (i:Intervention) RETURN count(i)")


def test_results_are_stored_replaced_listed_and_deleted_with_their_graphs(stored, neo4j_target):
    driver, (g1, g2) = stored
    run = CliRunner()
    ablate = ["intervene", g1.meta.id, "--ablate", "chain", "--scale", "0.5"]
    first = run.invoke(main, ablate, env=neo4j_target, catch_exceptions=False)
    assert first.exit_code == 0, first.output
    again = run.invoke(main, ablate, env=neo4j_target, catch_exceptions=False)
    assert again.exit_code == 0 and again.stdout == first.stdout  # the same request ...
    assert interventions(driver) == 1  # ... replaces its result
    shown = run.invoke(main, [*ablate, "--no-store", "--json"], env=neo4j_target, catch_exceptions=False)
    shown = json.loads(shown.stdout)
    assert interventions(driver) == 1 and not shown["stored"]
    kept, _, _ = driver.execute_query(
        "MATCH (i:Intervention {id: $id})-[c:CHANGED]->(o) RETURN o.node_id AS node, c.measured AS measured",
        id=shown["id"],
    )
    assert {r["node"]: r["measured"] for r in kept} == {c["node_id"]: c["measured"] for c in shown["logits"]}
    late = chain(g2)[-1]
    swap = ["intervene", g1.meta.id, "--ablate", chain(g1)[0], "--swap-from", g2.meta.id, "--swap", late, "--free"]
    assert run.invoke(main, swap, env=neo4j_target, catch_exceptions=False).exit_code == 0
    frozen = ["intervene", g2.meta.id, "--ablate", "chain", "--scale", "0.9", "--frozen-attention"]
    assert run.invoke(main, frozen, env=neo4j_target, catch_exceptions=False).exit_code == 0

    # Read back: each intervention's changes, and what the query makes of them.
    records, _, _ = driver.execute_query(
        "MATCH (g:Graph)<-[:ON]-(i:Intervention)-[c:CHANGED]->(o:Logit) "
        "RETURN g.id AS graph, i.id AS id, collect([c.measured, c.predicted, o.graph_id]) AS changes"
    )
    errors = {}
    for r in records:
        m, p = np.array([x[0] for x in r["changes"]]), np.array([x[1] for x in r["changes"]])
        errors[r["id"]] = (r["graph"], float(np.abs(m - p).sum() / np.abs(m).sum()))
        own = {n.id for n in (g1 if r["graph"] == g1.meta.id else g2).nodes if n.kind == "logit"}
        assert len(r["changes"]) >= len(own)
    rows = run_query(driver, "interventions")
    assert {r["intervention"]: r["graph"] for r in rows} == {i: g for i, (g, _) in errors.items()}
    assert {r["intervention"]: r["relative_error"] for r in rows} == pytest.approx(
        {i: e for i, (_, e) in errors.items()}
    )
    by_graph = {g: np.mean([e for gg, e in errors.values() if gg == g]) for g in (g1.meta.id, g2.meta.id)}
    assert [r["graph"] for r in rows] == sorted(
        (r["graph"] for r in rows), key=lambda g: (by_graph[g], g)
    )  # graphs ranked by their mean error
    assert {r["graph"]: r["graph_error"] for r in rows} == pytest.approx(by_graph)
    assert [r["mode"] for r in run_query(driver, "interventions", mode="frozen")] == ["frozen"]
    targets, _, _ = driver.execute_query(
        "MATCH (i:Intervention)-[t:TARGETS]->(x) RETURN i.kind AS kind, t.role AS role, labels(x) AS labels, "
        "x.graph_id AS graph ORDER BY kind, role"
    )
    assert sorted((r["kind"], r["role"], "Supernode" in r["labels"], r["graph"]) for r in targets) == sorted(
        [
            ("ablation", "ablate", True, g1.meta.id),
            ("ablation", "ablate", True, g2.meta.id),
            ("swap", "ablate", False, g1.meta.id),
            ("swap", "swap_in", False, g2.meta.id),
        ]
    )

    # Deleting the swap's source graph takes its own intervention and the swap; then the rest.
    delete_graph(driver, g2.meta.id)
    assert value(driver, "MATCH (i:Intervention) RETURN collect(i.kind)") == ["ablation"]
    delete_graph(driver, g1.meta.id)
    assert interventions(driver) == 0


def test_bad_requests_fail_in_one_line_and_store_nothing(stored, neo4j_target, tiny, case, tmp_path):
    driver, (g1, g2) = stored
    gid = g1.meta.id
    imported = read_graph(GRAPHS_DIR / "gemma-2-2b-clt" / "dallas-austin.json")
    store_graph(driver, imported)
    model, tcs = tiny
    # A graph computed with transcoders built in Python records no spec to load them again.
    loose = attribute(model, SaeLensTranscoders.from_saes("loose", tcs.transcoders, model), OTHER_TOKENS[:4])
    store_graph(driver, loose)
    other_model, other_tcs = save_tiny(tmp_path, *case, seed=7)  # the same shapes, other weights
    latent = chain(g1)[0]
    cases = [
        ([gid, "--ablate", "nope"], f"graph {gid!r} has no node or supernode 'nope'", "chain"),
        ([gid, "--ablate", "Texas"], "no node or supernode 'Texas'"),
        ([gid, "--ablate", next(n.id for n in g1.nodes if n.kind == "token")], "only latents"),
        ([gid, "--ablate", latent, "--scale", "11"], "--scale must lie in [-10, 10], got 11"),
        ([gid, "--ablate", latent, "--scale", "nan"], "--scale must lie"),
        ([gid, "--ablate", latent, "--scale", "1"], "--scale 1 changes nothing"),
        ([gid], "nothing to intervene on"),
        ([gid, "--swap", latent], "--swap-from GRAPH2 and --swap NODES2 go together"),
        ([gid, "--ablate", latent, "--generate", "2", "--frozen-attention"], "--generate needs --free"),
        ([gid, "--ablate", latent, "--generate", "100"], "the model's context leaves room for 5 tokens"),
        ([gid, "--ablate", latent, "--swap-from", imported.meta.id, "--swap", "x"], "is of model 'gemma-2-2b'"),
        (["nograph", "--ablate", latent], "no graph 'nograph' is stored"),
        (
            [imported.meta.id, "--ablate", next(n.id for n in imported.nodes if n.kind == "latent")],
            "model 'gemma-2-2b'",
            "records no model and transcoders to load",
            "give --model and --transcoders",
        ),
        ([loose.meta.id, "--ablate", "x"], "no node or supernode 'x'"),
        (
            [loose.meta.id, "--ablate", next(n.id for n in loose.nodes if n.kind == "latent")],
            "records no transcoders to load",
        ),
        (
            [gid, "--ablate", latent, "--model", str(other_model), "--transcoders", str(other_tcs)],
            f"the model loaded does not reproduce graph {gid!r}",
        ),
        ([gid, "--ablate", latent, "--model", str(tmp_path / "gone")], "cannot load its model", "unknown model"),
    ]
    for args, *fragments in cases:
        result = CliRunner().invoke(main, ["intervene", *args], env=neo4j_target)
        assert_one_line_error(result, *fragments)
        assert interventions(driver) == 0, args
