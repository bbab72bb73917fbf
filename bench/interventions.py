"""Interventions: how well graphs predict them, and what one costs beside a plain forward pass.

    .venv/bin/python -m bench.interventions [--only planted tiny-gpt2 ...] [--prompts 3] [--threads 1]

(Run from the repository root, as a module, like every benchmark.)

Rows:
  planted                  the planted-circuit model (docs/planted-circuit.md), its state
                           features (Texas on the Dallas prompt, ...) intervened on, one prompt
                           per city of the first template;
  tiny-gpt2, tiny-gemma3   the tests' two tiny architectures, random weights and transcoders,
                           random prompts; intervened on: the three latents with the strongest
                           direct edges into the target logit.
Random transcoders do not mimic their MLPs, so on the tiny models only frozen interventions
test the graph; free ones measure how far the real MLPs stray from it.

Agreement: each prompt's graph, pruned (compute_graph's default settings) and unpruned
(attribute with every active latent), is intervened on free and frozen (`--frozen-attention`)
at several scales. `graph_error` is the prediction's relative error, sum |measured - predicted|
/ sum |measured| over the graph's logit nodes (Result.relative_error: 0 when the graph foresaw
every change, 1 when it foresaw none), median over prompts; the baseline `direct_error` is the
same error for a prediction from the intervened latents' direct edges into the logits alone,
without the paths through other latents. Frozen, an unpruned graph's error is rounding until
the change pushes some latent across its threshold (prediction.py).
Cost: wall clock per call, median of --reps calls after one warm-up, as `circuitstore intervene`
spends it once model and graph are loaded: `intervene` (checking that the model reproduces the
graph, the prompt unchanged and changed) free and frozen, and the graph's prediction alone,
beside the baseline of one plain forward pass of the prompt and, for scale, compute_graph.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch

from circuitstore.cli.output import emit
from circuitstore.compute import (
    AttributionSettings,
    SaeLensTranscoders,
    TranscoderSet,
    attribute,
    compute_graph,
    load_model,
)
from circuitstore.compute.intervene import intervene
from circuitstore.compute.planted import cached
from circuitstore.compute.transcoders import load_transcoders
from circuitstore.graph import AttributionGraph
from circuitstore.interventions import Plan, Result, plan
from circuitstore.prediction import predicted_changes
from circuitstore.settings import PLANTED
from tests.synthetic import gemma_style, gpt2_style, random_model, random_transcoders

ROWS = ["planted", "tiny-gpt2", "tiny-gemma3"]
SCALES = (0.9, 0.5, 0.0, -1.0)
TINY_TRANSCODERS = {"release": "tiny", "kind": "jumprelu_skip", "hook_in": "ln2.hook_normalized", "d_sae": 48, "l0": 8}
EVERY_LATENT = AttributionSettings(max_feature_nodes=None)
# The model and transcoders are passed to intervene, not loaded from the specs (random ones have none).
SPECS = {"model": "bench", "transcoders": "bench"}


def setup(name: str, n_prompts: int):
    """(model, transcoders, [(prompt, the node ids to intervene on, or None for the strongest)])."""
    if name == "planted":
        model = load_model(PLANTED)
        truth = json.loads(cached().planted.read_text())
        prompts = [p for p in truth["prompts"] if p["template"] == 0][:n_prompts]
        targets = [[f"{lay}_{f}_{pos}" for lay, f, pos in p["active"]["state"]] for p in prompts]
        return model, load_transcoders(PLANTED, model), list(zip([p["tokens"] for p in prompts], targets))
    model = random_model({"tiny-gpt2": gpt2_style(), "tiny-gemma3": gemma_style()}[name])
    g = torch.Generator().manual_seed(0)
    prompts = [torch.randint(model.cfg.d_vocab, (10,), generator=g).tolist() for _ in range(n_prompts)]
    saes = random_transcoders(model, **TINY_TRANSCODERS, tokens=torch.tensor(prompts[0]))
    return model, SaeLensTranscoders.from_saes(TINY_TRANSCODERS["release"], saes, model), [(p, None) for p in prompts]


def strongest(graph: AttributionGraph, k: int = 3) -> list[str]:
    """The `k` latents with the strongest direct edges into the target logit."""
    target = next(i for i, n in enumerate(graph.nodes) if n.kind == "logit" and n.is_target)
    into = [(abs(w), s) for s, t, w in zip(graph.sources, graph.targets, graph.weights) if t == target]
    return [graph.nodes[s].id for _, s in sorted(into, reverse=True) if graph.nodes[s].kind == "latent"][:k]


def direct_error(graph: AttributionGraph, request: Plan, result: Result) -> float | None:
    """The relative error of a prediction from the intervened latents' direct edges alone: each
    logit node moves by w * (its change / its activation) over its edges from them."""
    relative = {}
    for e in request.edits:
        a = graph.node(e.node_id).activation
        relative[graph.index_of(e.node_id)] = (e.rule.applied(a) - a) / a
    direct = np.zeros(graph.n_nodes)
    for s, t, w in zip(graph.sources, graph.targets, graph.weights):
        direct[t] += w * relative.get(int(s), 0.0)
    measured = np.array([c.measured for c in result.logits])
    predicted = np.array([direct[graph.index_of(c.node_id)] for c in result.logits])
    moved = float(np.abs(measured).sum())
    return float(np.abs(measured - predicted).sum() / moved) if moved > 0 else None


def median(values: list[float | None]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def timed(fn: Callable[[], object], reps: int) -> float:
    """Median seconds of `reps` calls of `fn`, after one untimed call."""
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def cost(model, tcs: TranscoderSet, graph: AttributionGraph, names: list[str], reps: int) -> dict[str, float]:
    """One prompt's timings (ms) and sizes."""
    free, frozen = (plan(graph, names, frozen=f, **SPECS) for f in (False, True))
    ids = torch.tensor([list(free.tokens)])
    with torch.no_grad():
        forward = timed(lambda: model(ids), reps)
    return {
        "forward_ms": 1e3 * forward,
        "intervene_free_ms": 1e3 * timed(lambda: intervene(free, model, tcs), reps),
        "intervene_frozen_ms": 1e3 * timed(lambda: intervene(frozen, model, tcs), reps),
        "prediction_ms": 1e3 * timed(lambda: predicted_changes(free), reps),
        "compute_graph_ms": 1e3 * timed(lambda: compute_graph(model, tcs, list(free.tokens)), 1),
        "latents": len(free.edits),
        "tokens": len(free.tokens),
        "nodes": graph.n_nodes,
    }


def run_row(name: str, n_prompts: int, reps: int) -> tuple[list[dict], dict]:
    model, tcs, prompts = setup(name, n_prompts)
    errors: dict[tuple[str, str, float], list[tuple[float | None, float | None]]] = {}
    costs: dict[str, list[float]] = {}
    for tokens, names in prompts:
        graphs = {"pruned": compute_graph(model, tcs, tokens), "unpruned": attribute(model, tcs, tokens, EVERY_LATENT)}
        names = names or strongest(graphs["pruned"])
        for variant, graph in graphs.items():
            for mode in ("free", "frozen"):
                for scale in SCALES:
                    request = plan(graph, names, scale=scale, frozen=mode == "frozen", **SPECS)
                    result = intervene(request, model, tcs)
                    key = (variant, mode, scale)
                    errors.setdefault(key, []).append((result.relative_error, direct_error(graph, request, result)))
        for what, ms in cost(model, tcs, graphs["pruned"], names, reps).items():
            costs.setdefault(what, []).append(ms)
    agreement = [
        {
            "model": name,
            "graph": variant,
            "mode": mode,
            "scale": scale,
            "graph_error": median([g for g, _ in pairs]),
            "direct_error": median([d for _, d in pairs]),
            "prompts": len(pairs),
        }
        for (variant, mode, scale), pairs in errors.items()
    ]
    return agreement, {"model": name, "prompts": len(prompts), **{k: statistics.median(v) for k, v in costs.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="*", choices=ROWS, help="rows to run (default: all)")
    parser.add_argument("--prompts", type=int, default=3, help="prompts per row")
    parser.add_argument("--reps", type=int, default=5, help="timed calls per measurement")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    agreement, cost = [], []
    for name in args.only or ROWS:
        rows, costs = run_row(name, args.prompts, args.reps)
        agreement += rows
        cost.append(costs)
    print("agreement: relative error of the predicted logit changes (median over prompts)")
    emit(agreement, as_json=False)
    print(f"\ncost per call, ms (median of {args.reps}; compute_graph: one call), torch threads {args.threads}")
    emit(cost, as_json=False)


if __name__ == "__main__":
    main()
