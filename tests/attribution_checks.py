"""Identity checks for attribution graphs, computed independently of circuitstore.compute.

Each check takes a HookedTransformer, its transcoders (SAELens transcoders in layer order, or a
circuitstore TranscoderSet) and prompt token ids, asserts, and returns nothing:

- `check_replacement_logits(model, transcoders, tokens)`: the replacement model (transcoders
  plus error terms, frozen attention patterns and norm scales) reproduces the model's logits,
  both as the reference below builds it and as `circuitstore.compute.Replacement` does.
- `check_edges(model, transcoders, tokens)`: every edge weight of the unpruned graph from
  `circuitstore.compute.attribute` equals d(target)/dα at α = 1, where α scales what the
  source writes (activation times decoder row; error vector; token vector) and the target
  is a latent's pre-activation or a logit read along its demeaned unembedding column. Graph
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
encode/decode, nothing from circuitstore.compute except the graph under test.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from transformer_lens import HookedTransformer
from transformer_lens.utilities.activation_functions import apply_softcap

from circuitstore.compute import AttributionSettings, TranscoderSet, attribute
from circuitstore.graph import AttributionGraph

# The hook whose value a token node's α scales, by AttributionSettings.token_vectors.
TOKEN_HOOK = {"embed": "hook_embed", "resid_pre": "blocks.0.hook_resid_pre"}


def _frozen(name: str) -> bool:
    """Attention patterns and norm scales: replaced by their values on the prompt."""
    return name.endswith("hook_pattern") or name.endswith("hook_scale")


def _saes(transcoders) -> list:
    return list(transcoders.transcoders) if isinstance(transcoders, TranscoderSet) else list(transcoders)


def _set(model, transcoders) -> TranscoderSet:
    if isinstance(transcoders, TranscoderSet):
        return transcoders
    return TranscoderSet.from_saes("checks", transcoders, model)


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
    conventions of `generation` (a graph's meta.generation)."""

    def __init__(self, model: HookedTransformer, transcoders, tokens: Sequence[int], generation=None) -> None:
        defaults = AttributionSettings()
        generation = generation or {}
        self.token_hook = TOKEN_HOOK[generation.get("token_vectors", defaults.token_vectors)]
        # Latents and errors before this position are no sources.
        self.first_source = 0 if generation.get("position_0_sources", defaults.position_0_sources) else 1
        self.model, self.saes = model, _saes(transcoders)
        self.tokens = torch.tensor([list(tokens)], device=model.cfg.device)
        self.hooks_in = [tc.cfg.metadata.hook_name for tc in self.saes]
        self.hooks_out = [tc.cfg.metadata.hook_name_out for tc in self.saes]
        clean: dict[str, torch.Tensor] = {}

        def save(value, hook):
            clean[hook.name] = value[0].detach().clone()

        def save_frozen(value, hook):
            self.frozen[hook.name] = value.detach().clone()

        self.frozen: dict[str, torch.Tensor] = {}
        names = [self.token_hook, *self.hooks_in, *self.hooks_out]
        with torch.no_grad():
            hooks = [(n, save) for n in names] + [(_frozen, save_frozen)]
            self.clean_logits = model.run_with_hooks(self.tokens, fwd_hooks=hooks)[0]
            self.embed = clean[self.token_hook].float()
            self.acts, self.errors = [], []
            for tc, h_in, h_out in zip(self.saes, self.hooks_in, self.hooks_out):
                x = clean[h_in].float()
                acts = tc.encode(x.to(tc.dtype)).float()
                out = tc.decode(acts.to(tc.dtype)).float()
                if hasattr(tc, "W_skip"):
                    out = out + x @ tc.W_skip.float().T
                self.acts.append(acts)
                self.errors.append(clean[h_out].float() - out)
        self.n_pos = self.tokens.shape[1]

    def alphas(self, value: float) -> dict[str, torch.Tensor]:
        n = self.n_pos
        return {
            "token": torch.full((n,), value, requires_grad=True),
            "error": torch.full((len(self.saes), n), value, requires_grad=True),
            "latent": torch.full((len(self.saes), n, self.saes[0].cfg.d_sae), value, requires_grad=True),
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

        def write(layer):
            tc = self.saes[layer]

            def fn(value, hook):
                acts = scale(alpha["latent"][layer]) * self.acts[layer]
                errors = scale(alpha["error"][layer])[:, None] * self.errors[layer]
                out = acts @ tc.W_dec.float() + tc.b_dec.float() + errors
                if hasattr(tc, "W_skip"):
                    out = out + reads[self.hooks_in[layer]][0].float() @ tc.W_skip.float().T
                return out[None].to(dtype)

            return fn

        hooks = [(_frozen, freeze), (self.token_hook, embed)]
        hooks += [(h, read) for h in self.hooks_in]
        hooks += [(h, write(layer)) for layer, h in enumerate(self.hooks_out)]
        with torch.enable_grad(), model.hooks(fwd_hooks=hooks):
            resid = model(self.tokens, stop_at_layer=model.cfg.n_layers)
            final = model.ln_final(resid) if model.cfg.normalization_type is not None else resid
        pre = [reads[h][0].float() @ tc.W_enc.float() + tc.b_enc.float() for h, tc in zip(self.hooks_in, self.saes)]
        return final[0].float(), pre

    def logits(self) -> torch.Tensor:
        final, _ = self.run(self.alphas(1.0))
        logits = final @ self.model.W_U.float() + self.model.b_U.float()
        cap = self.model.cfg.output_logits_soft_cap
        return cap * torch.tanh(logits / cap) if cap > 0 else logits

    def target_value(self, node, final: torch.Tensor, pre: list[torch.Tensor]) -> torch.Tensor:
        if node.kind == "logit":
            w_u = self.model.W_U.float()
            return final[node.position] @ (w_u[:, node.token_id] - w_u.mean(dim=1))
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
) -> None:
    graph = graph or unpruned_graph(model, transcoders, tokens)
    ref = Reference(model, transcoders, tokens, graph.meta.generation)
    complete = _check_latents(graph, ref)
    sources = [i for i, n in enumerate(graph.nodes) if n.kind != "logit"]
    # Where each graph source sits among the flattened α's: token, error, latent blocks.
    n_pos, n_layers, d_sae = ref.n_pos, len(ref.saes), ref.saes[0].cfg.d_sae
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
            ref.target_value(node, final, pre), list(alpha.values()), retain_graph=True, allow_unused=True
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
) -> None:
    graph = graph or unpruned_graph(model, transcoders, tokens)
    ref = Reference(model, transcoders, tokens, graph.meta.generation)
    assert _check_latents(graph, ref), "completeness needs a graph holding every active latent"
    with torch.no_grad():
        full = ref.run(ref.alphas(1.0))
        bias = ref.run(ref.alphas(0.0))
    incoming = _incoming(graph)
    for t in _targets(graph, max_targets):
        node = graph.nodes[t]
        value = float(ref.target_value(node, *full))
        b = float(ref.target_value(node, *bias))
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
