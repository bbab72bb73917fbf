"""Tiny random models and transcoders, built here and saved to disk so tests load them
through the same loaders users use (`load_model`, `load_transcoders`).

Two architectures: GPT-2 style (LayerNorm, GELU, learned positions) and Gemma 3 style
(RMSNorm with pre- and post-norms, gated MLP, rotary, grouped queries, q/k norms, scaled
embeddings). Weights are random but moved off their initial values (norm weights and biases
too), so every path of the frozen model carries signal.
"""

from __future__ import annotations

from pathlib import Path

import torch
from sae_lens import (
    JumpReLUSkipTranscoder,
    JumpReLUSkipTranscoderConfig,
    JumpReLUTranscoder,
    JumpReLUTranscoderConfig,
    SkipTranscoder,
    SkipTranscoderConfig,
    Transcoder,
    TranscoderConfig,
)
from tokenizers import Tokenizer, models, pre_tokenizers
from transformer_lens import HookedTransformer, HookedTransformerConfig
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from circuitstore.compute import save_model

# Tiny matrices gain nothing from threads, and on a shared machine thread hand-offs cost
# milliseconds per operation.
torch.set_num_threads(1)

KINDS = {
    "relu": (Transcoder, TranscoderConfig),
    "relu_skip": (SkipTranscoder, SkipTranscoderConfig),
    "jumprelu": (JumpReLUTranscoder, JumpReLUTranscoderConfig),
    "jumprelu_skip": (JumpReLUSkipTranscoder, JumpReLUSkipTranscoderConfig),
}


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


WORDS = ["<bos>", "<eos>", "<unk>", "<pad>"] + (
    "the capital of texas is austin dallas city state a in and big small opposite fact one two three"
).split()


def word_tokenizer(directory: Path) -> PreTrainedTokenizerFast:
    """A whitespace word-level tokenizer over WORDS, saved to and read back from `directory`
    (TransformerLens re-reads a tokenizer from where it was saved)."""
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<bos>", eos_token="<eos>", unk_token="<unk>", pad_token="<pad>"
    ).save_pretrained(directory)
    return AutoTokenizer.from_pretrained(directory)


def build_model(cfg: HookedTransformerConfig, seed: int = 0, tokenizer=None) -> HookedTransformer:
    model = HookedTransformer(cfg, tokenizer=tokenizer)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen)
            if name.endswith(".w") or name.endswith(".b") or name.startswith("b") or ".b_" in name:
                p.add_(0.2 * noise)  # norm weights and biases: away from 1 and 0
            else:
                p.copy_(noise / max(p.shape[-2] if p.ndim > 1 else 1, 1) ** 0.5)
    return model.eval()


def random_transcoders(
    model: HookedTransformer, kind: str, d_sae: int = 48, hook_in: str = "ln2.hook_normalized", seed: int = 0
) -> list[Transcoder]:
    """One random transcoder per layer; biases and thresholds leave a fair share of latents active."""
    cls, cfg_cls = KINDS[kind]
    d = model.cfg.d_model
    gen = torch.Generator().manual_seed(seed)
    out = []
    for layer in range(model.cfg.n_layers):
        cfg = cfg_cls(d_in=d, d_sae=d_sae, d_out=d, apply_b_dec_to_input=False)
        cfg.metadata.hook_name = f"blocks.{layer}.{hook_in}"
        cfg.metadata.hook_name_out = f"blocks.{layer}.hook_mlp_out"
        tc = cls(cfg)
        with torch.no_grad():
            tc.W_enc.copy_(torch.randn(d, d_sae, generator=gen) / d**0.5)
            tc.b_enc.copy_(0.3 * torch.randn(d_sae, generator=gen) - 0.3)
            tc.W_dec.copy_(torch.randn(d_sae, d, generator=gen) / d_sae**0.5)
            tc.b_dec.copy_(0.1 * torch.randn(d, generator=gen))
            if hasattr(tc, "W_skip"):
                tc.W_skip.copy_(0.3 * torch.randn(d, d, generator=gen) / d**0.5)
            if hasattr(tc, "threshold"):
                tc.threshold.copy_(0.2 * torch.rand(d_sae, generator=gen))
        out.append(tc.eval())
    return out


def save_tiny(
    tmp: Path,
    cfg: HookedTransformerConfig,
    kind: str,
    hook_in: str = "ln2.hook_normalized",
    seed: int = 0,
    tokenizer: bool = False,
) -> tuple[Path, Path]:
    """Save a tiny model (with a word tokenizer if asked) and its transcoders under `tmp`;
    returns (model dir, transcoders dir)."""
    model = build_model(cfg, seed, word_tokenizer(tmp / "tokenizer") if tokenizer else None)
    model_dir = save_model(model, tmp / "model")
    tc_dir = tmp / "transcoders"
    for layer, tc in enumerate(random_transcoders(model, kind, hook_in=hook_in, seed=seed + 1)):
        tc.save_model(tc_dir / f"layer_{layer}")
    return model_dir, tc_dir
