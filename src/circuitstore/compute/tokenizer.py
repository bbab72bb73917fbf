"""A Hugging Face tokenizer rebuilt from a GGUF file's vocabulary, cached on disk.

TransformerLens wants a `PreTrainedTokenizerBase`; transformers (already TransformerLens'
dependency) can rebuild one from the vocabulary, scores and special-token ids a GGUF header
carries. For Gemma's 262k-token vocabulary that rebuild derives the BPE merges and takes about
half a minute, so the result is saved once next to the model cache and reloaded from there.
"""

from __future__ import annotations

from pathlib import Path

from transformers import AutoTokenizer, PreTrainedTokenizerBase


def gguf_tokenizer(path: Path, cache: Path) -> PreTrainedTokenizerBase:
    """The tokenizer described by the GGUF file at `path`, built once and then read from `cache`."""
    # The file's name and size identify it well enough: the model packages pin their sha256.
    saved = cache / f"{path.stem}-{path.stat().st_size}"
    if (saved / "tokenizer.json").exists():
        return AutoTokenizer.from_pretrained(saved)
    tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    tokenizer.save_pretrained(saved)
    return tokenizer
