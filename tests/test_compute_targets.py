"""Attribution to chosen targets (a token, a logit difference, a direction) in place of the
likely logits: edges checked against torch.autograd along each target's vector
(attribution_checks.py), nodes and records against the model's own probabilities."""

from __future__ import annotations

import hashlib
import json

import pytest
import torch

from circuitstore.compute import (
    AttributionSettings,
    ComputeError,
    Target,
    attribute,
    graph_id,
    load_model,
    load_transcoders,
    save_model,
    tokenize,
)
from circuitstore.formats import read_graph, write_graph
from circuitstore.settings import MIN_DIFF_WEIGHT, SettingsError
from tests.attribution_checks import check_completeness, check_edges, unpruned_graph
from tests.synthetic import gemma_style, random_clt, random_model, save_ct_layout, save_tiny

PROMPT = "the capital of the state of texas is"
DIRECTION = tuple(float(v) for v in torch.linspace(-1.0, 1.0, 32))
TARGETS = (
    Target("diff", (" austin", " dallas")),
    Target("token", (" dallas",)),
    Target("vector", vector=DIRECTION, label="my direction", weight=0.5),
    Target("token", (5,)),
)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    model_dir, tc_dir = save_tiny(
        tmp_path_factory.mktemp("targets"), gemma_style(n_layers=2), "jumprelu_skip", tokenizer=True
    )
    model = load_model(model_dir)
    return model, load_transcoders(tc_dir, model)


@pytest.fixture(scope="module")
def tokens(tiny):
    return tokenize(tiny[0], PROMPT)[1]


@pytest.fixture(scope="module")
def graph(tiny, tokens):
    return unpruned_graph(*tiny, tokens, targets=TARGETS)


def test_edges_are_derivatives_along_the_targets(tiny, tokens, graph):
    check_edges(*tiny, tokens, graph=graph, targets=TARGETS)
    check_completeness(*tiny, tokens, graph=graph, targets=TARGETS)


def test_logit_nodes_are_the_targets(tiny, tokens, graph):
    model, _ = tiny
    with torch.no_grad():
        probs = torch.softmax(model(torch.tensor([tokens]))[0, -1].double(), -1)
    austin, dallas = (model.tokenizer.encode(w, add_special_tokens=False)[0] for w in (" austin", " dallas"))
    logits = [n for n in graph.nodes if n.kind == "logit"]
    d_vocab, L, last = model.cfg.d_vocab, model.cfg.n_layers, len(tokens) - 1
    # A difference or a vector is numbered d_vocab + its place, a token by its id.
    assert [n.id for n in logits] == [f"{L + 1}_{i}_{last}" for i in (d_vocab, dallas, d_vocab + 2, 5)]
    assert [n.token_id for n in logits] == [None, dallas, None, 5]
    assert [n.text for n in logits] == [
        "logit( austin)-logit( dallas)",
        " dallas",
        "my direction",
        model.tokenizer.decode([5]),
    ]
    expected = [
        max(abs(float(probs[austin] - probs[dallas])), MIN_DIFF_WEIGHT),
        float(probs[dallas]),
        0.5,
        float(probs[5]),
    ]
    assert [n.probability for n in logits] == pytest.approx(expected, rel=1e-5)
    assert [n.is_target for n in logits] == [True, False, False, False]
    assert logits[0].label == f'Output "logit( austin)-logit( dallas)" (p={logits[0].probability:.3f})'


def test_the_targets_are_recorded_and_kept_in_the_graph_file(tiny, tokens, graph, tmp_path):
    model, tcs = tiny
    recorded = graph.meta.generation["targets"]
    assert recorded[0] == {"kind": "diff", "tokens": [" austin", " dallas"]}
    assert recorded[1] == {"kind": "token", "tokens": [" dallas"]}
    values = torch.tensor(DIRECTION, dtype=torch.float64).numpy().tobytes()
    assert recorded[2] == {
        "kind": "vector",
        "dim": 32,
        "sha256": hashlib.sha256(values).hexdigest(),
        "label": "my direction",
        "weight": 0.5,
    }
    # Other targets, another graph; the default graph records none.
    settings = AttributionSettings(max_feature_nodes=None, batch_size=32, targets=TARGETS)
    assert graph_id(model, tcs, tokens, settings) == graph.meta.id
    assert (
        graph_id(model, tcs, tokens, AttributionSettings(max_feature_nodes=None, targets=TARGETS[:1])) != graph.meta.id
    )
    assert "targets" not in unpruned_graph(model, tcs, tokens).meta.generation
    path = tmp_path / "graph.json"
    write_graph(graph, path)
    back = read_graph(path)
    assert back.meta.generation["targets"] == recorded
    raw = [n for n in json.loads(path.read_text())["nodes"] if n["feature_type"] == "logit"]
    assert [n["node_id"] for n in raw] == [n.id for n in graph.nodes if n.kind == "logit"]
    # As circuit-tracer writes them: a token by its id, a difference or vector by d_vocab + place.
    d_vocab, last = model.cfg.d_vocab, len(tokens) - 1
    indices = [d_vocab, raw[1]["feature"], d_vocab + 2, 5]
    assert [n["feature"] for n in raw] == indices
    assert [n["jsNodeId"] for n in raw] == [f"L_{i}-{last}" for i in indices]


def test_a_cross_layer_set_with_a_logit_difference(tmp_path):
    model = random_model(gemma_style(n_layers=3))
    save_model(model, tmp_path / "model")
    save_ct_layout(random_clt(model, seed=2), tmp_path / "clt")
    model = load_model(tmp_path / "model")
    targets = (Target("diff", (3, 9)), Target("vector", vector=DIRECTION))
    tokens = [1, 4, 8, 15, 16, 23]
    check_edges(model, tmp_path / "clt", tokens, targets=targets)


@pytest.mark.parametrize(
    "target, message",
    [
        (Target("token", (" texas is",)), "is 2 tokens"),
        (Target("diff", (" austin", 10_000)), "outside the vocabulary"),
        (Target("vector", vector=(1.0, 2.0)), "a vector of 2 numbers, the model's d_model is 32"),
    ],
)
def test_targets_the_model_cannot_read(tiny, tokens, target, message):
    with pytest.raises(ComputeError, match=message):
        attribute(*tiny, tokens, AttributionSettings(targets=(target,)))


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: Target("logit"), "kind must be one of token, diff, vector"),
        (lambda: Target("diff", (" a",)), r"names 2 token\(s\)"),
        (lambda: Target("vector"), "a vector target, and only one"),
        (lambda: Target("token", (1,), vector=(1.0,)), "a vector target, and only one"),
        (lambda: Target("vector", vector=(float("nan"),)), "finite"),
        (lambda: Target("token", (1,), weight=2.0), "weighted by its probability"),
        (lambda: Target("diff", (1, 2), weight=0.0), "positive number"),
        (lambda: AttributionSettings(targets=(" austin",)), "Target values"),
    ],
)
def test_malformed_targets(make, message):
    with pytest.raises(SettingsError, match=message):
        make()
