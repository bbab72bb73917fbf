"""Running interventions (circuitstore.interventions) on the real model.

An Edit changes one latent where it fires: its activation a becomes its Rule's value (scale * a,
or a fixed value) by adding (new - a) times what the latent writes (TranscoderSet.decoders: its
decoder row, at its own layer's output for per-layer transcoders) at its position. `a` is the
transcoder's encoding of the layer's input in this very run, so a latent downstream of another
edit is scaled from where that edit left it, and a zero-ablated one stays at zero.

Two ways to run the rest of the model:
- free (the default): the true model, attention, norms and MLPs all reacting to the change;
- frozen: the prompt's local replacement model, as the graph has it: attention patterns and
  norm scales fixed at their values on the unchanged prompt, each MLP replaced by its
  transcoder (whose latents still react, thresholds and all) plus its error on the unchanged
  prompt, fixed. Unchanged, it reproduces the model; changed, it differs from the graph's
  linear prediction (prediction.py) only where a latent crosses its threshold or the graph was
  pruned.

Generation (greedy, free only) re-runs the whole sequence for every new token, the edits acting
at their prompt positions and the new tokens' positions running unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import torch
from transformer_lens import HookedTransformer
from transformer_lens.utilities.activation_functions import apply_softcap

from circuitstore.compute.attribution import token_text
from circuitstore.compute.errors import ComputeError
from circuitstore.compute.models import load_model
from circuitstore.compute.replacement import final_residual, frozen_name
from circuitstore.compute.transcoders import TranscoderSet, load_transcoders
from circuitstore.graph import AttributionGraph
from circuitstore.interventions import Edit, InterventionError, LogitChange, Plan, Result, TopLogit, prompt_tokens
from circuitstore.prediction import logit_nodes, predicted_changes


@dataclass(frozen=True)
class Readout:
    """The last position of one run: the normalised final residual and the logits."""

    final: torch.Tensor  # [d_model]
    logits: torch.Tensor  # [d_vocab]


class _Clean:
    """What the frozen mode fixes, from a run of the unchanged prompt: every attention pattern
    and norm scale, and each layer's transcoder error."""

    def __init__(self, model: HookedTransformer, tcs: TranscoderSet, tokens: torch.Tensor) -> None:
        self.values: dict[str, torch.Tensor] = {}
        mlp = set(tcs.hooks_in) | set(tcs.hooks_out)

        def keep(value: torch.Tensor, hook) -> None:
            self.values[hook.name] = value

        model.run_with_hooks(tokens, fwd_hooks=[(lambda name: frozen_name(name) or name in mlp, keep)])
        self.errors = []
        for layer in range(tcs.n_layers):
            x = self.values[tcs.hooks_in[layer]][0]
            self.errors.append(self.values[tcs.hooks_out[layer]][0] - tcs.output(layer, x, tcs.encode(layer, x)))

    def freeze(self, value: torch.Tensor, hook) -> torch.Tensor:
        return self.values[hook.name]


def _hooks(tcs: TranscoderSet, edits: Sequence[Edit], clean: _Clean | None) -> list:
    """The hooks of one forward pass applying `edits` (frozen when `clean` is given)."""
    by_layer: dict[int, list[Edit]] = {}
    for e in edits:
        by_layer.setdefault(e.layer, []).append(e)
    reads: dict[int, torch.Tensor] = {}
    pending: dict[int, list[tuple[torch.Tensor, torch.Tensor]]] = {}  # output layer -> (positions, vectors)

    def read(layer: int):
        def hook_fn(x: torch.Tensor, hook) -> None:
            reads[layer] = x
            group = by_layer.get(layer)
            if not group:
                return
            positions = torch.tensor([e.position for e in group], device=x.device)
            features = torch.tensor([e.feature for e in group], device=x.device)
            current = tcs.encode(layer, x[0, positions])[torch.arange(len(group)), features]
            new = torch.tensor([e.rule.applied(float(a)) for e, a in zip(group, current)], dtype=current.dtype)
            delta = new.to(current.device) - current
            for out_layer, rows in tcs.decoders(layer, features):
                pending.setdefault(out_layer, []).append((positions, delta[:, None] * rows))

        return hook_fn

    def write(layer: int):
        def hook_fn(out: torch.Tensor, hook) -> torch.Tensor:
            if clean is not None:  # the transcoder and its fixed error stand in for the MLP
                x = reads[layer][0]
                out = (tcs.output(layer, x, tcs.encode(layer, x)) + clean.errors[layer])[None].to(out.dtype)
            for positions, vectors in pending.pop(layer, []):
                out = out.clone()
                out[0].index_add_(0, positions, vectors.to(out.dtype))
            return out

        return hook_fn

    hooks = [] if clean is None else [(frozen_name, clean.freeze)]
    for layer in range(tcs.n_layers):
        hooks += [(tcs.hooks_in[layer], read(layer)), (tcs.hooks_out[layer], write(layer))]
    return hooks


@torch.no_grad()
def run(
    model: HookedTransformer,
    tcs: TranscoderSet,
    tokens: Sequence[int],
    edits: Sequence[Edit] = (),
    frozen: bool = False,
) -> Readout:
    """One forward pass of the prompt with `edits` applied, free or frozen."""
    ids = torch.tensor([list(tokens)], device=model.cfg.device)
    clean = _Clean(model, tcs, ids) if frozen else None
    with model.hooks(fwd_hooks=_hooks(tcs, edits, clean)):
        final = final_residual(model, ids)[0, -1]
    logits = apply_softcap(model.unembed(final[None, None]), model.cfg.output_logits_soft_cap)[0, 0]
    return Readout(final, logits)


def generate(
    model: HookedTransformer, tcs: TranscoderSet, tokens: Sequence[int], edits: Sequence[Edit], n: int
) -> list[int]:
    """`n` tokens of greedy continuation with `edits` applied (free)."""
    seq = list(tokens)
    for _ in range(n):
        seq.append(int(run(model, tcs, seq, edits).logits.argmax()))
    return seq[len(tokens) :]


def load(plan: Plan, device: str = "cpu") -> tuple[HookedTransformer, TranscoderSet]:
    """The model and transcoders `plan` names, in the graph's dtype; one that cannot be loaded is
    an InterventionError naming the graph."""
    try:
        model = load_model(plan.model_spec, device=device, dtype=plan.dtype)
        return model, load_transcoders(plan.transcoders_spec, model, device=device, dtype=plan.dtype)
    except ComputeError as exc:
        raise InterventionError(f"graph {plan.graph.meta.id!r}: cannot load its model and transcoders: {exc}") from exc


@torch.no_grad()
def check_reproduces(model: HookedTransformer, tcs: TranscoderSet, graph: AttributionGraph) -> None:
    """The model and transcoders give the graph's latents the activations it records; else they
    are not what it was computed with (InterventionError)."""
    tokens = prompt_tokens(graph)
    if max(tokens) >= model.cfg.d_vocab:
        raise InterventionError(f"graph {graph.meta.id!r} has token ids beyond the model's {model.cfg.d_vocab}")
    latents = [n for n in graph.nodes if n.kind == "latent"]
    if not latents:
        return
    reads: dict[str, torch.Tensor] = {}

    def keep(value: torch.Tensor, hook) -> None:
        reads[hook.name] = value[0]

    layers = {n.layer for n in latents}
    if max(layers) >= tcs.n_layers:
        raise InterventionError(f"graph {graph.meta.id!r} has latents in layer {max(layers)}, beyond the transcoders")
    ids = torch.tensor([list(tokens)], device=model.cfg.device)
    model.run_with_hooks(ids, fwd_hooks=[(tcs.hooks_in[layer], keep) for layer in layers])
    acts = {layer: tcs.encode(layer, reads[tcs.hooks_in[layer]]) for layer in layers}
    stored = np.array([n.activation for n in latents])
    d_sae = min(a.shape[-1] for a in acts.values())
    if max(n.feature_index for n in latents) >= d_sae:
        raise InterventionError(f"graph {graph.meta.id!r} has latent indices beyond the transcoders' {d_sae}")
    found = np.array([float(acts[n.layer][n.position, n.feature_index]) for n in latents])
    # Rounding apart (another device, batch or dtype), activations agree to 1e-3 of the largest.
    tol = (3e-2 if model.cfg.dtype == torch.bfloat16 else 1e-3) * float(np.abs(stored).max())
    off = np.flatnonzero(np.abs(found - stored) > tol)
    if off.size:
        n = latents[off[0]]
        raise InterventionError(
            f"the model loaded does not reproduce graph {graph.meta.id!r}: latent {n.id!r} has activation "
            f"{found[off[0]]:.4g} here, {n.activation:.4g} in the graph (give the --model and --transcoders "
            "it was computed with)"
        )


def intervene(plan: Plan, model: HookedTransformer, tcs: TranscoderSet, top: int = 5) -> Result:
    """Run `plan` on `model` and `tcs` (those its graph was computed with: checked) and set the
    measured changes beside the graph's predictions."""
    room = model.cfg.n_ctx - len(plan.tokens)
    if plan.generate > room:
        raise InterventionError(f"--generate {plan.generate}: the model's context leaves room for {room} tokens")
    for graph in (plan.graph, plan.swap_graph):
        if graph is not None:
            check_reproduces(model, tcs, graph)
    before = run(model, tcs, plan.tokens)
    after = run(model, tcs, plan.tokens, plan.edits, frozen=plan.frozen)
    nodes = logit_nodes(plan)
    w_u = model.W_U.to(torch.float64)
    reads = w_u[:, [n.token_id for _, n in nodes]] - w_u.mean(dim=1, keepdim=True)
    value_before = (before.final.to(torch.float64) @ reads).tolist()
    value_after = (after.final.to(torch.float64) @ reads).tolist()
    predicted = predicted_changes(plan)
    changes = tuple(
        LogitChange(gid, n.id, n.token_id, n.text or token_text(model, n.token_id), b, a - b, predicted[n.token_id])
        for (gid, n), b, a in zip(nodes, value_before, value_after)
    )
    texts = {}
    if plan.generate:
        for when, edits in (("text_before", ()), ("text_after", plan.edits)):
            new = generate(model, tcs, plan.tokens, edits, plan.generate)
            texts[when] = model.tokenizer.decode(new) if model.tokenizer is not None else " ".join(map(str, new))
    return Result(
        plan=plan,
        top_before=_top(model, before.logits, top),
        top_after=_top(model, after.logits, top),
        logits=changes,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        **texts,
    )


def _top(model: HookedTransformer, logits: torch.Tensor, k: int) -> tuple[TopLogit, ...]:
    probs = torch.softmax(logits.to(torch.float64), dim=-1)
    values, ids = logits.topk(k)
    return tuple(
        TopLogit(int(t), token_text(model, int(t)), float(v), float(probs[t])) for v, t in zip(values, ids.tolist())
    )
