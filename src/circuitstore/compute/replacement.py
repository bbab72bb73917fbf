"""One prompt's local replacement model.

Every MLP output is replaced by what the transcoders write there plus an error term (the true
MLP output minus the transcoders' reconstruction), attention patterns and every normalisation
scale are frozen at their values on the prompt. What remains is linear in what the sources
write: token embeddings, latent activations times decoder rows, and error vectors (skip
connections are linear paths). A latent of a cross-layer transcoder writes at its own layer's
MLP output and at every later one; the error at a layer is what all latents writing there miss.
The latents found active are fixed: a JumpReLU that would close, or a Top-K set that would
change, under a change of the input does not (circuit-tracer's choice too).

As in circuit-tracer, a token node writes its embedding W_E[token] at `hook_embed` (a learned
position embedding is a constant, attributed to no node), and position 0 has no latent or error
sources: its transcoder outputs stay in the forward pass, attributed to nobody. The settings'
`token_vectors="resid_pre"` and `position_0_sources=True` choose the other conventions: the
token writes the whole first residual stream (`blocks.0.hook_resid_pre`), and position 0's
latents and errors are sources like any other.

`Replacement` runs the prompt once and holds those sources; `Replacement.frozen(batch)` runs
the frozen model once on the prompt (`Frozen(reps, copies)`: on several prompts of one length,
side by side) and keeps the autograd graph, through which `batch` reading vectors are pushed
back in one vectorised backward pass (autograd's batched gradients), as if through `batch`
copies of the prompt. One forward pass serves every copy: the attention patterns and norm scales
(the queries and keys) are computed once per prompt, not once per copy, and autograd saves one
copy's activations. The frozen run does not compute the MLPs: their outputs are replaced, so
each is a constant plus its skip path.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import torch
from transformer_lens import HookedTransformer

from circuitstore.compute.transcoder_set import TranscoderSet
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
    """Layer l's active latents (sorted by position, then feature), what each writes, and what is
    fixed at layer l's MLP output. (How a latent is read, its encoder row, is looked up when it is
    a target: only those a cap lets through are.)"""

    positions: torch.Tensor  # [k] long
    features: torch.Tensor  # [k] long
    activations: torch.Tensor  # [k]
    writes: dict[int, torch.Tensor]  # output layer -> [k, d_model] activation times decoder row there
    constant: torch.Tensor  # [pos, d_model] the true MLP output less the skip path: what is fixed
    errors: torch.Tensor  # [pos, d_model] the true MLP output minus the transcoders' reconstruction


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
            self.layers = self._sources(
                [captured[h] for h in transcoders.hooks_in], [captured[h] for h in transcoders.hooks_out]
            )

    def _sources(self, inputs: list[torch.Tensor], outputs: list[torch.Tensor]) -> tuple[LayerSources, ...]:
        """Every layer's latents (none at positions before the first source), and each output's
        error: the true output minus the bias, the skip path and everything the latents of this
        and earlier layers write there."""
        tcs, dtype = self.transcoders, self.model.cfg.dtype
        n = tcs.n_layers
        skips = [tcs.skip(layer, inputs[layer]) for layer in range(n)]
        recon = [tcs.bias(layer).expand(self.n_pos, -1) + (0 if s is None else s) for layer, s in enumerate(skips)]
        latents = []
        for layer in range(n):
            acts = tcs.encode(layer, inputs[layer])
            acts[: self.first_source] = 0
            positions, features = acts.nonzero(as_tuple=True)
            activations = acts[positions, features]
            writes = {}
            for out, rows in tcs.decoders(layer, features):
                writes[out] = activations[:, None] * rows
                recon[out] = recon[out].index_add(0, positions, writes[out])
            latents.append((positions, features, activations, writes))
        sources = []
        for layer, (positions, features, activations, writes) in enumerate(latents):
            out = outputs[layer].to(tcs.dtype)
            errors = out - recon[layer]
            errors[: self.first_source] = 0
            constant = out if skips[layer] is None else out - skips[layer]
            sources.append(
                LayerSources(
                    positions=positions,
                    features=features,
                    activations=activations,
                    writes={k: w.to(dtype) for k, w in writes.items()},
                    constant=constant.to(dtype),
                    errors=errors.to(dtype),
                )
            )
        return tuple(sources)

    def frozen(self, batch: int) -> Frozen:
        return Frozen([self], [batch])


class _NoMLP(torch.nn.Module):
    """Stands in for an MLP whose output the write hook replaces, so that it is not computed."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(x)


@contextmanager
def _without_mlps(model: HookedTransformer):
    mlps = [block.mlp for block in model.blocks]
    try:
        for block in model.blocks:
            block.mlp = _NoMLP()
        yield
    finally:
        for block, mlp in zip(model.blocks, mlps):
            block.mlp = mlp


@contextmanager
def _constant_parameters(model: HookedTransformer):
    """The model's weights as constants: autograd then keeps, per copy of the prompt, only what
    the gradients with respect to the probes need, not every layer's input for weight gradients."""
    trained = [p for p in model.parameters() if p.requires_grad]
    try:
        for p in trained:
            p.requires_grad_(False)
        yield
    finally:
        for p in trained:
            p.requires_grad_(True)


class _Pass:
    """One frozen forward pass over the first `length` positions of `Frozen`'s prompts, its graph
    retained (what `Frozen` documents)."""

    def __init__(self, frozen: Frozen, length: int) -> None:
        model, tcs = frozen.model, frozen.transcoders
        rows = (frozen.tokens.shape[0], length, model.cfg.d_model)
        opts = {"dtype": model.cfg.dtype, "device": frozen.tokens.device}
        self.embed_probe = torch.zeros(rows, **opts, requires_grad=True)
        self.mlp_probes = [torch.zeros(rows, **opts, requires_grad=True) for _ in range(tcs.n_layers)]
        self.reads: list[torch.Tensor | None] = [None] * tcs.n_layers

        def embed(value: torch.Tensor, hook) -> torch.Tensor:
            return value.detach() + self.embed_probe

        def read(layer: int):
            def hook_fn(value: torch.Tensor, hook) -> None:
                self.reads[layer] = value

            return hook_fn

        def write(layer: int):
            def hook_fn(value: torch.Tensor, hook) -> torch.Tensor:
                out = frozen.constants[layer][:, :length] + self.mlp_probes[layer]
                skip = tcs.skip(layer, self.reads[layer])
                return out if skip is None else out + skip.to(out.dtype)

            return hook_fn

        hooks = [(frozen_name, _detach), (frozen.token_hook, embed)]
        for layer in range(tcs.n_layers):
            hooks += [(tcs.hooks_in[layer], read(layer)), (tcs.hooks_out[layer], write(layer))]
        with torch.enable_grad(), model.hooks(fwd_hooks=hooks), _without_mlps(model), _constant_parameters(model):
            self.final = final_residual(model, frozen.tokens[:, :length])


class Frozen:
    """The frozen replacement model on prompts of one length (row i: `reps[i]`), its graph
    retained, for `copies[i]` reading vectors of each prompt per backward pass.

    Zero probes are added where sources write (the embedding and each MLP output), so the
    gradient with respect to a probe is the derivative of whatever is read with respect to a
    vector written there. What is read: each transcoder's live input, and `final`, the
    normalised final residual stream that the unembedding reads ([prompts, pos, d_model]).
    Gradients pushed back are batched: [slots, prompts, pos, d_model] (`shape` at most), slot b
    of row i the b-th reading vector of prompt i (slots past `copies[i]` stay zero).

    The model is causal: what is read at a position depends on the first positions only, so a
    batch read no further than `extent` positions in goes back through a pass over a prefix of
    the prompts (the first of PREFIXES lengths that holds it, each run once when first needed),
    at a cost in proportion to its length.
    """

    PREFIXES = 4

    def __init__(self, reps: list[Replacement], copies: list[int]) -> None:
        self.model, self.transcoders, self.n_pos = reps[0].model, reps[0].transcoders, reps[0].n_pos
        if any(rep.n_pos != self.n_pos for rep in reps):
            raise ValueError("prompts of different lengths cannot share a frozen run")
        self.shape = (max(copies), len(reps), self.n_pos, self.model.cfg.d_model)
        self.token_hook = reps[0].token_hook
        self.tokens = torch.stack([rep.tokens for rep in reps])
        layers = range(self.transcoders.n_layers)
        self.constants = [torch.stack([rep.layers[layer].constant for rep in reps]) for layer in layers]
        self.lengths = sorted({-(-self.n_pos * k // self.PREFIXES) for k in range(1, self.PREFIXES + 1)})
        self._passes = {self.n_pos: _Pass(self, self.n_pos)}
        self.final = self._passes[self.n_pos].final

    def backward(
        self, final_grad: torch.Tensor | None, read_grads: dict[int, torch.Tensor], extent: int | None = None
    ) -> tuple[torch.Tensor | None, list[torch.Tensor | None]]:
        """Push reading vectors back (each [slots, prompts, pos, d_model]): `final_grad` on
        `final`, `read_grads[layer]` on layer's transcoder input, through a pass over the first `extent`
        positions at least (all if None; nothing may be read beyond it).

        Returns the gradients at the embedding probe and at each layer's MLP-output probe, of
        the same shape; None where nothing read depends on the probe (an MLP output at or above
        every layer read).
        """
        length = self.n_pos if extent is None else next(n for n in self.lengths if n >= extent)
        if length not in self._passes:
            self._passes[length] = _Pass(self, length)
        run = self._passes[length]
        outputs, grads = [], []
        if final_grad is not None:
            outputs.append(run.final)
            grads.append(final_grad[:, :, :length].to(run.final.dtype))
        for layer, g in read_grads.items():
            outputs.append(run.reads[layer])
            grads.append(g[:, :, :length].to(run.reads[layer].dtype))
        probes = [run.embed_probe, *run.mlp_probes]
        found = torch.autograd.grad(outputs, probes, grads, retain_graph=True, allow_unused=True, is_grads_batched=True)
        if length < self.n_pos:  # nothing is read beyond `length`: the gradient there is zero
            found = [None if g is None else torch.nn.functional.pad(g, (0, 0, 0, self.n_pos - length)) for g in found]
        return found[0], list(found[1:])
