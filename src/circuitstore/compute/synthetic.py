"""Random models and transcoders shaped like real ones, for tests and benchmarks.

`random_model` builds a HookedTransformer of a TransformerLens-known architecture (its own
hard-coded config, no hub access) or of an explicit config, with TransformerLens' random init.
A `Release` records what a published transcoder set looks like (architecture, hooks, width,
typical L0). `random_transcoders` builds one SAELens transcoder per layer with those settings and
random weights, scaled on one run of the model so that about `l0` latents fire per position, as
with trained transcoders: an attribution graph over them has the size and cost of a real one.
`save_transcoders` writes them in SAELens' disk format, which `load_transcoders` reads back.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from sae_lens import JumpReLUSkipTranscoder, JumpReLUTranscoder
from sae_lens.saes.sae import SAEMetadata
from sae_lens.saes.transcoder import JumpReLUSkipTranscoderConfig, JumpReLUTranscoderConfig
from transformer_lens import HookedTransformer, HookedTransformerConfig
from transformer_lens.loading_from_pretrained import get_pretrained_model_config

from circuitstore.compute.gguf import row_major_unembed


@dataclass(frozen=True)
class Release:
    """What a published transcoder set looks like; hooks are TransformerLens names over `{layer}`."""

    name: str
    skip: bool
    hook_in: str
    hook_out: str
    d_sae: int
    l0: int


# gemma-scope-2-270m-pt-transcoders-all, layer_{L}_width_16k_l0_small_affine: JumpReLU skip
# transcoders, 16k wide, L0 10-20, trained on Gemma's pre_feedforward_layernorm output and
# writing the post_feedforward_layernorm output (blocks.L.hook_mlp_out). SAELens' gemma_3 loader
# names the input blocks.L.hook_mlp_in, which on a HookedTransformer is the residual *before*
# that norm; the normalised input is ln2.hook_normalized (the norm weight folds into W_enc).
GEMMA_SCOPE_2_270M = Release(
    "gemma-scope-2-270m-pt-transcoders-all",
    True,
    "blocks.{layer}.ln2.hook_normalized",
    "blocks.{layer}.hook_mlp_out",
    16384,
    20,
)
# gemma-scope-2b-pt-transcoders, width_16k: JumpReLU, ln2.hook_normalized -> hook_mlp_out, L0 ~76.
GEMMA_SCOPE_2B = Release(
    "gemma-scope-2b-pt-transcoders",
    False,
    "blocks.{layer}.ln2.hook_normalized",
    "blocks.{layer}.hook_mlp_out",
    16384,
    76,
)


def random_model(config: str | dict, device: str = "cpu", n_ctx: int = 1024, seed: int = 0) -> HookedTransformer:
    """A randomly initialised model: `config` is a TransformerLens model name or config keywords.

    Named configs are capped at `n_ctx` positions (TransformerLens keeps an n_ctx^2 mask per
    layer) and come without a tokenizer, so prompts are token ids.
    """
    if isinstance(config, str):
        cfg = get_pretrained_model_config(config, device=device, n_ctx=n_ctx)
        cfg.init_weights, cfg.tokenizer_name = True, None
    else:
        cfg = HookedTransformerConfig(**{"n_ctx": n_ctx, **config, "device": device})
    cfg.seed = seed
    model = HookedTransformer(cfg)
    row_major_unembed(model)
    return model.eval()


@torch.no_grad()
def random_transcoders(
    model: HookedTransformer, release: Release, tokens: torch.Tensor, d_sae: int | None = None, seed: int = 0
) -> list[JumpReLUTranscoder]:
    """One random transcoder per layer of `model`, scaled on the activations `tokens` produce."""
    d_sae = d_sae or release.d_sae
    d_model, device = model.cfg.d_model, model.cfg.device
    hooks = [(release.hook_in.format(layer=n), release.hook_out.format(layer=n)) for n in range(model.cfg.n_layers)]
    if any(h.endswith("hook_mlp_in") for h, _ in hooks):
        model.set_use_hook_mlp_in(True)  # TransformerLens fires hook_mlp_in only when asked
    wanted = {h for pair in hooks for h in pair}
    _, cache = model.run_with_cache(tokens.reshape(1, -1), names_filter=lambda name: name in wanted)
    # Firing a latent with probability l0/d_sae: a standard-normal pre-activation over this threshold.
    threshold = float(torch.special.ndtri(torch.tensor(1.0 - release.l0 / d_sae, dtype=torch.float64)))
    config_cls, sae_cls = (
        (JumpReLUSkipTranscoderConfig, JumpReLUSkipTranscoder)
        if release.skip
        else (JumpReLUTranscoderConfig, JumpReLUTranscoder)
    )
    saes = []
    for layer, (hook_in, hook_out) in enumerate(hooks):
        scale_in, scale_out = _typical_norm(cache[hook_in]), _typical_norm(cache[hook_out])
        g = torch.Generator(device="cpu").manual_seed(seed * 100_003 + layer)

        def randn(*shape: int, std: float, g: torch.Generator = g) -> torch.Tensor:
            return (torch.randn(*shape, generator=g) * std).to(device)

        cfg = config_cls(
            d_in=d_model,
            d_sae=d_sae,
            d_out=d_model,
            device=str(device),
            apply_b_dec_to_input=False,
            metadata=SAEMetadata(
                model_name=model.cfg.model_name, hook_name=hook_in, hook_name_out=hook_out, release=release.name
            ),
        )
        sae = sae_cls(cfg)
        # Pre-activations of a typical input are then about standard normal; decoded outputs
        # of l0 latents have about the MLP output's norm, the skip path a tenth of it.
        sae.W_enc.copy_(randn(d_model, d_sae, std=1.0 / scale_in))
        sae.b_enc.copy_(randn(d_sae, std=0.1))
        sae.threshold.fill_(threshold)
        sae.W_dec.copy_(randn(d_sae, d_model, std=scale_out / (threshold * (release.l0 * d_model) ** 0.5)))
        sae.b_dec.copy_(randn(d_model, std=0.01 * scale_out / d_model**0.5))
        if release.skip:
            sae.W_skip.copy_(randn(d_model, d_model, std=0.1 * scale_out / scale_in / d_model**0.5))
        saes.append(sae.eval())
    return saes


def save_transcoders(saes: list[JumpReLUTranscoder], directory: str | Path) -> Path:
    """Each transcoder in SAELens' disk format, one subdirectory per layer."""
    directory = Path(directory)
    for layer, sae in enumerate(saes):
        sae.save_model(directory / f"layer_{layer:03d}")
    return directory


def _typical_norm(acts: torch.Tensor) -> float:
    """Median norm over positions, leaving out the first (BOS activations are outliers)."""
    norms = acts.reshape(-1, acts.shape[-1]).norm(dim=-1)
    return float((norms[1:] if len(norms) > 1 else norms).median().clamp(min=1e-6))
