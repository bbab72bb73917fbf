"""The planted-circuit model (compute/planted.py): a graph computed from it must find the circuit
that was built into it.

planted.json is the ground truth: which latent is which concept, and where each one fires. Its
claims are first checked against the real model (tokens, answers, active latents), then every
question is asked the way a user asks it: `circuitstore demo-model` writes the model, `circuitstore
ingest --model planted` computes and stores the graphs of the planted prompts in the real test
Neo4j (beside an imported graph of another model), and the query library answers. Expected
answers come from planted.json alone; switching features off happens in the real model's
forward pass (a hook on its MLP neurons), never in the graph.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from circuitstore.cli import main
from circuitstore.compute import AttributionSettings, attribute, load_model, load_transcoders
from circuitstore.compute.planted import CIRCUIT, Built, build
from circuitstore.formats import read_graph
from circuitstore.graph import AttributionGraph, Supernode
from circuitstore.interventions import Rule
from circuitstore.prediction import propagate
from circuitstore.queries import run_query
from circuitstore.store import load_graph, store_graph
from tests.data import GRAPHS_DIR
from tests.database import wipe

REPO = Path(__file__).resolve().parents[1]
# An imported graph of another model that also answers " Austin", stored beside the planted ones.
IMPORTED_DALLAS = GRAPHS_DIR / "gemma-2-2b-clt" / "dallas-austin.json"
# Prompts the planted mechanism must not answer: a city the model does not know (" Houston" is
# no token of its vocabulary) and a question that never asks for a capital.
CONTROLS = {
    "unknown city": "Fact: the capital of the state containing Houston is",
    "no capital asked": "Fact: the state containing Dallas is",
}


def digest(directory: Path) -> dict[str, str]:
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    """The user cache directory `--model planted` builds into (XDG_CACHE_HOME for platformdirs)."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Built:
    directory = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(main, ["demo-model", str(directory)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return Built.at(directory)


@pytest.fixture(scope="module")
def truth(built) -> dict:
    return json.loads(built.planted.read_text())


@pytest.fixture(scope="module")
def loaded(built):
    model = load_model(built.model)
    return model, load_transcoders(built.transcoders, model)


@pytest.fixture(scope="module")
def unpruned(loaded, truth):
    """The unpruned graph of every planted prompt, by prompt."""
    model, tcs = loaded
    return {pr["prompt"]: attribute(model, tcs, pr["prompt"], AttributionSettings()) for pr in truth["prompts"]}


@pytest.fixture(scope="module")
def stored(neo4j_driver, neo4j_target, built, cache, truth):
    """The test database holding an imported Dallas graph (Gemma 2 2B) and the graphs `ingest --model
    planted` computed for prompts.txt; returns the driver and the graph id of each prompt."""
    wipe(neo4j_driver)
    store_graph(neo4j_driver, read_graph(IMPORTED_DALLAS))
    result = CliRunner().invoke(
        main,
        ["ingest", "--model", "planted", "--prompts", str(built.prompts)],
        env={**neo4j_target, "XDG_CACHE_HOME": str(cache)},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    records, _, _ = neo4j_driver.execute_query(
        "MATCH (g:Graph {model: $model}) RETURN g.prompt AS prompt, g.id AS id", model=truth["model"]
    )
    return neo4j_driver, {r["prompt"]: r["id"] for r in records}


def feature_id(truth: dict, layer: int, feature: int) -> str:
    return f"{truth['transcoder_set']}/{layer}/{feature}"


def circuit(pr: dict) -> set[tuple[int, int, int]]:
    """(layer, feature, position) of every circuit latent that fires on a planted prompt."""
    return {tuple(x) for role in CIRCUIT for x in pr["active"].get(role, [])}


def role_of(truth: dict) -> dict[tuple[int, int], str]:
    return {(f["layer"], f["feature"]): f["role"] for f in truth["features"]}


def answer_logit(logits: torch.Tensor, token: int) -> float:
    """The answer's logit minus the mean logit: what a graph's logit node stands for."""
    return float(logits[token] - logits.mean())


# ---- the build and planted.json -----------------------------------------------------------


def test_builds_are_byte_identical_and_graphs_name_the_planted_version(built, truth, stored, cache, tmp_path):
    again = build(tmp_path / "again")
    assert digest(tmp_path / "again") == digest(built.model.parent)
    # What ingest built in the cache (its graphs record the name and version) is the same model.
    assert digest(cache / "circuitstore" / "models" / truth["model"]) == digest(built.model.parent)
    assert again.prompts.read_text().splitlines() == [pr["prompt"] for pr in truth["prompts"]]
    driver, ids = stored
    assert sorted(ids) == sorted(pr["prompt"] for pr in truth["prompts"])
    for gid in ids.values():
        meta = load_graph(driver, gid).meta
        assert (meta.model, meta.transcoder_set) == (truth["model"], truth["transcoder_set"])
        # What loads them again, wherever the cache is: the specs `ingest --model planted` was given.
        assert (meta.generation["model_spec"], meta.generation["transcoders_spec"]) == ("planted", "planted")
    assert truth["model"].endswith(f"-v{truth['version']}") and truth["transcoder_set"].startswith(truth["model"])


def test_a_second_build_replaces_the_first(built, tmp_path):
    stale = tmp_path / "transcoders" / "layer_7"
    stale.mkdir(parents=True)
    (stale / "cfg.json").write_text("{}")
    (tmp_path / "notes.txt").write_text("mine")
    build(tmp_path)
    assert digest(tmp_path) == {**digest(built.model.parent), "notes.txt": digest(tmp_path)["notes.txt"]}
    assert not list(tmp_path.glob(".planted-*"))


def test_demo_model_says_in_one_line_where_it_cannot_write(tmp_path):
    (tmp_path / "file").write_text("")
    target = tmp_path / "file" / "planted"
    result = CliRunner().invoke(main, ["demo-model", str(target)])
    assert result.exit_code == 1
    assert result.stderr == f"error: cannot write the planted model to {str(target)!r}: Not a directory\n"


def test_planted_json_says_what_the_real_model_does(loaded, truth):
    """Tokens, answers and active latents as planted.json claims; errors small but not zero."""
    model, tcs = loaded
    err2, out2 = np.zeros(2), np.zeros(2)
    for pr in truth["prompts"]:
        tokens = model.to_tokens(pr["prompt"])
        assert tokens[0].tolist() == pr["tokens"]
        assert model.to_str_tokens(pr["prompt"]) == pr["token_texts"]
        with torch.no_grad():
            logits, cache = model.run_with_cache(tokens)
        last = logits[0, -1]
        others = torch.cat([last[: pr["answer_token"]], last[pr["answer_token"] + 1 :]])
        assert int(last.argmax()) == pr["answer_token"] and model.tokenizer.decode(pr["answer_token"]) == pr["answer"]
        assert float(last[pr["answer_token"]] - others.max()) > 3  # a clear margin: p > 0.9
        for layer, tc in enumerate(tcs.transcoders):
            with torch.no_grad():
                acts = tc.encode(cache[f"blocks.{layer}.ln2.hook_normalized"][0])
                out = cache[f"blocks.{layer}.hook_mlp_out"][0]
                err = out - tc.decode(acts)
            fired = {(layer, int(f), int(p)) for p, f in acts.nonzero().tolist()}
            claimed = {tuple(x) for xs in pr["active"].values() for x in xs if x[0] == layer}
            assert fired == claimed
            assert not acts[0].any() and not err[0].any()  # position 0 holds nothing to attribute
            err2[layer] += float((err**2).sum())
            out2[layer] += float((out**2).sum())
    relative = np.sqrt(err2 / out2)
    assert ((relative > 0.05) & (relative < 0.3)).all(), relative


# ---- the questions, asked of the stored graphs ------------------------------------------------


def test_the_top_path_from_the_city_runs_through_the_planted_features(stored, truth):
    driver, ids = stored
    for pr in truth["prompts"]:
        gid, pos = ids[pr["prompt"]], pr["positions"]
        nodes = {n.id: n for n in load_graph(driver, gid).nodes}
        rows = run_query(driver, "paths", graph=gid, source=f" {pr['city']}", target=pr["answer"], k=5)
        states = {tuple(x) for x in truth["supernodes"][pr["state"]]}
        says = {tuple(x) for x in truth["supernodes"][f"say {pr['capital']}"]}
        # Every path from the city runs city -> a state feature there -> a say feature at the
        # last token -> the answer: 2 x 2 of them, the top one first.
        assert len(rows) == len(states) * len(says)
        for row in rows:
            token, state, say, logit = (nodes[i] for i in row["node_ids"])
            assert (token.kind, token.position, token.token_id) == ("token", pos["city"], pr["tokens"][pos["city"]])
            assert state.kind == "latent" and (state.layer, state.feature_index) in states
            assert state.position == pos["city"]
            assert say.kind == "latent" and (say.layer, say.feature_index) in says and say.position == pos["last"]
            assert logit.kind == "logit" and logit.token_id == pr["answer_token"]
        paths = {tuple((nodes[i].layer, nodes[i].feature_index) for i in row["node_ids"][1:3]) for row in rows}
        assert paths == {(s, t) for s in states for t in says}


def test_pruning_keeps_the_planted_features_and_drops_the_rest(stored, unpruned, truth):
    driver, ids = stored
    for pr in truth["prompts"]:
        everything = {tuple(x) for xs in pr["active"].values() for x in xs}
        before = {(n.layer, n.feature_index, n.position) for n in unpruned[pr["prompt"]].nodes if n.kind == "latent"}
        after = {
            (n.layer, n.feature_index, n.position)
            for n in load_graph(driver, ids[pr["prompt"]]).nodes
            if n.kind == "latent"
        }
        assert before == everything  # the distractors and context features were there to drop
        assert after == circuit(pr)


def test_recurrence_ranks_the_planted_shared_features_first(stored, truth):
    driver, ids = stored
    supernodes = truth["supernodes"]
    for capital in sorted({pr["capital"] for pr in truth["prompts"]}):
        prompts = [pr for pr in truth["prompts"] if pr["capital"] == capital]
        state = prompts[0]["state"]
        # Every circuit path of a planted graph: (state or capital) feature -> say feature.
        n_paths = (len(supernodes[state]) + len(supernodes["capital"])) * len(supernodes[f"say {capital}"])
        shared = set.intersection(*({(x[0], x[1]) for x in circuit(pr)} for pr in prompts))
        rows = run_query(
            driver, "recurrence", target=f" {capital}", model=truth["model"], paths=n_paths, max_length=6, k=50
        )
        top = rows[: len(shared)]
        assert {r["feature"] for r in top} == {feature_id(truth, *f) for f in shared}
        assert all(sorted(r["graphs"]) == sorted(ids[pr["prompt"]] for pr in prompts) for r in top)
        assert all(r["n_graphs"] < len(prompts) for r in rows[len(shared) :])
    # Without the model filter the imported Gemma graph, which also answers " Austin", counts too.
    everyone = run_query(driver, "recurrence", target=" Austin", paths=n_paths, k=1000)
    assert any(not r["feature"].startswith(f"{truth['transcoder_set']}/") for r in everyone)


def test_shared_features_of_dallas_and_oakland_are_the_planted_shared_ones(stored, truth):
    driver, ids = stored
    for template in sorted({pr["template"] for pr in truth["prompts"]}):
        dallas, oakland = (
            next(pr for pr in truth["prompts"] if pr["template"] == template and pr["city"] == city)
            for city in ("Dallas", "Oakland")
        )
        rows = run_query(driver, "shared-features", graphs=[ids[dallas["prompt"]], ids[oakland["prompt"]]], k=1000)
        positions = [{}, {}]
        for i, pr in enumerate((dallas, oakland)):
            for layer, feature, position in circuit(pr):
                positions[i].setdefault(feature_id(truth, layer, feature), []).append(position)
        shared = positions[0].keys() & positions[1].keys()
        assert shared and {r["feature"] for r in rows} == shared
        for r in rows:
            assert [sorted(p) for p in r["positions"]] == [sorted(positions[i][r["feature"]]) for i in (0, 1)]


# ---- the real model ---------------------------------------------------------------------------


def neuron_hooks(changes: dict[tuple[int, int, int], float | None], scale: float = 0.0) -> list:
    """Hooks on the real model's MLP neurons that latents mirror (a latent's index is its
    neuron's, see planted.json), by (layer, feature, position): each set to its value, or, where
    the value is None, multiplied by `scale`."""

    def hook(layer: int):
        def change(post: torch.Tensor, hook) -> torch.Tensor:
            post = post.clone()
            for (lay, neuron, position), value in changes.items():
                if lay == layer:
                    post[0, position, neuron] = post[0, position, neuron] * scale if value is None else value
            return post

        return change

    return [(f"blocks.{layer}.mlp.hook_post", hook(layer)) for layer in {x[0] for x in changes}]


def switched_off(model, tokens: torch.Tensor, latents: list[list[int]], scale: float) -> torch.Tensor:
    """The last position's logits with the MLP neurons that `latents` mirror scaled down by
    `scale` at their positions, in the real model."""
    with torch.no_grad():
        return model.run_with_hooks(tokens, fwd_hooks=neuron_hooks(dict.fromkeys(map(tuple, latents)), 1 - scale))[
            0, -1
        ]


def graph_predicts(graph, latents: list[list[int]], scale: float) -> float:
    """The change of the target logit the graph's edges predict when each of `latents` loses
    `scale` of its activation (circuitstore.prediction, checked against a linear solve in
    test_intervene.py)."""
    index = {(n.layer, n.feature_index, n.position): i for i, n in enumerate(graph.nodes) if n.kind == "latent"}
    target = next(i for i, n in enumerate(graph.nodes) if n.kind == "logit" and n.is_target)
    return float(propagate(graph, {index[tuple(x)]: Rule(1 - scale) for x in latents})[target])


def test_switching_off_the_state_features_moves_the_answer_as_the_graph_predicts(loaded, unpruned, truth):
    model, _ = loaded
    for pr in truth["prompts"]:
        tokens = torch.tensor([pr["tokens"]])
        with torch.no_grad():
            base = answer_logit(model(tokens)[0, -1], pr["answer_token"])
        graph = unpruned[pr["prompt"]]
        for latents in (pr["active"]["state"][:1], pr["active"]["state"], pr["active"]["capital"]):
            for scale in (1.0, 0.1):
                real = answer_logit(switched_off(model, tokens, latents, scale), pr["answer_token"]) - base
                predicted = graph_predicts(graph, latents, scale)
                # The graph freezes the norm scales. In the real model the final RMSNorm grows
                # back as the answer's direction, a large share of the last residual, shrinks:
                # to first order that damps the change by about a tenth (scale 0.1 shows it);
                # a whole feature switched off also brings the say features nearer their
                # threshold. So the real change has the graph's sign and 70-105% of its size.
                assert predicted < -0.1 * scale
                assert 0.7 < real / predicted < 1.05, (pr["prompt"], latents, scale, real, predicted)
        # Distractors write directions nothing reads: the graph predicts no change at all, and
        # the real model moves only through the norm scales.
        distractors = pr["active"]["distractor"]
        assert graph_predicts(graph, distractors, 1.0) == 0.0
        real = answer_logit(switched_off(model, tokens, distractors, 1.0), pr["answer_token"]) - base
        assert abs(real) < 0.05 * abs(graph_predicts(graph, pr["active"]["state"], 1.0))


@pytest.mark.parametrize("control", CONTROLS)
def test_the_circuit_stays_off_where_the_planted_facts_do_not_apply(loaded, truth, control):
    model, tcs = loaded
    role = role_of(truth)
    prompt = CONTROLS[control]
    graph = attribute(model, tcs, prompt, AttributionSettings())
    roles = {role[(n.layer, n.feature_index)] for n in graph.nodes if n.kind == "latent"}
    assert "say" not in roles and ("state" in roles) == (control == "no capital asked")
    with torch.no_grad():
        probs = model(prompt)[0, -1].softmax(-1)
    capitals = [pr["answer_token"] for pr in truth["prompts"]]
    assert float(probs[capitals].max()) < 0.1


# ---- the tutorial ---------------------------------------------------------------------------------


def test_the_doc_and_the_demo_name_the_latents_and_the_model_as_built(truth):
    doc = (REPO / "docs" / "planted-circuit.md").read_text()
    node = {f["name"]: f"L{f['layer']}/{f['feature']}" for f in truth["features"]}
    rows = re.findall(r"^\| ([^|]+?) \| (L\d+/\d+(?:, L\d+/\d+)*) \|", doc, re.M)
    inline = re.findall(r"(L\d+/\d+)@\d+ \(([^()]+ \([ab]\))\)", doc)
    assert len(rows) >= 8 and len(inline) == 2
    for names, nodes in rows:
        assert [node[name] for name in names.split(", ")] == nodes.split(", ")
    assert all(node[name] == at for at, name in inline)
    assert f"model={truth['model']}" in doc and f"{truth['transcoder_set']}/" in doc
    assert f"PLANTED_MODEL := {truth['model']}\n" in (REPO / "Makefile").read_text()
    # The state features the demo's intervention swaps: Texas's on the Dallas prompt, California's
    # on Oakland's (first template), as node ids.
    makefile = (REPO / "Makefile").read_text()
    for city, state, option in (("Dallas", "Texas", "--ablate"), ("Oakland", "California", "--swap")):
        pr = first_template(truth, city)
        ids = [f"{lay}_{f}_{pos}" for lay, f, pos in pr["active"]["state"]]
        assert sorted(ids) == sorted(f"{x[0]}_{x[1]}_{pr['positions']['city']}" for x in truth["supernodes"][state])
        assert all(f"{option} {i}" in makefile and f"{option} {i}" in doc for i in ids)


# ---- interventions: `circuitstore intervene` on the stored graphs ---------------------------


def first_template(truth: dict, city: str) -> dict:
    return next(pr for pr in truth["prompts"] if pr["city"] == city and pr["template"] == 0)


@pytest.fixture(scope="module")
def grouped(stored, truth):
    """The stored Dallas and Oakland graphs of the first template, stored again with planted.json's
    supernodes (Texas, California, capital, say Austin, ...) over their latents; by city."""
    driver, ids = stored
    graphs = {}
    for city in ("Dallas", "Oakland"):
        g = load_graph(driver, ids[first_template(truth, city)["prompt"]])
        members = {
            name: tuple(n.id for n in g.nodes if n.kind == "latent" and [n.layer, n.feature_index] in features)
            for name, features in truth["supernodes"].items()
        }
        supernodes = [Supernode(name, nodes) for name, nodes in members.items() if nodes]
        graphs[city] = AttributionGraph(g.meta, g.nodes, g.sources, g.targets, g.weights, supernodes)
        assert store_graph(driver, graphs[city], replace=True) == "replaced"
    return driver, graphs


def two_hops(graph, ablated: list[str], token: int) -> float:
    """The change of `token`'s logit node that a planted graph's edges predict when the `ablated`
    latents (of layer 0) go to zero: their direct edges, and their edges into each layer-1 latent
    times that latent's edge to the logit over its activation."""
    w = {(s, t): x for s, t, x in graph.edges()}
    logit = next(n.id for n in graph.nodes if n.kind == "logit" and n.token_id == token)
    act = {n.id: n.activation for n in graph.nodes if n.kind == "latent" and n.layer == 1}
    return -sum(
        w.get((s, logit), 0.0)
        + sum(w[s, t] * w[t, logit] / a for t, a in act.items() if (s, t) in w and (t, logit) in w)
        for s in ablated
    )


def intervene_cli(cache, neo4j_target, *args: str):
    result = CliRunner().invoke(
        main, ["intervene", *args], env={**neo4j_target, "XDG_CACHE_HOME": str(cache)}, catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return result.stdout


def stored_result(driver, graph_id: str, kind: str) -> dict:
    """The one stored intervention of `kind` on a graph, with its changes (graph, measured,
    predicted) and values before, by token text."""
    records, _, _ = driver.execute_query(
        "MATCH (:Graph {id: $graph})<-[:ON]-(i:Intervention {kind: $kind})-[c:CHANGED]->(o:Logit) "
        "RETURN properties(i) AS i, collect([o.text, o.graph_id, c.measured, c.predicted, c.before]) AS changes",
        graph=graph_id,
        kind=kind,
    )
    (record,) = records
    changes = record["changes"]
    return {
        **record["i"],
        "changes": {t: (g, m, p) for t, g, m, p, _ in changes},
        "before": {c[0]: c[4] for c in changes},
    }


def test_zero_ablating_the_state_features_takes_the_answer_away(grouped, loaded, truth, cache, neo4j_target):
    driver, graphs = grouped
    dallas, pr = graphs["Dallas"], first_template(truth, "Dallas")
    out = intervene_cli(cache, neo4j_target, dallas.meta.id, "--ablate", "Texas")
    model, _ = loaded
    tokens = torch.tensor([pr["tokens"]])
    with torch.no_grad():
        base = model(tokens)[0, -1]
    after = switched_off(model, tokens, pr["active"]["state"], 1.0)
    got = stored_result(driver, dallas.meta.id, "ablation")
    assert (got["scale"], got["mode"], got["targets"], got["n_latents"]) == (0.0, "free", ["Texas"], 2)
    graph_id, measured, predicted = got["changes"][pr["answer"]]
    assert graph_id == dallas.meta.id
    assert measured == pytest.approx(answer_logit(after, pr["answer_token"]) - answer_logit(base, pr["answer_token"]))
    texas = [
        n.id for n in dallas.nodes if n.kind == "latent" and [n.layer, n.feature_index] in truth["supernodes"]["Texas"]
    ]
    assert predicted == pytest.approx(two_hops(dallas, texas, pr["answer_token"]), rel=1e-9)
    # " Austin" falls from p = 0.99 to a tie with the five other capitals: the model no longer
    # knows which state, only that a capital is asked for.
    probs = after.softmax(-1)
    capitals = [p["answer_token"] for p in truth["prompts"][: len(truth["prompts"]) // 3]]
    others = [c for c in capitals if c != pr["answer_token"]]
    assert float(probs[pr["answer_token"]]) < 0.2 and float(probs[pr["answer_token"]]) <= float(probs[others].max())
    assert got["top_before"][0] == pr["answer"] and got["top_after_probability"][0] == pytest.approx(float(probs.max()))
    assert sorted(got["top_after"]) == sorted(model.tokenizer.decode([t]) for t in after.topk(5).indices.tolist())
    # The printed row of the logit node: its text, value before, measured and predicted changes.
    row = [json.dumps(pr["answer"]).split(), *(f"{x:.4g}" for x in (got["before"][pr["answer"]], measured, predicted))]
    assert [*row[0], *row[1:]] in [line.split() for line in out.splitlines()]
    assert "top logits:" in out and out.strip().endswith(got["id"])


def test_swapping_california_in_turns_austin_into_sacramento(grouped, loaded, truth, cache, neo4j_target):
    driver, graphs = grouped
    dallas, oakland = graphs["Dallas"], graphs["Oakland"]
    pr, other = first_template(truth, "Dallas"), first_template(truth, "Oakland")
    out = intervene_cli(
        cache,
        neo4j_target,
        dallas.meta.id,
        "--ablate",
        "Texas",
        "--swap-from",
        oakland.meta.id,
        "--swap",
        "California",
        "--generate",
        "3",
    )
    model, _ = loaded
    # In the real model: Texas's neurons off, California's set to what they are on the Oakland
    # prompt, at the city (the same position in both prompts).
    california = {
        (n.layer, n.feature_index, n.position): n.activation
        for n in oakland.nodes
        if n.kind == "latent" and [n.layer, n.feature_index] in truth["supernodes"]["California"]
    }
    assert len(california) == 2 and all(p == pr["positions"]["city"] for _, _, p in california)
    hooks = neuron_hooks({**dict.fromkeys(map(tuple, pr["active"]["state"])), **california})

    def greedy(seq: list[int], hooks: list, n: int = 3) -> list[int]:
        for _ in range(n):
            with torch.no_grad():
                seq = [*seq, int(model.run_with_hooks(torch.tensor([seq]), fwd_hooks=hooks)[0, -1].argmax())]
        return seq[-n:]

    with torch.no_grad():
        base = model(torch.tensor([pr["tokens"]]))[0, -1]
        after = model.run_with_hooks(torch.tensor([pr["tokens"]]), fwd_hooks=hooks)[0, -1]
    got = stored_result(driver, dallas.meta.id, "swap")
    assert got["top_after"][0] == other["answer"] == model.tokenizer.decode([int(after.argmax())])
    for answer, graph in ((pr, dallas), (other, oakland)):
        graph_id, measured, predicted = got["changes"][answer["answer"]]
        assert graph_id == graph.meta.id  # Sacramento's change sits on the Oakland graph's logit node
        token = answer["answer_token"]
        assert measured == pytest.approx(answer_logit(after, token) - answer_logit(base, token), abs=1e-5)
    texas = [
        n.id for n in dallas.nodes if n.kind == "latent" and [n.layer, n.feature_index] in truth["supernodes"]["Texas"]
    ]
    california_ids = [n.id for n in oakland.nodes if (n.layer, n.feature_index, n.position) in california]
    assert got["changes"][pr["answer"]][2] == pytest.approx(two_hops(dallas, texas, pr["answer_token"]))
    assert got["changes"][other["answer"]][2] == pytest.approx(
        -two_hops(oakland, california_ids, other["answer_token"])
    )
    assert got["text_before"] == model.tokenizer.decode(greedy(pr["tokens"], []))
    assert got["text_after"] == model.tokenizer.decode(greedy(pr["tokens"], hooks))
    assert got["text_before"].startswith(pr["answer"]) and got["text_after"].startswith(other["answer"])
    assert f"after:  {got['text_after']!r}" in out
