"""Identity checks for attribution graphs, computed independently of circuitstore.compute.

Each check takes a HookedTransformer, its transcoders (SAELens transcoders in layer order, a
circuitstore SaeLensTranscoders, or the directory of a set in circuit-tracer's layout: a
cross-layer transcoder or per-layer ReLU, JumpReLU or Top-K transcoders) and prompt token ids,
asserts, and returns nothing:

- `check_replacement_logits(model, transcoders, tokens)`: the replacement model (transcoders
  plus error terms, frozen attention patterns and norm scales) reproduces the model's logits,
  both as the reference below builds it and as `circuitstore.compute.Replacement` does.
- `check_edges(model, transcoders, tokens)`: every edge weight of the unpruned graph from
  `circuitstore.compute.attribute` equals d(target)/dα at α = 1, where α scales what the
  source writes (activation times decoder rows, at every layer it writes to; error vector;
  token vector) and the target is a latent's pre-activation or a logit read along its vector
  (a likely or chosen token's demeaned unembedding column, a logit difference, a given vector:
  `targets`, the settings' Target values, as the graph was computed with). Graph
  latents must be active latents with their activations; when the graph holds every active
  latent, sources outside it must have zero derivative. `max_targets` checks an even subset of
  targets (for big models); `graph` checks a graph computed elsewhere (e.g. with a budget).
- `check_completeness(model, transcoders, tokens)`: each target equals the sum of its incoming
  edges plus its bias, the target's value with every α set to 0 (needs every active latent).

The checks follow the conventions the graph records in `meta.generation` (the settings'
defaults where it records none; `options` are AttributionSettings fields for the graph the
checks compute themselves): with `token_vectors` "embed" the token's α scales the value at
`hook_embed` (W_E[token]; a learned position embedding then belongs to the bias), with
"resid_pre" the whole of `blocks.0.hook_resid_pre`; without `position_0_sources` the latents
and errors at position 0 are no sources: they keep α = 1, so they sit in every target's bias,
and no graph latent may be there.

Without `graph`, the checks attribute every active latent: keep transcoders sparse on the
prompt (a few hundred active latents) on big models.

The reference is this file's own frozen forward pass: TransformerLens hooks replace
`hook_pattern` and every `hook_scale` (LayerNorm/RMSNorm, incl. Gemma's ln1_post/ln2_post and
q/k norms) by their values on the prompt, replace each transcoder's output hook with
α-weighted sources, and torch.autograd takes derivatives with respect to α. It uses SAELens' own
encode/decode for SAELens transcoders, and for circuit-tracer's layouts reads the files itself
(safetensors, dense) and computes circuit-tracer's activations (JumpReLU x * (x > t), Top-K
without ReLU) and a cross-layer latent's writes at each later layer here; nothing from
circuitstore.compute except the graph under test.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
import yaml
from safetensors.torch import load_file
from transformer_lens import HookedTransformer
from transformer_lens.utilities.activation_functions import apply_softcap

from circuitstore.compute import (
    AttributionSettings,
    SaeLensTranscoders,
    Target,
    TranscoderSet,
    attribute,
    load_transcoders,
)
from circuitstore.graph import AttributionGraph

# The hook whose value a token node's α scales, by AttributionSettings.token_vectors.
TOKEN_HOOK = {"embed": "hook_embed", "resid_pre": "blocks.0.hook_resid_pre"}


def _frozen(name: str) -> bool:
    """Attention patterns and norm scales: replaced by their values on the prompt."""
    return name.endswith("hook_pattern") or name.endswith("hook_scale")


class _SaeLens:
    """SAELens transcoders as the reference reads them: SAELens' own encode, then float32."""

    def __init__(self, saes: list) -> None:
        self.saes = saes
        self.hooks_in = [tc.cfg.metadata.hook_name for tc in saes]
        self.hooks_out = [tc.cfg.metadata.hook_name_out for tc in saes]
        self.d_sae = saes[0].cfg.d_sae

    def encode(self, layer: int, x: torch.Tensor) -> torch.Tensor:
        tc = self.saes[layer]
        return tc.encode(x.to(tc.dtype)).float()

    def pre(self, layer: int, x: torch.Tensor) -> torch.Tensor:
        tc = self.saes[layer]
        return x.float() @ tc.W_enc.float() + tc.b_enc.float()

    def output(self, layer: int, acts: list[torch.Tensor]) -> torch.Tensor:
        tc = self.saes[layer]
        return acts[layer] @ tc.W_dec.float() + tc.b_dec.float()

    def skip(self, layer: int, x: torch.Tensor) -> torch.Tensor | None:
        tc = self.saes[layer]
        return x.float() @ tc.W_skip.float().T if hasattr(tc, "W_skip") else None


class _Files:
    """A set in circuit-tracer's layout, read whole from its directory: a cross-layer
    transcoder (layer l's latents write to layers l..n-1) or one transcoder per layer."""

    def __init__(self, directory: Path, n_layers: int) -> None:
        config = yaml.safe_load((directory / "config.yaml").read_text())
        self.hooks_in = [f"blocks.{i}.{config['feature_input_hook']}" for i in range(n_layers)]
        self.hooks_out = [f"blocks.{i}.{config['feature_output_hook']}" for i in range(n_layers)]
        self.k = config.get("k") if config.get("activation") == "topk" else None
        self.w_enc, self.b_enc, self.b_dec, self.threshold, self.w_skip = [], [], [], [], []
        self.w_dec: list[dict[int, torch.Tensor]] = []  # per source layer: {output layer: [d_sae, d]}
        for i in range(n_layers):
            if config["model_kind"] == "cross_layer_transcoder":
                enc = load_file(directory / f"W_enc_{i}.safetensors")
                dec = load_file(directory / f"W_dec_{i}.safetensors")[f"W_dec_{i}"].float()
                self.w_enc.append(enc[f"W_enc_{i}"].float())
                self.b_enc.append(enc[f"b_enc_{i}"].float())
                self.b_dec.append(enc[f"b_dec_{i}"].float())
                self.threshold.append(enc.get(f"threshold_{i}"))
                self.w_dec.append({i + j: dec[:, j] for j in range(dec.shape[1])})
                self.w_skip.append(None)
            else:
                w = load_file(directory / f"layer_{i}.safetensors")
                self.w_enc.append(w["W_enc"].float())
                self.b_enc.append(w["b_enc"].float())
                self.b_dec.append(w["b_dec"].float())
                self.threshold.append(None if self.k else w.get("activation_function.threshold"))
                self.w_dec.append({i: w["W_dec"].float()})
                self.w_skip.append(w["W_skip"].float() if "W_skip" in w else None)
        self.d_sae = self.w_enc[0].shape[0]

    def pre(self, layer: int, x: torch.Tensor) -> torch.Tensor:
        return x.float() @ self.w_enc[layer].T + self.b_enc[layer]

    def encode(self, layer: int, x: torch.Tensor) -> torch.Tensor:
        pre = self.pre(layer, x)
        if self.k is not None:  # the k largest pre-activations, whatever their sign
            kept = torch.zeros_like(pre, dtype=torch.bool)
            kept.scatter_(-1, pre.topk(self.k, dim=-1).indices, True)
            return torch.where(kept, pre, 0.0)
        t = self.threshold[layer]
        return F.relu(pre) if t is None else torch.where(pre > t.float(), pre, 0.0)

    def output(self, layer: int, acts: list[torch.Tensor]) -> torch.Tensor:
        """What every latent writing at `layer` writes there, plus the bias."""
        out = self.b_dec[layer]
        for source, decoders in enumerate(self.w_dec):
            if layer in decoders:
                out = out + acts[source] @ decoders[layer]
        return out

    def skip(self, layer: int, x: torch.Tensor) -> torch.Tensor | None:
        w = self.w_skip[layer]
        return None if w is None else x.float() @ w.T


def _reference_set(model, transcoders):
    if isinstance(transcoders, (str, Path)):
        return _Files(Path(transcoders), model.cfg.n_layers)
    return _SaeLens(list(transcoders.transcoders) if isinstance(transcoders, SaeLensTranscoders) else list(transcoders))


def _set(model, transcoders) -> TranscoderSet:
    if isinstance(transcoders, TranscoderSet):
        return transcoders
    if isinstance(transcoders, (str, Path)):
        return load_transcoders(transcoders, model)
    return SaeLensTranscoders.from_saes("checks", transcoders, model)


def unpruned_graph(
    model: HookedTransformer, transcoders, tokens: Sequence[int], batch_size: int = 32, **options
) -> AttributionGraph:
    """The graph under test: every active latent visited, nothing pruned; `options` are other
    AttributionSettings fields."""
    return attribute(
        model,
        _set(model, transcoders),
        list(tokens),
        AttributionSettings(max_feature_nodes=None, batch_size=batch_size, **options),
    )


class Reference:
    """The frozen replacement model as a function of α, built from hooks alone, with the
    conventions of `generation` (a graph's meta.generation) and its logits read along the
    vectors of `targets` (the settings' Target values; none: the likely tokens')."""

    def __init__(
        self,
        model: HookedTransformer,
        transcoders,
        tokens: Sequence[int],
        generation=None,
        targets: Sequence[Target] = (),
    ) -> None:
        defaults = AttributionSettings()
        generation = generation or {}
        self.token_hook = TOKEN_HOOK[generation.get("token_vectors", defaults.token_vectors)]
        # Latents and errors before this position are no sources.
        self.first_source = 0 if generation.get("position_0_sources", defaults.position_0_sources) else 1
        self.model, self.set, self.targets = model, _reference_set(model, transcoders), list(targets)
        self.n_layers = len(self.set.hooks_in)
        if any(h.endswith(".hook_mlp_in") for h in self.set.hooks_in):
            model.set_use_hook_mlp_in(True)  # TransformerLens fires it only when asked to
        self.tokens = torch.tensor([list(tokens)], device=model.cfg.device)
        clean: dict[str, torch.Tensor] = {}

        def save(value, hook):
            clean[hook.name] = value[0].detach().clone()

        def save_frozen(value, hook):
            self.frozen[hook.name] = value.detach().clone()

        self.frozen: dict[str, torch.Tensor] = {}
        names = [self.token_hook, *self.set.hooks_in, *self.set.hooks_out]
        with torch.no_grad():
            hooks = [(n, save) for n in names] + [(_frozen, save_frozen)]
            self.clean_logits = model.run_with_hooks(self.tokens, fwd_hooks=hooks)[0]
            self.embed = clean[self.token_hook].float()
            inputs = [clean[h].float() for h in self.set.hooks_in]
            self.acts = [self.set.encode(layer, x) for layer, x in enumerate(inputs)]
            self.errors = []
            for layer, x in enumerate(inputs):
                out = self.set.output(layer, self.acts)
                skip = self.set.skip(layer, x)
                out = out if skip is None else out + skip
                self.errors.append(clean[self.set.hooks_out[layer]].float() - out)
        self.n_pos = self.tokens.shape[1]

    def alphas(self, value: float) -> dict[str, torch.Tensor]:
        n = self.n_pos
        return {
            "token": torch.full((n,), value, requires_grad=True),
            "error": torch.full((self.n_layers, n), value, requires_grad=True),
            "latent": torch.full((self.n_layers, n, self.set.d_sae), value, requires_grad=True),
        }

    def run(self, alpha: dict[str, torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """(final normalised residual [pos, d], per-layer latent pre-activations [pos, d_sae])."""
        model, reads = self.model, {}
        dtype = model.cfg.dtype

        def freeze(value, hook):
            return self.frozen[hook.name]

        def embed(value, hook):
            return (alpha["token"][:, None] * self.embed)[None].to(dtype)

        def read(value, hook):
            reads[hook.name] = value

        def scale(a: torch.Tensor) -> torch.Tensor:
            """α where sources are, 1 before the first source position."""
            fixed = torch.ones_like(a[: self.first_source])
            return torch.cat([fixed, a[self.first_source :]])

        # A latent's α scales it wherever it writes (at several layers for a cross-layer one).
        acts = [scale(alpha["latent"][layer]) * a for layer, a in enumerate(self.acts)]

        def write(layer):
            def fn(value, hook):
                errors = scale(alpha["error"][layer])[:, None] * self.errors[layer]
                out = self.set.output(layer, acts) + errors
                skip = self.set.skip(layer, reads[self.set.hooks_in[layer]][0])
                return (out if skip is None else out + skip)[None].to(dtype)

            return fn

        hooks = [(_frozen, freeze), (self.token_hook, embed)]
        hooks += [(h, read) for h in self.set.hooks_in]
        hooks += [(h, write(layer)) for layer, h in enumerate(self.set.hooks_out)]
        with torch.enable_grad(), model.hooks(fwd_hooks=hooks):
            resid = model(self.tokens, stop_at_layer=model.cfg.n_layers)
            final = model.ln_final(resid) if model.cfg.normalization_type is not None else resid
        pre = [self.set.pre(layer, reads[h][0]) for layer, h in enumerate(self.set.hooks_in)]
        return final[0].float(), pre

    def logits(self) -> torch.Tensor:
        final, _ = self.run(self.alphas(1.0))
        logits = final @ self.model.W_U.float() + self.model.b_U.float()
        cap = self.model.cfg.output_logits_soft_cap
        return cap * torch.tanh(logits / cap) if cap > 0 else logits

    def read_vector(self, place: int, node) -> torch.Tensor:
        """What the `place`-th logit node is read along at the unembedding's input."""
        w_u = self.model.W_U.float()
        target = self.targets[place] if self.targets else None
        if target is None or target.kind == "token":
            return w_u[:, node.token_id] - w_u.mean(dim=1)
        if target.kind == "vector":
            return torch.tensor(target.vector, dtype=torch.float32)
        a, b = (self._token(t) for t in target.tokens)
        return w_u[:, a] - w_u[:, b]

    def _token(self, token: str | int) -> int:
        if isinstance(token, int):
            return token
        if self.model.tokenizer is None:
            return int(token)
        (only,) = self.model.tokenizer.encode(token, add_special_tokens=False)
        return only

    def target_value(self, graph: AttributionGraph, node, final: torch.Tensor, pre: list[torch.Tensor]):
        if node.kind == "logit":
            place = [n.id for n in graph.nodes if n.kind == "logit"].index(node.id)
            return final[node.position] @ self.read_vector(place, node)
        return pre[node.layer][node.position, node.feature_index]


def _incoming(graph: AttributionGraph) -> dict[int, dict[int, float]]:
    rows: dict[int, dict[int, float]] = {}
    for s, t, w in zip(graph.sources.tolist(), graph.targets.tolist(), graph.weights.tolist()):
        rows.setdefault(t, {})[s] = w
    return rows


def _targets(graph: AttributionGraph, max_targets: int | None) -> list[int]:
    targets = [i for i, n in enumerate(graph.nodes) if n.kind in ("latent", "logit")]
    if max_targets is not None and len(targets) > max_targets:
        step = len(targets) / max_targets
        targets = [targets[int(k * step)] for k in range(max_targets)]
    return targets


def check_replacement_logits(model: HookedTransformer, transcoders, tokens: Sequence[int], atol: float = 1e-4) -> None:
    from circuitstore.compute import Replacement

    ref = Reference(model, transcoders, tokens)
    scale = max(1.0, float(ref.clean_logits.abs().max()))
    own = ref.logits()
    assert torch.allclose(own, ref.clean_logits.float(), rtol=0, atol=atol * scale), float(
        (own - ref.clean_logits).abs().max()
    )
    # All logits of the production replacement model, as the model's own unembedding reads them.
    run = Replacement(model, _set(model, transcoders), torch.tensor(list(tokens))).frozen(1)
    with torch.no_grad():
        production = apply_softcap(model.unembed(run.final), model.cfg.output_logits_soft_cap)[0].float()
    diff = float((production - ref.clean_logits.float()).abs().max())
    assert diff <= atol * scale, f"replacement logits differ by {diff}"


def check_edges(
    model: HookedTransformer,
    transcoders,
    tokens: Sequence[int],
    rtol: float = 1e-4,
    max_targets: int | None = None,
    graph: AttributionGraph | None = None,
    targets: Sequence[Target] = (),
) -> None:
    graph = graph or unpruned_graph(model, transcoders, tokens, targets=tuple(targets))
    ref = Reference(model, transcoders, tokens, graph.meta.generation, targets)
    complete = _check_latents(graph, ref)
    sources = [i for i, n in enumerate(graph.nodes) if n.kind != "logit"]
    # Where each graph source sits among the flattened α's: token, error, latent blocks.
    n_pos, n_layers, d_sae = ref.n_pos, ref.n_layers, ref.set.d_sae
    flat = []
    for i in sources:
        n = graph.nodes[i]
        if n.kind == "token":
            flat.append(n.position)
        elif n.kind == "error":
            flat.append(n_pos + n.layer * n_pos + n.position)
        else:
            flat.append(n_pos + n_layers * n_pos + (n.layer * n_pos + n.position) * d_sae + n.feature_index)
    flat = torch.tensor(flat)
    outside = torch.ones(n_pos + n_layers * n_pos * (1 + d_sae), dtype=torch.bool)
    outside[flat] = False
    incoming = _incoming(graph)
    alpha = ref.alphas(1.0)
    final, pre = ref.run(alpha)
    for t in _targets(graph, max_targets):
        node = graph.nodes[t]
        found = torch.autograd.grad(
            ref.target_value(graph, node, final, pre), list(alpha.values()), retain_graph=True, allow_unused=True
        )
        derivative = torch.cat(
            [(torch.zeros_like(a) if g is None else g).reshape(-1) for a, g in zip(alpha.values(), found)]
        )
        expected = derivative[flat].double()
        row = incoming.get(t, {})
        got = torch.tensor([row.get(s, 0.0) for s in sources], dtype=torch.float64)
        scale = float(expected.abs().max())
        bad = ((got - expected).abs() > rtol * (expected.abs() + scale)).nonzero().flatten().tolist()
        assert not bad, (
            f"edge {graph.nodes[sources[bad[0]]].id} -> {node.id}: {float(got[bad[0]])} != {float(expected[bad[0]])}"
        )
        # With every active latent in the graph, nothing outside it may carry signal.
        leak = float(derivative[outside].abs().max()) if complete else 0.0
        assert leak <= rtol * scale, f"{node.id} depends on a source missing from the graph ({leak})"


def check_completeness(
    model: HookedTransformer,
    transcoders,
    tokens: Sequence[int],
    rtol: float = 1e-4,
    max_targets: int | None = None,
    graph: AttributionGraph | None = None,
    targets: Sequence[Target] = (),
) -> None:
    graph = graph or unpruned_graph(model, transcoders, tokens, targets=tuple(targets))
    ref = Reference(model, transcoders, tokens, graph.meta.generation, targets)
    assert _check_latents(graph, ref), "completeness needs a graph holding every active latent"
    with torch.no_grad():
        full = ref.run(ref.alphas(1.0))
        bias = ref.run(ref.alphas(0.0))
    incoming = _incoming(graph)
    for t in _targets(graph, max_targets):
        node = graph.nodes[t]
        value = ref.target_value(graph, node, *full).detach().item()
        b = ref.target_value(graph, node, *bias).detach().item()
        edges = incoming.get(t, {}).values()
        total = b + sum(edges)
        scale = abs(value) + abs(b) + sum(abs(w) for w in edges)
        assert abs(total - value) <= rtol * scale, f"{node.id}: edges + bias = {total}, value = {value}"


def _check_latents(graph: AttributionGraph, ref: Reference) -> bool:
    """The graph's latents are active latents, at source positions, with their activations; True
    if it holds them all."""
    active = {
        (layer, p, f)
        for layer, a in enumerate(ref.acts)
        for p, f in (a != 0).nonzero().tolist()
        if p >= ref.first_source
    }
    latents = {(n.layer, n.position, n.feature_index): n.activation for n in graph.nodes if n.kind == "latent"}
    assert set(latents) <= active, f"{len(set(latents) - active)} graph latents are not active"
    for (layer, p, f), a in latents.items():
        expected = float(ref.acts[layer][p, f])
        assert abs(a - expected) <= 1e-5 * max(1.0, abs(expected)), f"activation of {layer}_{f}_{p}: {a} != {expected}"
    return len(latents) == len(active)
