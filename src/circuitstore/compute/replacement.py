"""One prompt's local replacement model.

Every MLP is replaced by its transcoder plus an error term (the true MLP output minus the
transcoder's), attention patterns and every normalisation scale are frozen at their values on
the prompt. What remains is linear in what the sources write: token embeddings, latent
activations times decoder rows, and error vectors (skip connections are linear paths).

As in circuit-tracer, a token node writes its embedding W_E[token] at `hook_embed` (a learned
position embedding is a constant, attributed to no node), and position 0 has no latent or error
sources: its transcoder outputs stay in the forward pass, attributed to nobody. The settings'
`token_vectors="resid_pre"` and `position_0_sources=True` choose the other conventions: the
token writes the whole first residual stream (`blocks.0.hook_resid_pre`), and position 0's
latents and errors are sources like any other.

`Replacement` runs the prompt once and holds those sources; `Replacement.frozen(batch)` runs
the frozen model on `batch` copies of the prompt and keeps the autograd graph so that many
reading vectors can be pushed back through it, one per copy.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformer_lens import HookedTransformer

from circuitstore.compute.transcoders import TranscoderSet
from circuitstore.settings import AttributionSettings

# Where token nodes write, by AttributionSettings.token_vectors.
TOKEN_HOOKS = {"embed": "hook_embed", "resid_pre": "blocks.0.hook_resid_pre"}


def frozen_name(name: str) -> bool:
    # Pattern and norm scales (LayerNorm/RMSNorm, pre- and post-norms, q/k norms) become constants.
    return name.endswith(".hook_pattern") or name.endswith(".hook_scale")


def _detach(value: torch.Tensor, hook) -> torch.Tensor:
    return value.detach()


def final_residual(model: HookedTransformer, tokens: torch.Tensor) -> torch.Tensor:
    """The normalised final residual stream that the unembedding reads, under whatever hooks are
    active (so frozen norm scales hold for the final norm too)."""
    resid = model(tokens, stop_at_layer=model.cfg.n_layers)
    return model.ln_final(resid) if model.cfg.normalization_type is not None else resid


@dataclass(frozen=True)
class LayerSources:
    """A layer's active latents (sorted by position, then feature) and its error vectors."""

    positions: torch.Tensor  # [k] long
    features: torch.Tensor  # [k] long
    activations: torch.Tensor  # [k]
    writes: torch.Tensor  # [k, d_model] activation times decoder row
    constant: torch.Tensor  # [pos, d_model] decoded latents + b_dec + error: what is fixed
    errors: torch.Tensor  # [pos, d_model] true MLP output minus the transcoder's


class Replacement:
    """The sources of one prompt and a factory for frozen runs (conventions from `settings`)."""

    def __init__(
        self,
        model: HookedTransformer,
        transcoders: TranscoderSet,
        tokens: torch.Tensor,
        settings: AttributionSettings = AttributionSettings(),
    ) -> None:
        self.model = model
        self.transcoders = transcoders
        self.tokens = tokens.to(model.cfg.device).reshape(-1)
        self.n_pos = int(self.tokens.shape[0])
        self.token_hook = TOKEN_HOOKS[settings.token_vectors]
        self.first_source = 0 if settings.position_0_sources else 1  # the first position with sources
        captured: dict[str, torch.Tensor] = {}

        def keep(value: torch.Tensor, hook) -> None:
            captured[hook.name] = value[0]

        names = {self.token_hook, *transcoders.hooks_in, *transcoders.hooks_out}
        with torch.no_grad():
            logits = model.run_with_hooks(self.tokens[None], fwd_hooks=[(n, keep) for n in names])
            self.next_logits = logits[0, -1]  # at the last position
            self.embeddings = captured[self.token_hook]  # what each token node writes
            self.layers = tuple(
                self._layer_sources(
                    layer, captured[transcoders.hooks_in[layer]], captured[transcoders.hooks_out[layer]]
                )
                for layer in range(transcoders.n_layers)
            )

    def _layer_sources(self, layer: int, x: torch.Tensor, mlp_out: torch.Tensor) -> LayerSources:
        tc = self.transcoders.transcoders[layer]
        x = x.to(tc.dtype)
        acts = tc.encode(x)
        decoded = tc.decode(acts)
        out = decoded + x @ tc.W_skip.T if self.transcoders.has_skip(layer) else decoded
        errors = mlp_out.to(tc.dtype) - out
        constant = decoded + errors  # the forward pass keeps every position's true output
        acts[: self.first_source] = 0
        errors[: self.first_source] = 0
        positions, features = acts.nonzero(as_tuple=True)
        activations = acts[positions, features]
        dtype = self.model.cfg.dtype
        return LayerSources(
            positions=positions,
            features=features,
            activations=activations,
            writes=(activations[:, None] * tc.W_dec[features]).to(dtype),
            constant=constant.to(dtype),
            errors=errors.to(dtype),
        )

    def frozen(self, batch: int) -> Frozen:
        return Frozen(self, batch)


class Frozen:
    """The frozen replacement model on `batch` copies of the prompt, its graph retained.

    Zero probes are added where sources write (the embedding and each MLP output), so the
    gradient with respect to a probe is the derivative of whatever is read with respect to a
    vector written there. `reads[layer]` is each transcoder's live input, `final` the
    normalised final residual stream that the unembedding reads.
    """

    def __init__(self, rep: Replacement, batch: int) -> None:
        model, tcs = rep.model, rep.transcoders
        shape = (batch, rep.n_pos, model.cfg.d_model)
        opts = {"dtype": model.cfg.dtype, "device": rep.tokens.device}
        self.embed_probe = torch.zeros(shape, **opts, requires_grad=True)
        self.mlp_probes = [torch.zeros(shape, **opts, requires_grad=True) for _ in range(tcs.n_layers)]
        self.reads: list[torch.Tensor | None] = [None] * tcs.n_layers

        def embed(value: torch.Tensor, hook) -> torch.Tensor:
            return value.detach() + self.embed_probe

        def read(layer: int):
            def hook_fn(value: torch.Tensor, hook) -> None:
                self.reads[layer] = value

            return hook_fn

        def write(layer: int):
            tc, src = tcs.transcoders[layer], rep.layers[layer]

            def hook_fn(value: torch.Tensor, hook) -> torch.Tensor:
                out = src.constant + self.mlp_probes[layer]
                if tcs.has_skip(layer):
                    x = self.reads[layer]
                    out = out + (x.to(tc.dtype) @ tc.W_skip.T).to(out.dtype)
                return out

            return hook_fn

        hooks = [(frozen_name, _detach), (rep.token_hook, embed)]
        for layer in range(tcs.n_layers):
            hooks += [(tcs.hooks_in[layer], read(layer)), (tcs.hooks_out[layer], write(layer))]
        with torch.enable_grad(), model.hooks(fwd_hooks=hooks):
            self.final = final_residual(model, rep.tokens[None].expand(batch, -1))

    def backward(
        self, final_grad: torch.Tensor | None, read_grads: dict[int, torch.Tensor]
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Push reading vectors back: `final_grad` on `final`, `read_grads[layer]` on `reads[layer]`.

        Returns the gradients at the embedding probe and at each layer's MLP-output probe
        (zeros where nothing read depends on them).
        """
        outputs, grads = [], []
        if final_grad is not None:
            outputs.append(self.final)
            grads.append(final_grad)
        for layer, g in read_grads.items():
            outputs.append(self.reads[layer])
            grads.append(g.to(self.reads[layer].dtype))
        probes = [self.embed_probe, *self.mlp_probes]
        found = torch.autograd.grad(outputs, probes, grads, retain_graph=True, allow_unused=True)
        found = [torch.zeros_like(p) if g is None else g for p, g in zip(probes, found)]
        return found[0], found[1:]
