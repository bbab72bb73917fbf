"""Random models and transcoders, for the tests and the benchmarks.

Tests build tiny ones, save them to disk and load them through the loaders users use
(`load_model`, `load_transcoders`); benchmarks build ones shaped like real releases, whose
attribution graphs have the size and cost of real ones.

- `random_model(config)`: a HookedTransformer for a TransformerLens config (`gpt2_style()`,
  `gemma_style()`: the two tiny architectures, GPT-2 style with LayerNorm, GELU and learned
  positions; Gemma 3 style with RMSNorm pre- and post-norms, a gated MLP, rotary, grouped queries,
  q/k norms and scaled embeddings) or a TransformerLens model name (its own hard-coded config, no
  hub access, no tokenizer: prompts are token ids). Weights are random but moved off their initial
  values (norm weights and biases too), so every path of the frozen model carries signal.
- `random_transcoders(model, kind)`: one SAELens transcoder per layer, of any of the four kinds
  (KINDS), scaled on one run of the model so that about `l0` latents fire per position, as with
  trained transcoders. GEMMA_SCOPE_2_270M and GEMMA_SCOPE_2B give the shape of published sets.
- `random_clt(model)` and `random_layer_set(model, activation)`: a cross-layer transcoder
  (JumpReLU or ReLU) and per-layer ReLU, JumpReLU or Top-K transcoders in circuit-tracer's
  layouts (tensors by file), scaled the same way; `save_ct_layout` writes them with their
  config.yaml, as circuit-tracer and the mntss / facebook releases lay them out. GEMMA_2_2B_CLT
  gives the shape of mntss/clt-gemma-2-2b-426k.
- `random_saes(model, hooks)`: SAELens SAEs on residual-stream or attention (hook_z) hooks, scaled
  the same way.
- `save_transcoders` writes transcoders (or any SAEs) in SAELens' disk format; `save_tiny` saves a tiny model
  (with a word tokenizer over WORDS if asked) and its transcoders.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import torch
import yaml
from sae_lens import (
    SAE,
    JumpReLUSAE,
    JumpReLUSAEConfig,
    JumpReLUSkipTranscoder,
    JumpReLUSkipTranscoderConfig,
    JumpReLUTranscoder,
    JumpReLUTranscoderConfig,
    SkipTranscoder,
    SkipTranscoderConfig,
    StandardSAE,
    StandardSAEConfig,
    Transcoder,
    TranscoderConfig,
)
from sae_lens.saes.sae import SAEMetadata
from safetensors.torch import save_file
from transformer_lens import HookedTransformer, HookedTransformerConfig
from transformer_lens.loading_from_pretrained import get_pretrained_model_config
from transformers import PreTrainedTokenizerBase

from circuitstore.compute import save_model
from circuitstore.compute.tokenizer import word_tokenizer

KINDS = {
    "relu": (Transcoder, TranscoderConfig),
    "relu_skip": (SkipTranscoder, SkipTranscoderConfig),
    "jumprelu": (JumpReLUTranscoder, JumpReLUTranscoderConfig),
    "jumprelu_skip": (JumpReLUSkipTranscoder, JumpReLUSkipTranscoderConfig),
}

SAE_KINDS = {"standard": (StandardSAE, StandardSAEConfig), "jumprelu": (JumpReLUSAE, JumpReLUSAEConfig)}

# gemma-scope-2-270m-pt-transcoders-all, layer_{L}_width_16k_l0_small_affine: JumpReLU skip
# transcoders, 16k wide, L0 10-20, trained on Gemma's pre_feedforward_layernorm output and
# writing the post_feedforward_layernorm output (blocks.L.hook_mlp_out). SAELens' gemma_3 loader
# names the input blocks.L.hook_mlp_in, which on a HookedTransformer is the residual *before*
# that norm; the normalised input is ln2.hook_normalized (the norm weight folds into W_enc).
GEMMA_SCOPE_2_270M = {
    "release": "gemma-scope-2-270m-pt-transcoders-all",
    "kind": "jumprelu_skip",
    "hook_in": "ln2.hook_normalized",
    "d_sae": 16384,
    "l0": 20,
}
# gemma-scope-2b-pt-transcoders, width_16k: JumpReLU, ln2.hook_normalized -> hook_mlp_out, L0 ~76.
GEMMA_SCOPE_2B = {
    "release": "gemma-scope-2b-pt-transcoders",
    "kind": "jumprelu",
    "hook_in": "ln2.hook_normalized",
    "d_sae": 16384,
    "l0": 76,
}


# mntss/clt-gemma-2-2b-426k: gemma-2-2b's 26 layers and d_model 2304, 16384 latents per layer.
GEMMA_2_2B_CLT = {"n_layers": 26, "d_model": 2304, "d_sae": 16384}


def gpt2_style(n_layers: int = 2, d_model: int = 32) -> HookedTransformerConfig:
    return HookedTransformerConfig(
        model_name="tiny-gpt2",
        n_layers=n_layers,
        d_model=d_model,
        d_head=8,
        n_heads=d_model // 8,
        d_mlp=4 * d_model,
        d_vocab=53,
        n_ctx=12,
        act_fn="gelu",
        normalization_type="LN",
        positional_embedding_type="standard",
        seed=0,
    )


def gemma_style(n_layers: int = 3, d_model: int = 32) -> HookedTransformerConfig:
    return HookedTransformerConfig(
        model_name="tiny-gemma3",
        n_layers=n_layers,
        d_model=d_model,
        d_head=8,
        n_heads=4,
        n_key_value_heads=2,
        d_mlp=3 * d_model,
        d_vocab=47,
        n_ctx=12,
        act_fn="gelu_pytorch_tanh",
        normalization_type="RMS",
        use_normalization_before_and_after=True,
        gated_mlp=True,
        use_qk_norm=True,
        positional_embedding_type="rotary",
        rotary_dim=8,
        original_architecture="Gemma3ForCausalLM",
        seed=0,
    )


# The tiny models' vocabulary after the specials (tokenizer.SPECIALS): each word as a prompt's
# first word and with the space before it, as it reads inside a prompt.
_WORDS = "the capital of texas is austin dallas city state a in and big small opposite fact one two three".split()
WORDS = [*_WORDS, *(f" {w}" for w in _WORDS)]


def random_model(
    config: str | HookedTransformerConfig,
    *,
    seed: int = 0,
    device: str = "cpu",
    n_ctx: int = 1024,
    tokenizer: PreTrainedTokenizerBase | None = None,
) -> HookedTransformer:
    """A random model of a TransformerLens config or model name (see the module docstring).

    A named config is capped at `n_ctx` positions (TransformerLens keeps an n_ctx^2 mask per
    layer); an explicit config keeps its own.
    """
    if isinstance(config, str):
        cfg = get_pretrained_model_config(config, device=device, n_ctx=n_ctx)
        cfg.tokenizer_name = None
    else:
        cfg = dataclasses.replace(config, device=device)
    model = HookedTransformer(cfg, tokenizer=tokenizer)
    gen = torch.Generator(device=device).manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen, device=device)
            if name.endswith(".w") or name.endswith(".b") or name.startswith("b") or ".b_" in name:
                p.add_(0.2 * noise)  # norm weights and biases: away from 1 and 0
            else:
                p.copy_(noise / max(p.shape[-2] if p.ndim > 1 else 1, 1) ** 0.5)
    return model.eval()


@torch.no_grad()
def random_transcoders(
    model: HookedTransformer,
    kind: str = "jumprelu_skip",
    *,
    hook_in: str = "ln2.hook_normalized",
    d_sae: int = 48,
    l0: int | None = None,
    release: str = "random",
    tokens: torch.Tensor | None = None,
    seed: int = 0,
) -> list[Transcoder]:
    """One random transcoder of `kind` per layer of `model`, reading blocks.L.<hook_in> and writing
    blocks.L.hook_mlp_out, scaled on the activations that `tokens` produce (default: a fixed run of
    random token ids) so that about `l0` (below half; default: a third) of the `d_sae` latents fire
    per position. Pre-activations of a typical input are then about standard normal; decoded outputs
    have about the MLP output's norm, a skip path a tenth of it."""
    sae_cls, config_cls = KINDS[kind]
    jump, skip = kind.startswith("jumprelu"), kind.endswith("_skip")
    sizes = _Sizes(model, hook_in, d_sae, l0, tokens, seed)
    d_model, device = model.cfg.d_model, model.cfg.device
    saes = []
    for layer in range(model.cfg.n_layers):
        scale_in, scale_out = sizes.scales[layer]
        randn = sizes.randn(layer)
        cfg = config_cls(
            d_in=d_model,
            d_sae=d_sae,
            d_out=d_model,
            device=str(device),
            apply_b_dec_to_input=False,
            metadata=SAEMetadata(
                model_name=model.cfg.model_name,
                hook_name=f"blocks.{layer}.{hook_in}",
                hook_name_out=f"blocks.{layer}.hook_mlp_out",
                release=release,
            ),
        )
        sae = sae_cls(cfg)
        _fill(sae, randn, sizes, jump, scale_in, scale_out)
        if skip:
            sae.W_skip.copy_(randn(d_model, d_model, std=0.1 * scale_out / scale_in / d_model**0.5))
        saes.append(sae.eval())
    return saes


def _fill(sae: SAE, randn, sizes: _Sizes, jump: bool, scale_in: float, scale_out: float) -> None:
    """Random weights for `sae` under which about `sizes.l0` latents fire on an input of norm
    `scale_in` and what they write has norm `scale_out`."""
    d_in, d_sae, d_out = sae.cfg.d_in, sae.cfg.d_sae, sae.W_dec.shape[1]
    typical = sizes.threshold if jump else sizes.excess
    sae.W_enc.copy_(randn(d_in, d_sae, std=1.0 / scale_in))
    sae.b_enc.copy_(randn(d_sae, std=0.1) - (0.0 if jump else sizes.threshold))
    if jump:
        sae.threshold.fill_(sizes.threshold)
    sae.W_dec.copy_(randn(d_sae, d_out, std=scale_out / (typical * (sizes.l0 * d_out) ** 0.5)))
    sae.b_dec.copy_(randn(d_out, std=0.01 * scale_out / d_out**0.5))


class _Sizes:
    """How big random transcoder weights are for `model`: per layer, the typical norms of the
    input read (blocks.L.<hook_in>) and of the MLP output on a run of `tokens`; the
    pre-activation threshold a standard normal crosses with probability l0 / d_sae, and the mean
    excess over it of those that cross; and a seeded normal generator per layer."""

    def __init__(self, model, hook_in, d_sae, l0, tokens, seed, extra: Sequence[str] = ()) -> None:
        self.l0 = l0 or d_sae // 3
        if not 0 < self.l0 < d_sae / 2:
            raise ValueError(f"l0 must lie between 0 and half of d_sae ({d_sae}), got {self.l0}")
        self.device, self.seed = model.cfg.device, seed
        if tokens is None:
            ids = torch.Generator().manual_seed(seed)
            tokens = torch.randint(model.cfg.d_vocab, (min(model.cfg.n_ctx, 16),), generator=ids).to(self.device)
        hooks = [(f"blocks.{n}.{hook_in}", f"blocks.{n}.hook_mlp_out") for n in range(model.cfg.n_layers)]
        wanted = {h for pair in hooks for h in pair} | set(extra)
        mlp_in = model.cfg.use_hook_mlp_in
        model.set_use_hook_mlp_in(mlp_in or hook_in == "hook_mlp_in")  # fired only when asked for
        _, cache = model.run_with_cache(tokens.reshape(1, -1), names_filter=lambda name: name in wanted)
        model.set_use_hook_mlp_in(mlp_in)
        self.scales = [(_typical_norm(cache[a]), _typical_norm(cache[b])) for a, b in hooks]
        # The `extra` hooks' activations as an SAE reads them (hook_z: its heads flattened).
        self.acts = {h: cache[h].flatten(-2) if h.endswith("hook_z") else cache[h] for h in extra}
        self.threshold = float(torch.special.ndtri(torch.tensor(1.0 - self.l0 / d_sae, dtype=torch.float64)))
        # ReLU, with the threshold moved into the bias, passes the excess over it (a normal
        # tail's mean excess); JumpReLU passes the pre-activation from the threshold up.
        tail = torch.tensor(self.threshold, dtype=torch.float64)
        density = torch.exp(-(tail**2) / 2) / (2 * torch.pi) ** 0.5
        self.excess = float(density / torch.special.ndtr(-tail)) - self.threshold

    def randn(self, layer: int):
        g = torch.Generator(device="cpu").manual_seed(self.seed * 100_003 + layer)

        def randn(*shape: int, std: float) -> torch.Tensor:
            return (torch.randn(*shape, generator=g) * std).to(self.device)

        return randn


@torch.no_grad()
def random_saes(
    model: HookedTransformer,
    hooks: list[str],
    kind: str = "jumprelu",
    *,
    d_sae: int = 48,
    l0: int | None = None,
    tokens: torch.Tensor | None = None,
    seed: int = 0,
) -> list[SAE]:
    """One random SAELens SAE (`standard`: ReLU, or `jumprelu`) per hook, reading and
    reconstructing that hook: residual-stream hooks (blocks.L.hook_resid_pre, ...) or attention
    outputs (blocks.L.attn.hook_z, its heads flattened, as SAELens reads them). Scaled like
    random_transcoders, so that about `l0` latents fire per position."""
    sae_cls, config_cls = SAE_KINDS[kind]
    jump = kind == "jumprelu"
    sizes = _Sizes(model, "hook_resid_pre", d_sae, l0, tokens, seed, extra=hooks)
    saes = []
    for i, hook in enumerate(hooks):
        acts = sizes.acts[hook]
        d_in, scale = acts.shape[-1], _typical_norm(acts)
        randn = sizes.randn(7 * i + 1)
        cfg = config_cls(
            d_in=d_in,
            d_sae=d_sae,
            device=str(model.cfg.device),
            apply_b_dec_to_input=False,
            metadata=SAEMetadata(model_name=model.cfg.model_name, hook_name=hook, release="random-saes"),
            **({"reshape_activations": "hook_z"} if hook.endswith("hook_z") else {}),
        )
        sae = sae_cls(cfg)
        _fill(sae, randn, sizes, jump, scale, scale)
        saes.append(sae.eval())
    return saes


@torch.no_grad()
def random_clt(
    model: HookedTransformer,
    *,
    jump: bool = True,
    hook_in: str = "ln2.hook_normalized",
    d_sae: int = 48,
    l0: int | None = None,
    tokens: torch.Tensor | None = None,
    seed: int = 0,
) -> dict[str, dict[str, torch.Tensor]]:
    """A random cross-layer transcoder (JumpReLU, or ReLU) for `model` in circuit-tracer's layout:
    {file name: {tensor name: tensor}}. Scaled as random_transcoders: about `l0` latents fire per
    position, and what all latents write at a layer (its own and every earlier layer's) has
    about the MLP output's norm there."""
    sizes = _Sizes(model, hook_in, d_sae, l0, tokens, seed)
    n_layers, d_model = model.cfg.n_layers, model.cfg.d_model
    typical = sizes.threshold if jump else sizes.excess
    files = {}
    for i in range(n_layers):
        randn = sizes.randn(i)
        scale_in = sizes.scales[i][0]
        enc = {
            f"W_enc_{i}": randn(d_sae, d_model, std=1.0 / scale_in),
            f"b_enc_{i}": randn(d_sae, std=0.1) - (0.0 if jump else sizes.threshold),
            f"b_dec_{i}": randn(d_model, std=0.01 * sizes.scales[i][1] / d_model**0.5),
        }
        if jump:
            enc[f"threshold_{i}"] = torch.full((d_sae,), sizes.threshold)
        # Output layer i + j gets the writes of i + j + 1 source layers.
        out_scale = torch.tensor([sizes.scales[i + j][1] / (i + j + 1) ** 0.5 for j in range(n_layers - i)])
        std = out_scale[None, :, None] / (typical * (sizes.l0 * d_model) ** 0.5)
        files[f"W_enc_{i}.safetensors"] = enc
        files[f"W_dec_{i}.safetensors"] = {f"W_dec_{i}": randn(d_sae, n_layers - i, d_model, std=1.0) * std}
    return files


@torch.no_grad()
def random_layer_set(
    model: HookedTransformer,
    activation: str = "topk",
    *,
    k: int = 6,
    skip: bool = False,
    hook_in: str = "ln2.hook_normalized",
    d_sae: int = 48,
    tokens: torch.Tensor | None = None,
    seed: int = 0,
) -> dict[str, dict[str, torch.Tensor]]:
    """Random per-layer transcoders (`activation` relu, jumprelu or topk, keeping `k` per
    position) in circuit-tracer's `transcoder_set` layout: {file name: {tensor name: tensor}}."""
    sizes = _Sizes(model, hook_in, d_sae, k if activation == "topk" else None, tokens, seed)
    d_model = model.cfg.d_model
    typical = sizes.excess if activation == "relu" else sizes.threshold
    files = {}
    for i in range(model.cfg.n_layers):
        randn = sizes.randn(i)
        scale_in, scale_out = sizes.scales[i]
        w = {
            "W_enc": randn(d_sae, d_model, std=1.0 / scale_in),
            "b_enc": randn(d_sae, std=0.1) - (sizes.threshold if activation == "relu" else 0.0),
            "W_dec": randn(d_sae, d_model, std=scale_out / (typical * (sizes.l0 * d_model) ** 0.5)),
            "b_dec": randn(d_model, std=0.01 * scale_out / d_model**0.5),
        }
        if activation == "jumprelu":
            w["activation_function.threshold"] = torch.full((d_sae,), sizes.threshold)
        if skip:
            w["W_skip"] = randn(d_model, d_model, std=0.1 * scale_out / scale_in / d_model**0.5)
        files[f"layer_{i}.safetensors"] = w
    return files


def save_ct_layout(
    files: dict[str, dict[str, torch.Tensor]],
    directory: str | Path,
    *,
    hook_in: str = "ln2.hook_normalized",
    hook_out: str = "hook_mlp_out",
    dtype: torch.dtype = torch.float32,
    **config,
) -> Path:
    """Write `files` (random_clt, random_layer_set) and their config.yaml (model_kind from the
    file names, the hooks, and `config`: activation, k, scan) into `directory`."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name, tensors in files.items():
        save_file({k: v.to(dtype).contiguous().cpu() for k, v in tensors.items()}, directory / name)
    kind = "cross_layer_transcoder" if "W_enc_0.safetensors" in files else "transcoder_set"
    config = {"model_kind": kind, "feature_input_hook": hook_in, "feature_output_hook": hook_out, **config}
    (directory / "config.yaml").write_text(yaml.safe_dump(config))
    return directory


def save_transcoders(saes: list[Transcoder], directory: str | Path) -> Path:
    """Each transcoder in SAELens' disk format, one subdirectory per layer."""
    directory = Path(directory)
    for layer, sae in enumerate(saes):
        sae.save_model(directory / f"layer_{layer:03d}")
    return directory


def save_tiny(
    tmp: Path,
    cfg: HookedTransformerConfig,
    kind: str,
    hook_in: str = "ln2.hook_normalized",
    seed: int = 0,
    tokenizer: bool = False,
) -> tuple[Path, Path]:
    """Save a tiny model (with a word tokenizer over WORDS if asked) and its transcoders under `tmp`;
    returns (model dir, transcoders dir)."""
    words = word_tokenizer(WORDS, tmp / "tokenizer") if tokenizer else None
    model = random_model(cfg, seed=seed, tokenizer=words)
    model_dir = save_model(model, tmp / "model")
    saes = random_transcoders(model, kind, hook_in=hook_in, seed=seed + 1)
    return model_dir, save_transcoders(saes, tmp / "transcoders")


def _typical_norm(acts: torch.Tensor) -> float:
    """Median norm over positions, leaving out the first (BOS activations are outliers)."""
    norms = acts.reshape(-1, acts.shape[-1]).norm(dim=-1)
    return float((norms[1:] if len(norms) > 1 else norms).median().clamp(min=1e-6))
