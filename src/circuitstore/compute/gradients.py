"""Prompt-dependent gradients between SAE latents, tokens and logits (the latent-gradients section
of ARENA's SAE-circuits material), as rows and as a graph of kind `latent-gradients`.

The dictionaries are SAELens SAEs on the residual stream (`blocks.L.hook_resid_pre`, ...), on
attention outputs (`blocks.L.attn.hook_z`, heads flattened as SAELens does) or transcoders, at most
one per layer; each reads its input hook and writes its output hook (the same hook for an SAE).
For one prompt (all positions, BOS included) they give, with the material's conventions:

- token-to-latent: d a_i / d s_p, the derivative of latent i's activation with respect to a scale
  s_p on position p's input to block 0 (token plus positional embedding), at s = 1, the true model
  running from there;
- latent-to-latent, for dictionaries A before B: d b_i / d a_j. A's activations a are those of the
  true model's run; A's output is replaced by its reconstruction decode(a) (for a transcoder with
  a skip path, plus the skip path of its true input), with no error term, so the Jacobian is taken
  at the reconstruction, as the material does; the model runs normally from there to B's input
  hook, where B's encoder gives b, and nothing after it runs (later layers are detached);
- latent-to-logit: d logit_t / d a_j for the `top_logits` tokens t the true model finds most
  likely at the last position, A's output replaced by decode(a) and the model run to the end.

Sources are the latents active in the true run (the material differentiates with respect to
the nonzero entries only); targets are the latents active in the true run too, so one node set
serves every pair (a target that the reconstruction switches off has zero gradients). Each
Jacobian is computed by pushing one-hot reading vectors back through `batch` copies of the
prompt at once; zero entries are left out.

`gradient_graph` stores them as an AttributionGraph of kind `latent-gradients`: token, latent
and logit nodes as in attribution graphs (a latent's layer is its dictionary's, its activation
the true one), one edge per nonzero Jacobian entry from source to target, weight = the
gradient. Every query of the library runs on it; `share` and path strength then normalise
gradients, not attributions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import torch
from sae_lens import SAE, SkipTranscoder, Transcoder
from transformer_lens import HookedTransformer

from circuitstore import identity
from circuitstore.compute.attribution import Prompt, token_nodes, tokenize
from circuitstore.compute.errors import ComputeError
from circuitstore.compute.targets import logit_nodes, token_text
from circuitstore.compute.transcoders import saved_saes
from circuitstore.graph import AttributionGraph, GraphMeta, Node

KIND = "latent-gradients"
EMBED_HOOK = "blocks.0.hook_resid_pre"
_LAYER = re.compile(r"^blocks\.(\d+)\.")


@dataclass(frozen=True)
class Dictionary:
    """One SAE or transcoder with the layer and hooks it reads and writes."""

    layer: int
    sae: SAE
    hook_in: str
    hook_out: str

    def encode(self, value: torch.Tensor) -> torch.Tensor:
        """Latent activations [batch, pos, d_sae] from what the input hook holds."""
        if value.dim() == 4 and not getattr(self.sae, "hook_z_reshaping_mode", False):
            value = value.flatten(-2)  # hook_z: heads flattened, as SAELens trains on them
        return self.sae.encode(value.to(self.sae.dtype))

    def decode(self, acts: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """The reconstruction, in the shape and dtype of what the output hook holds."""
        return self.sae.decode(acts).reshape(like.shape).to(like.dtype)


@dataclass(frozen=True)
class Dictionaries:
    """A named set of dictionaries, in layer order (the set's name names their Features)."""

    name: str
    items: tuple[Dictionary, ...]

    @classmethod
    def from_saes(cls, name: str, saes: Sequence[SAE], model: HookedTransformer) -> Dictionaries:
        found: dict[int, Dictionary] = {}
        for i, sae in enumerate(saes):
            meta = sae.cfg.metadata
            hook_in = meta.hook_name
            hook_out = getattr(meta, "hook_name_out", None) if isinstance(sae, Transcoder) else hook_in
            where = f"dictionary {i} of {name!r}"
            for hook in (hook_in, hook_out):
                if hook not in model.hook_dict:
                    raise ComputeError(f"{where}: the model has no hook {hook!r}")
            m = _LAYER.match(hook_out)
            if not m:
                raise ComputeError(f"{where}: hook {hook_out!r} names no layer")
            layer = int(m.group(1))
            if layer in found:
                raise ComputeError(f"{name!r} holds two dictionaries for layer {layer}; give one per layer")
            found[layer] = Dictionary(layer, sae.eval(), hook_in, hook_out)
        if not found:
            raise ComputeError(f"{name!r} holds no dictionaries")
        if any(d.hook_in.endswith(".hook_mlp_in") for d in found.values()):
            model.set_use_hook_mlp_in(True)  # fired only when asked for
        return cls(name, tuple(found[layer] for layer in sorted(found)))


def load_dictionaries(path: str | Path, model: HookedTransformer, device: str = "cpu") -> Dictionaries:
    """A directory whose subdirectories each hold one SAE or transcoder saved by SAELens."""
    return Dictionaries.from_saes(str(Path(path).resolve()), saved_saes(path, device), model)


@dataclass(frozen=True)
class Gradients:
    """The prompt's tokens, active latents, logits and every nonzero gradient between them."""

    prompt: str
    tokens: list[int]
    latents: list[tuple[int, int, int, float]]  # (layer, position, feature, activation), sorted
    logits: list[tuple[int, float]]  # (token id, probability), most likely first
    # (kind, source, target, gradient); sources and targets index `tokens` (positions),
    # `latents` or `logits` as the kind says: token-latent, latent-latent, latent-logit.
    rows: list[tuple[str, int, int, float]]


def latent_gradients(
    model: HookedTransformer, dictionaries: Dictionaries, prompt: Prompt, *, top_logits: int = 5, batch: int = 16
) -> Gradients:
    text, ids = tokenize(model, prompt)
    tokens = torch.tensor(ids, device=model.cfg.device)[None]
    return _Jacobians(model, dictionaries, tokens, batch).gradients(text, ids, top_logits)


class _Jacobians:
    def __init__(self, model: HookedTransformer, dicts: Dictionaries, tokens: torch.Tensor, batch: int) -> None:
        self.model, self.dicts, self.tokens, self.batch = model, dicts, tokens, batch
        captured: dict[str, torch.Tensor] = {}

        def keep(value: torch.Tensor, hook) -> None:
            captured[hook.name] = value.detach()

        names = {d.hook_in for d in dicts.items} | {d.hook_out for d in dicts.items}
        with torch.no_grad():
            self.logits = model.run_with_hooks(tokens, fwd_hooks=[(n, keep) for n in names])[0, -1].float()
            self.acts = [d.encode(captured[d.hook_in])[0] for d in dicts.items]  # [pos, d_sae] each
        self.captured = captured
        # Active latents per dictionary: (positions, features), sorted by position then feature.
        self.active = [a.nonzero(as_tuple=True) for a in self.acts]

    def gradients(self, text: str, ids: list[int], top_logits: int) -> Gradients:
        offsets, latents = [], []
        for d, acts, (pos, feat) in zip(self.dicts.items, self.acts, self.active):
            offsets.append(len(latents))
            latents += [(d.layer, p, f, float(acts[p, f])) for p, f in zip(pos.tolist(), feat.tolist())]
        probs = torch.softmax(self.logits, -1)
        top = probs.topk(min(top_logits, probs.shape[0]))
        logits = list(zip(top.indices.tolist(), top.values.tolist()))
        rows: list[tuple[str, int, int, float]] = []
        for b in range(len(self.dicts.items)):
            rows += _entries("token-latent", self.jacobian(None, b, None), 0, offsets[b])
            for a in range(b):
                rows += _entries("latent-latent", self.jacobian(a, b, None), offsets[a], offsets[b])
            rows += _entries("latent-logit", self.jacobian(b, None, top.indices), offsets[b], 0)
        return Gradients(text, ids, latents, logits, rows)

    def jacobian(self, source: int | None, target: int | None, logit_ids: torch.Tensor | None) -> torch.Tensor:
        """[targets, sources]: latents of dictionary `target` (or the logits `logit_ids` at the last
        position) by latents of dictionary `source` (or the scale of each position's embedding)."""
        n_src = self.tokens.shape[1] if source is None else len(self.active[source][0])
        n_tgt = len(logit_ids) if target is None else len(self.active[target][0])
        out = torch.zeros((n_tgt, n_src))
        for lo in range(0, n_tgt if n_src else 0, self.batch):
            hi = min(lo + self.batch, n_tgt)
            out[lo:hi] = self._rows(source, target, logit_ids, lo, hi, n_src)
        return out

    def _rows(
        self, source: int | None, target: int | None, logit_ids: torch.Tensor | None, lo: int, hi: int, n_src: int
    ) -> torch.Tensor:
        """Rows lo..hi-1 of the Jacobian: one copy of the prompt per target, one backward pass."""
        copies = hi - lo
        if source is None:
            leaf = torch.ones((copies, n_src), device=self.tokens.device, requires_grad=True)
            hooks = [(EMBED_HOOK, lambda v, hook: v * leaf[:, :, None].to(v.dtype))]
        else:
            pos, feat = self.active[source]
            leaf = self.acts[source][pos, feat].float().expand(copies, n_src).clone().requires_grad_(True)
            dense = torch.zeros((copies, *self.acts[source].shape), device=leaf.device)
            dense = dense.index_put((torch.arange(copies)[:, None], pos[None], feat[None]), leaf)
            d = self.dicts.items[source]
            hooks = [(d.hook_out, lambda v, hook: self._splice(d, dense, v))]
        read: dict[str, torch.Tensor] = {}
        stop = None
        if target is not None:
            t = self.dicts.items[target]
            hooks.append((t.hook_in, lambda v, hook: read.__setitem__("b", t.encode(v))))
            stop = t.layer + 1  # nothing after the target's input runs
        with torch.enable_grad():
            result = self.model.run_with_hooks(self.tokens.expand(copies, -1), fwd_hooks=hooks, stop_at_layer=stop)
            rows = torch.arange(copies)
            if target is None:
                picked = result[rows, -1, logit_ids[lo:hi]]
            else:
                pos, feat = self.active[target]
                picked = read["b"][rows, pos[lo:hi], feat[lo:hi]]
            (grad,) = torch.autograd.grad(picked.sum(), leaf)
        return grad.float().cpu()

    def _splice(self, d: Dictionary, acts: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
        """A dictionary's reconstruction from `acts`, for what its output hook holds (`value`)."""
        out = d.decode(acts, value)
        if isinstance(d.sae, SkipTranscoder):
            x = self.captured[d.hook_in].expand(value.shape[0], *self.captured[d.hook_in].shape[1:])
            out = out + (x.to(d.sae.dtype) @ d.sae.W_skip.T).to(value.dtype)
        return out


def _entries(kind: str, jac: torch.Tensor, src_offset: int, tgt_offset: int) -> list[tuple[str, int, int, float]]:
    t, s = jac.nonzero(as_tuple=True)
    return [(kind, src_offset + a, tgt_offset + b, w) for a, b, w in zip(s.tolist(), t.tolist(), jac[t, s].tolist())]


def gradient_graph(
    model: HookedTransformer, dictionaries: Dictionaries, prompt: Prompt, *, top_logits: int = 5, batch: int = 16
) -> AttributionGraph:
    """The gradients as a graph of kind `latent-gradients` (module docstring)."""
    g = latent_gradients(model, dictionaries, prompt, top_logits=top_logits, batch=batch)
    texts = [token_text(model, t) for t in g.tokens]
    tokens = token_nodes(g.tokens, texts)
    latents = [
        Node(identity.latent_id(layer, f, p), "latent", p, layer=layer, feature_index=f, activation=a)
        for layer, p, f, a in g.latents
    ]
    tokens_out = [t for t, _ in g.logits]
    logits = logit_nodes(
        model.cfg.n_layers,
        len(g.tokens),
        tokens_out,
        tokens_out,
        [token_text(model, t) for t in tokens_out],
        [p for _, p in g.logits],
    )
    nodes = {"token": tokens, "latent": latents, "logit": logits}
    kinds = {
        "token-latent": ("token", "latent"),
        "latent-latent": ("latent", "latent"),
        "latent-logit": ("latent", "logit"),
    }
    edges = []
    for kind, s, t, w in g.rows:
        a, b = kinds[kind]
        edges.append((nodes[a][s].id, nodes[b][t].id, w))
    settings = {"kind": KIND, "top_logits": top_logits, "dtype": str(model.cfg.dtype).removeprefix("torch.")}
    meta = GraphMeta(
        id=identity.graph_id(g.prompt, g.tokens, model.cfg.model_name, dictionaries.name, settings),
        prompt=g.prompt,
        prompt_tokens=tuple(texts),
        model=model.cfg.model_name,
        transcoder_set=dictionaries.name,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        generation=settings,
        kind=KIND,
    )
    return AttributionGraph.from_edge_ids(meta, tokens + latents + logits, edges)
