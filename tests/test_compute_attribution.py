"""Attribution on tiny models built and saved here, loaded through the real loaders, checked
against the independent frozen-model derivatives of attribution_checks.py."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from circuitstore.compute import (
    AttributionSettings,
    PromptError,
    attribute,
    compute_graph,
    graph_id,
    load_model,
    load_transcoders,
    prune,
    tokenize,
)
from circuitstore.compute.edge_rows import EdgeRows
from circuitstore.compute.tokenizer import SPECIALS
from tests.attribution_checks import check_completeness, check_edges, check_replacement_logits, unpruned_graph
from tests.synthetic import WORDS, gemma_style, gpt2_style, save_tiny

# (architecture, transcoder kind, hook the transcoders read): all four SAELens transcoder
# classes, both architectures, the pre-norm (GemmaScope 2) and post-norm input hooks.
CASES = {
    "gpt2-relu": (gpt2_style(n_layers=2), "relu", "ln2.hook_normalized"),
    "gpt2-jumprelu-skip": (gpt2_style(n_layers=3, d_model=48), "jumprelu_skip", "ln2.hook_normalized"),
    "gemma-jumprelu": (gemma_style(n_layers=2), "jumprelu", "ln2.hook_normalized"),
    "gemma-relu-skip": (gemma_style(n_layers=3), "relu_skip", "hook_mlp_in"),
    "gemma-jumprelu-skip": (gemma_style(n_layers=4, d_model=32), "jumprelu_skip", "hook_mlp_in"),
}
TOKENS = [1, 7, 30, 4, 19, 11, 2]


@pytest.fixture(scope="module", params=list(CASES))
def tiny(request, tmp_path_factory):
    cfg, kind, hook = CASES[request.param]
    model_dir, tc_dir = save_tiny(tmp_path_factory.mktemp(request.param), cfg, kind, hook)
    model = load_model(model_dir)
    return model, load_transcoders(tc_dir, model)


@pytest.fixture(scope="module")
def graph(tiny):
    return unpruned_graph(*tiny, TOKENS)


def test_replacement_reproduces_logits(tiny):
    check_replacement_logits(*tiny, TOKENS)


def test_edges_are_frozen_model_derivatives(tiny, graph):
    check_edges(*tiny, TOKENS, graph=graph)


def test_targets_are_sum_of_edges_plus_bias(tiny, graph):
    check_completeness(*tiny, TOKENS, graph=graph)


# The conventions circuit-tracer does not use, each checked against the reference too.
OPTIONS = {
    "position-0-sources": {"position_0_sources": True},
    "resid-pre-tokens": {"token_vectors": "resid_pre"},
    "both": {"position_0_sources": True, "token_vectors": "resid_pre"},
}


@pytest.mark.parametrize("option", list(OPTIONS))
def test_other_conventions_are_frozen_model_derivatives(tiny, option):
    g = unpruned_graph(*tiny, TOKENS, **OPTIONS[option])
    assert {k: g.meta.generation[k] for k in OPTIONS[option]} == OPTIONS[option]
    check_edges(*tiny, TOKENS, graph=g)
    check_completeness(*tiny, TOKENS, graph=g)


def test_position_0_has_no_sources_and_tokens_write_the_embedding(tiny, graph):
    model, _ = tiny
    assert not [n.id for n in graph.nodes if n.kind == "latent" and n.position == 0]
    sources = {graph.nodes[s] for s in graph.sources.tolist()}
    assert not [n.id for n in sources if n.kind == "error" and n.position == 0]
    assert [n.position for n in graph.nodes if n.kind == "error"] == list(range(len(TOKENS))) * model.cfg.n_layers
    kept = unpruned_graph(*tiny, TOKENS, position_0_sources=True)
    assert [n for n in kept.nodes if n.kind == "latent" and n.position == 0]
    # Token edges differ from the resid_pre convention exactly where there is a learned W_pos.
    resid = unpruned_graph(*tiny, TOKENS, token_vectors="resid_pre")
    token_edges = [{(s, t): w for s, t, w in g.edges() if g.node(s).kind == "token"} for g in (graph, resid)]
    assert token_edges[0].keys() == token_edges[1].keys()
    same = all(w == pytest.approx(token_edges[1][k], rel=1e-5, abs=1e-7) for k, w in token_edges[0].items())
    assert same == (model.cfg.positional_embedding_type != "standard")


def test_node_table(tiny, graph):
    model, tcs = tiny
    counts = graph.count_by_kind()
    assert counts["token"] == len(TOKENS)
    assert counts["error"] == model.cfg.n_layers * len(TOKENS)
    assert counts["latent"] > 0 and graph.meta.generation["n_active_latents"] == counts["latent"]
    tokens = [n for n in graph.nodes if n.kind == "token"]
    assert [n.token_id for n in tokens] == TOKENS and [n.text for n in tokens] == [str(t) for t in TOKENS]
    logits = [n for n in graph.nodes if n.kind == "logit"]
    assert all(n.layer == model.cfg.n_layers + 1 and n.position == len(TOKENS) - 1 for n in logits)
    assert [n.is_target for n in logits] == [True] + [False] * (len(logits) - 1)
    # Tokens, errors and logits have no inputs; logits feed nothing.
    kinds = np.array([n.kind for n in graph.nodes])
    assert set(kinds[graph.targets]) <= {"latent", "logit"}
    assert "logit" not in set(kinds[graph.sources])


def test_logits_reach_desired_probability(tiny):
    model, tcs = tiny
    probs = torch.softmax(model(torch.tensor([TOKENS]))[0, -1], -1).sort(descending=True).values.tolist()
    for desired, most in ((0.95, 10), (0.5, 10), (0.99, 3)):
        settings = AttributionSettings(desired_logit_prob=desired, max_n_logits=most, max_feature_nodes=0)
        got = [n.probability for n in attribute(model, tcs, TOKENS, settings).nodes if n.kind == "logit"]
        expected = next(k for k in range(1, len(probs) + 1) if sum(probs[:k]) >= desired)
        assert len(got) == min(expected, most)
        assert got == pytest.approx(probs[: len(got)], rel=1e-5)


def test_batch_size_does_not_change_edges(tiny, graph):
    other = attribute(*tiny, TOKENS, AttributionSettings(max_feature_nodes=None, batch_size=5))
    assert other.meta.id == graph.meta.id
    ours = {(s, t): w for s, t, w in graph.edges()}
    theirs = {(s, t): w for s, t, w in other.edges()}
    assert ours.keys() == theirs.keys()
    assert np.allclose([theirs[k] for k in ours], list(ours.values()), rtol=1e-5, atol=1e-6)


def test_max_feature_nodes_keeps_the_most_influential(tiny, graph):
    """With a budget, the latents visited first are those the logits' rows weigh most."""
    model, tcs = tiny
    n_latents = graph.count_by_kind()["latent"]
    budget = 2 * (n_latents // 6)
    # Two batches within one update interval: one ranking, by the logits' rows alone.
    settings = AttributionSettings(max_feature_nodes=budget, batch_size=budget // 2, update_interval=2)
    small = attribute(model, tcs, TOKENS, settings)
    assert small.count_by_kind()["latent"] == budget
    # That choice is by direct influence on the logits: |edge into a logit| / the logit's total
    # input, weighted by its probability.
    totals: dict[str, float] = {}
    for _, t, w in graph.edges():
        totals[t] = totals.get(t, 0.0) + abs(w)
    direct: dict[str, float] = {}
    for s, t, w in graph.edges():
        target = graph.node(t)
        if target.kind == "logit" and graph.node(s).kind == "latent":
            direct[s] = direct.get(s, 0.0) + target.probability * abs(w) / totals[t]
    chosen = {n.id for n in small.nodes if n.kind == "latent"}
    threshold = min(direct.get(i, 0.0) for i in chosen)
    assert all(v <= threshold * (1 + 1e-6) for i, v in direct.items() if i not in chosen)
    # Edges among the kept nodes are the full graph's edges.
    full = {(s, t): w for s, t, w in graph.edges()}
    for s, t, w in small.edges():
        assert w == pytest.approx(full[(s, t)], rel=1e-5, abs=1e-6)


def dense_influence(a: np.ndarray, w: np.ndarray) -> np.ndarray:
    """w (Â + Â² + ...) over a dense A[t, s], one matrix power after another."""
    total = np.abs(a).sum(axis=1, keepdims=True)
    norm = np.divide(np.abs(a), total, out=np.zeros_like(a), where=total > 0)
    step, infl = w, np.zeros_like(w)
    while step.any():
        step = step @ norm
        infl += step
    return infl


def test_edge_rows_influence_is_the_dense_series():
    """Rows by level, float32 weights: the one-pass influence equals the dense series in float64."""
    rng = np.random.default_rng(0)
    layers, per_layer, others, n_logits = 4, 30, 12, 5
    n_sources = layers * per_layer + others
    n = n_sources + n_logits
    layer = np.repeat(np.arange(layers), per_layer)
    rows = EdgeRows(n, n_sources)
    a = np.zeros((n, n))
    targets = np.concatenate([np.arange(n_sources, n), rng.permutation(layers * per_layer)[:80]])
    for batch in np.array_split(targets, 7):
        levels = np.where(batch >= n_sources, layers, layer[np.minimum(batch, layers * per_layer - 1)])
        block = np.zeros((len(batch), n_sources), dtype=np.float32)
        for i, level in enumerate(levels):
            lower = np.flatnonzero(np.concatenate([layer < level, np.ones(others, bool)]))
            block[i, lower] = rng.normal(size=lower.size) * (rng.random(lower.size) < 0.6)
        rows.add(batch, levels, sp.csr_matrix(block))
        a[batch, :n_sources] = block
    w = np.zeros(n)
    w[n_sources:] = rng.dirichlet(np.ones(n_logits))
    assert np.allclose(rows.influence(w), dense_influence(a, w), rtol=1e-12, atol=0)
    t, s, v = (np.concatenate(column) for column in zip(*rows.blocks(np.arange(n))))
    assert np.array_equal(a[t, s], v) and np.count_nonzero(a) == len(v)
    # Sources mapped to -1 (latents never visited) leave with their edges; the rest are renumbered.
    gone = np.setdiff1d(np.arange(layers * per_layer), targets)
    remap = np.full(n, -1)
    remap[np.setdiff1d(np.arange(n), gone)] = np.arange(n - gone.size)
    t, s, v = (np.concatenate(column) for column in zip(*rows.blocks(remap)))
    kept = np.delete(np.delete(a, gone, axis=0), gone, axis=1)
    assert np.array_equal(kept[t, s], v) and np.count_nonzero(kept) == len(v)


def test_capped_selection_replays_on_the_full_graph(tiny, graph):
    """Over several re-rankings, a capped run visits the latents that ranking by the rows found
    so far picks: replayed here on the full graph's dense matrix, restricted to those rows."""
    n_latents = graph.count_by_kind()["latent"]
    batch, interval = 3, 2
    budget = 2 * n_latents // 3
    capped = attribute(
        *tiny, TOKENS, AttributionSettings(max_feature_nodes=budget, batch_size=batch, update_interval=interval)
    )
    a = np.zeros((graph.n_nodes, graph.n_nodes))
    a[graph.targets, graph.sources] = graph.weights
    w = np.array([n.probability if n.kind == "logit" else 0.0 for n in graph.nodes])
    latents = [i for i, n in enumerate(graph.nodes) if n.kind == "latent"]
    rows = w > 0  # the targets whose rows are known: the logits, then each visited latent
    visited: list[int] = []
    while len(visited) < budget:
        known = np.where(rows[:, None], a, 0.0)
        score = dense_influence(known, w)
        left = [i for i in latents if i not in visited]
        ranked = sorted(left, key=lambda i: -score[i])  # stable: ties in node order
        visited += ranked[: min(interval * batch, budget - len(visited))]
        rows[visited] = True
    assert sorted(n.id for n in capped.nodes if n.kind == "latent") == sorted(graph.nodes[i].id for i in visited)
    full = {(s, t): wt for s, t, wt in graph.edges()}
    assert all(wt == pytest.approx(full[(s, t)], rel=1e-5, abs=1e-6) for s, t, wt in capped.edges())


def test_graph_id_is_deterministic(tiny, graph):
    model, tcs = tiny
    settings = AttributionSettings(max_feature_nodes=None)
    assert graph_id(model, tcs, TOKENS, settings) == graph.meta.id
    assert graph_id(model, tcs, " ".join(map(str, TOKENS)), settings) == graph.meta.id
    assert graph_id(model, tcs, TOKENS[:-1], settings) != graph.meta.id
    assert (
        graph_id(model, tcs, TOKENS, AttributionSettings(max_feature_nodes=None, edge_threshold=0.9)) != graph.meta.id
    )
    assert graph_id(model, tcs, TOKENS, AttributionSettings(max_feature_nodes=None, batch_size=3)) == graph.meta.id


def test_compute_graph_records_settings_and_scores(tiny):
    model, tcs = tiny
    settings = AttributionSettings(max_feature_nodes=20, node_threshold=0.7, edge_threshold=0.9)
    g = compute_graph(model, tcs, TOKENS, settings)
    assert g.meta.id == graph_id(model, tcs, TOKENS, settings)
    assert g.meta.pruning == {"node_threshold": 0.7, "edge_threshold": 0.9}
    assert g.meta.generation["max_feature_nodes"] == 20 and g.meta.generation["dtype"] == "float32"
    assert set(g.meta.scores) == {"replacement_score", "completeness_score"}
    assert all(0 <= v <= 1 for v in g.meta.scores.values())
    assert g.meta.model == model.cfg.model_name and g.meta.transcoder_set == tcs.name


@pytest.mark.parametrize("cap", [None, 20])
def test_compute_graph_prunes_from_the_rows_as_prune_does(tiny, cap):
    """compute_graph prunes the edges as attribution keeps them (the unpruned graph is never
    built): the same graph, to the bit, as pruning the built graph, unvisited latents' edges
    left out alike."""
    settings = AttributionSettings(max_feature_nodes=cap, batch_size=7, node_threshold=0.7, edge_threshold=0.95)
    ours = compute_graph(*tiny, TOKENS, settings)
    built = prune(attribute(*tiny, TOKENS, settings), settings.node_threshold, settings.edge_threshold)
    assert ours.nodes == built.nodes and ours.meta.scores == built.meta.scores
    for name in ("sources", "targets", "weights"):
        assert np.array_equal(getattr(ours, name), getattr(built, name))


@pytest.mark.parametrize(
    "prompt, message",
    [
        ([], "empty"),
        ("   ", "empty"),
        (list(range(13)), "context of 12"),
        ([1, 99], "outside the vocabulary"),
        ("text", "no tokenizer"),
        ("1 2 99", "outside the vocabulary"),
    ],
)
def test_bad_prompts(tiny, prompt, message):
    with pytest.raises(PromptError, match=message):
        attribute(*tiny, prompt)


def test_bfloat16_and_float64_agree_with_float32(tmp_path):
    model_dir, tc_dir = save_tiny(tmp_path, gemma_style(), "jumprelu_skip", "hook_mlp_in")
    graphs = []
    for dtype in ("float32", "bfloat16", "float64"):
        model = load_model(model_dir, dtype=dtype)
        graphs.append(
            attribute(
                model, load_transcoders(tc_dir, model, dtype=dtype), TOKENS, AttributionSettings(max_feature_nodes=None)
            )
        )
    assert [g.meta.generation["dtype"] for g in graphs] == ["float32", "bfloat16", "float64"]
    assert len({g.meta.id for g in graphs}) == 3
    full, half, double = ({(s, t): w for s, t, w in g.edges()} for g in graphs)
    # float64 differs from float32 by float32's rounding only.
    assert double.keys() == full.keys()
    scale = max(map(abs, double.values()))
    assert all(abs(w - double[k]) <= 1e-5 * scale for k, w in full.items())
    common = full.keys() & half.keys()
    # Rounding may flip a latent sitting at its threshold; the rest must agree closely.
    assert len(common) >= 0.98 * len(full)
    x, y = (np.array([edges[k] for k in sorted(common)]) for edges in (full, half))
    assert np.corrcoef(x, y)[0, 1] > 0.999


def test_text_prompts_use_the_tokenizer(tmp_path):
    model_dir, tc_dir = save_tiny(tmp_path, gpt2_style(), "jumprelu", tokenizer=True)
    model = load_model(model_dir)
    tcs = load_transcoders(tc_dir, model)
    g = attribute(model, tcs, "the capital of texas is", AttributionSettings(max_feature_nodes=5))
    assert g.meta.prompt == "the capital of texas is"
    words = ("the", " capital", " of", " texas", " is")
    assert g.meta.prompt_tokens == ("<bos>", *words)
    ids = [0, *(len(SPECIALS) + WORDS.index(w) for w in words)]
    assert [n.id for n in g.nodes if n.kind == "token"] == [f"E_{t}_{p}" for p, t in enumerate(ids)]
    # Ids are given a BOS unless they start with a special token (BOS, EOS, unknown, pad).
    the, capital = ids[1:3]
    for given, expected in (([the, capital], [0, the, capital]), ([0, the], [0, the]), ([3, the], [3, the])):
        assert tokenize(model, given)[1] == expected
    assert tokenize(model, [the, capital])[0] == "<bos>the capital"
    assert tokenize(model, "<bos>the capital")[1] == [0, the, capital]
    assert tokenize(model, "<pad>the capital")[1] == [3, the, capital]
    assert all(n.text == model.tokenizer.decode([n.token_id]) for n in g.nodes if n.kind == "logit")
    # Eleven words and BOS exceed the context of 12: an error, not a silent truncation.
    with pytest.raises(PromptError, match="13 tokens"):
        attribute(model, tcs, "the capital of texas is austin and the capital of the state")
