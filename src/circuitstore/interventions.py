"""Interventions on a stored graph's model: what is asked (a Plan), and what came of it (a Result).

An intervention changes latents of a graph's prompt where they fire and reads the model's logits:
- ablation: each latent of the `--ablate` nodes and supernodes has its activation a multiplied
  by `scale` (0: zero ablation; negative: flipped), i.e. (scale - 1) * a times its decoder row is
  added where it writes;
- swap: as well, latents of another graph of the same model and transcoders (`--swap-from
  GRAPH2 --swap NODES2`; Texas out, California in) are set to the activation they have on
  GRAPH2's prompt, at the corresponding position of this prompt: positions are aligned at the
  prompt's end (GRAPH2's last token on this prompt's last), which for prompts of one template
  and equal length is the same position. A latent already active there is set to that
  activation, not added to it.
`compute/intervene.py` runs a Plan on the real model, `prediction.py` says what the graph
predicts, the store keeps the Result (`(:Intervention)`, schema/data-model.md).

Here, torch-free: checking a request against the stored graphs (every bad request is an
InterventionError, raised before any model is loaded or anything stored), finding the model and
transcoders to load, and the Result's shape.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from circuitstore.errors import CircuitstoreError
from circuitstore.graph import AttributionGraph
from circuitstore.settings import MODEL_SPEC, TRANSCODERS_SPEC

# Beyond ten times its activation, either way, a latent writes far outside what the model ever
# produced, and no linear reading of the graph says anything about it.
MAX_SCALE = 10.0
ABLATE, SWAP_IN = "ablate", "swap_in"


class InterventionError(CircuitstoreError, ValueError):
    """A request that cannot be run: unknown nodes, a graph whose model cannot be loaded, ..."""


@dataclass(frozen=True)
class Rule:
    """What a latent's activation a becomes: `scale` * a, or `value` when one is given."""

    scale: float = 0.0
    value: float | None = None

    def applied(self, a: float) -> float:
        return self.scale * a if self.value is None else self.value


@dataclass(frozen=True)
class Target:
    """One name of the request: a node id or a supernode name of `graph_id`, and its latents."""

    role: str  # ABLATE (a node of the graph intervened on) or SWAP_IN (of the swap graph)
    graph_id: str
    name: str
    kind: str  # node or supernode
    node_ids: tuple[str, ...]


@dataclass(frozen=True)
class Edit:
    """One latent changed, in the model's terms (layer, position on the prompt, feature), and
    the graph node the prediction reads it as: the intervened graph's latent there, or, for a
    swapped-in latent that graph lacks, the swap graph's latent at its own position."""

    layer: int
    position: int
    feature: int
    rule: Rule
    graph_id: str
    node_id: str


@dataclass(frozen=True)
class Plan:
    """A checked request: what to change, on which prompt, with which model."""

    graph: AttributionGraph
    tokens: tuple[int, ...]
    targets: tuple[Target, ...]
    edits: tuple[Edit, ...]
    scale: float
    frozen: bool
    generate: int
    model_spec: str
    transcoders_spec: str
    dtype: str
    swap_graph: AttributionGraph | None = None

    @property
    def kind(self) -> str:
        return "swap" if self.swap_graph is not None else "ablation"

    @property
    def mode(self) -> str:
        return "frozen" if self.frozen else "free"

    @property
    def description(self) -> str:
        """What is done, in a few words: `ablate Texas x0; swap in California (free)`."""
        ablated = ", ".join(t.name for t in self.targets if t.role == ABLATE)
        swapped = ", ".join(t.name for t in self.targets if t.role == SWAP_IN)
        parts = [f"ablate {ablated} x{self.scale:g}"] if ablated else []
        parts += [f"swap in {swapped}"] if swapped else []
        return f"{'; '.join(parts)} ({self.mode})"

    @property
    def id(self) -> str:
        """The same request on the same graph has the same id (a rerun replaces the stored result)."""
        key = {
            "graph": self.graph.meta.id,
            "swap_from": self.swap_graph.meta.id if self.swap_graph is not None else None,
            "targets": sorted([t.role, t.kind, t.name] for t in self.targets),
            "scale": self.scale,
            "mode": self.mode,
            "generate": self.generate,
            "model": self.model_spec,
            "transcoders": self.transcoders_spec,
        }
        return "iv-" + hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]


def plan(
    graph: AttributionGraph,
    ablate: Sequence[str] = (),
    *,
    scale: float = 0.0,
    swap_graph: AttributionGraph | None = None,
    swap: Sequence[str] = (),
    generate: int = 0,
    frozen: bool = False,
    model: str | None = None,
    transcoders: str | None = None,
) -> Plan:
    """Check a request against its graphs and resolve it; raise InterventionError if it is bad.

    `ablate` and `swap` name node ids or supernodes (of `graph` and `swap_graph`); `model` and
    `transcoders` override the specs the graph recorded when it was computed."""
    gid = graph.meta.id
    if not math.isfinite(scale) or abs(scale) > MAX_SCALE:
        raise InterventionError(f"--scale must lie in [-{MAX_SCALE:g}, {MAX_SCALE:g}], got {scale:g}")
    if (swap_graph is None) != (not swap):
        raise InterventionError("--swap-from GRAPH2 and --swap NODES2 go together")
    if not ablate and not swap:
        raise InterventionError("nothing to intervene on: give --ablate NODE|SUPERNODE (or --swap-from and --swap)")
    if generate < 0:
        raise InterventionError(f"--generate takes a number of tokens, got {generate}")
    if generate and frozen:
        raise InterventionError(
            "--generate needs --free: attention patterns are frozen for the prompt's positions only"
        )
    if ablate and scale == 1.0 and not swap:
        raise InterventionError("--scale 1 changes nothing: give another scale, or --swap-from and --swap")
    tokens = prompt_tokens(graph)
    targets = [_target(graph, ABLATE, name) for name in dict.fromkeys(ablate)]
    edits: dict[tuple[int, int, int], Edit] = {}
    for t in targets:
        for node in map(graph.node, t.node_ids):
            edits[(node.layer, node.position, node.feature_index)] = Edit(
                node.layer, node.position, node.feature_index, Rule(scale), gid, node.id
            )
    if swap_graph is not None:
        targets += _swap_in(graph, swap_graph, swap, edits)
    model, transcoders = _specs(graph, model, transcoders)
    return Plan(
        graph=graph,
        tokens=tokens,
        targets=tuple(targets),
        edits=tuple(edits.values()),
        scale=scale,
        frozen=frozen,
        generate=generate,
        model_spec=model,
        transcoders_spec=transcoders,
        dtype=str(graph.meta.generation.get("dtype", "float32")),
        swap_graph=swap_graph,
    )


def _swap_in(
    graph: AttributionGraph, swap_graph: AttributionGraph, names: Sequence[str], edits: dict[tuple, Edit]
) -> list[Target]:
    """The swap's targets; adds an Edit for each of their latents to `edits`, at the position of
    `graph`'s prompt that lies as far from its end."""
    gid = graph.meta.id
    sid = swap_graph.meta.id
    for what in ("model", "transcoder_set"):
        mine, theirs = getattr(graph.meta, what), getattr(swap_graph.meta, what)
        if mine != theirs:
            raise InterventionError(f"graph {sid!r} is of {what} {theirs!r}, graph {gid!r} of {mine!r}")
    shift = len(prompt_tokens(graph)) - len(prompt_tokens(swap_graph))
    latents = {(n.layer, n.position, n.feature_index): n for n in graph.nodes if n.kind == "latent"}
    swapped = [_target(swap_graph, SWAP_IN, name) for name in dict.fromkeys(names)]
    for t in swapped:
        for node in map(swap_graph.node, t.node_ids):
            position = node.position + shift
            if position < 0:
                raise InterventionError(
                    f"latent {node.id!r} of graph {sid!r} sits at position {node.position}, before the start "
                    f"of graph {gid!r}'s prompt when the prompts are aligned at their ends"
                )
            key = (node.layer, position, node.feature_index)
            if key in edits and edits[key].rule.value is None:
                raise InterventionError(f"latent {node.id!r} of graph {sid!r} is both ablated and swapped in")
            own = latents.get(key)
            edits[key] = Edit(
                *key,
                Rule(value=node.activation),
                gid if own is not None else sid,
                own.id if own is not None else node.id,
            )
    return swapped


def prompt_tokens(graph: AttributionGraph) -> tuple[int, ...]:
    """The prompt's token ids, from the graph's token nodes (one at every position)."""
    tokens = {n.position: n.token_id for n in graph.nodes if n.kind == "token"}
    if sorted(tokens) != list(range(len(tokens))) or None in tokens.values() or not tokens:
        raise InterventionError(f"graph {graph.meta.id!r} lacks a token node with its token id at every position")
    return tuple(tokens[p] for p in range(len(tokens)))


def _target(graph: AttributionGraph, role: str, name: str) -> Target:
    """The latents a name stands for: a node id first, else a supernode name."""
    gid = graph.meta.id
    supernodes = {sn.name: sn for sn in graph.supernodes}
    try:
        nodes, kind = [graph.node(name)], "node"
    except CircuitstoreError:
        if name not in supernodes:
            known = ", ".join(sorted(supernodes)[:10]) or "none"
            raise InterventionError(
                f"graph {gid!r} has no node or supernode {name!r} (node ids look like <layer>_<feature>_<position>, "
                f"e.g. 0_5_9; its supernodes: {known})"
            ) from None
        nodes, kind = [graph.node(m) for m in supernodes[name].members], "supernode"
    for node in nodes:
        where = f"node {node.id!r}" + (f" of supernode {name!r}" if kind == "supernode" else "")
        if node.kind != "latent":
            raise InterventionError(f"graph {gid!r}: {where} is a {node.kind} node; only latents can be intervened on")
        if not node.activation:
            raise InterventionError(f"graph {gid!r}: {where} has no activation to scale or swap")
    if not nodes:
        raise InterventionError(f"graph {gid!r}: supernode {name!r} has no members")
    return Target(role, gid, name, kind, tuple(n.id for n in nodes))


def _specs(graph: AttributionGraph, model: str | None, transcoders: str | None) -> tuple[str, str]:
    """The model and transcoder specs to load: the overrides, else what the graph recorded."""
    meta = graph.meta
    model = model or meta.generation.get(MODEL_SPEC)
    transcoders = transcoders or meta.generation.get(TRANSCODERS_SPEC)
    if model is None or transcoders is None:
        lacking = " and ".join(what for what, spec in (("model", model), ("transcoders", transcoders)) if spec is None)
        raise InterventionError(
            f"graph {meta.id!r} (model {meta.model!r}, transcoders {meta.transcoder_set!r}) records no {lacking} "
            f"to load, as imported graphs do not: give --model and --transcoders"
        )
    return str(model), str(transcoders)


@dataclass(frozen=True)
class TopLogit:
    token_id: int
    text: str
    logit: float
    probability: float


@dataclass(frozen=True)
class LogitChange:
    """One logit node (of the graph intervened on or of the swap graph): its token's value on the
    prompt (the logit minus the mean logit, what a logit node reads) before, and its change as
    measured on the model and as the graphs predict it."""

    graph_id: str
    node_id: str
    token_id: int
    text: str
    before: float
    measured: float
    predicted: float


@dataclass(frozen=True)
class Result:
    plan: Plan
    top_before: tuple[TopLogit, ...]
    top_after: tuple[TopLogit, ...]
    logits: tuple[LogitChange, ...]
    created: str
    text_before: str | None = None  # the greedy continuations, with --generate
    text_after: str | None = None

    @property
    def relative_error(self) -> float | None:
        """sum |measured - predicted| / sum |measured| over the graph's logit nodes (None when
        nothing moved): 0 when the graph predicted every change, 1 when it predicted none."""
        measured = np.array([c.measured for c in self.logits])
        predicted = np.array([c.predicted for c in self.logits])
        moved = float(np.abs(measured).sum())
        return float(np.abs(measured - predicted).sum() / moved) if moved > 0 else None
