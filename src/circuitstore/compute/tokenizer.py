"""Hugging Face tokenizers that models without one on the hub need.

- `gguf_tokenizer`: rebuilt from a GGUF file's vocabulary, cached on disk. TransformerLens wants a
  `PreTrainedTokenizerBase`; transformers (already TransformerLens' dependency) can rebuild one
  from the vocabulary, scores and special-token ids a GGUF header carries. For Gemma's 262k-token
  vocabulary that rebuild derives the BPE merges and takes about half a minute, so the result is
  saved once next to the model cache and reloaded from there.
- `word_tokenizer`: one token per word of a fixed vocabulary, for models built by hand (the
  planted-circuit model, the tests' tiny models). Words split as GPT-2 splits them, a word with
  the space before it being one token (" Dallas"), so prompts tokenise as they do for real models.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import AutoTokenizer, PreTrainedTokenizerBase, PreTrainedTokenizerFast

SPECIALS = ("<bos>", "<eos>", "<unk>", "<pad>")
# GPT-2's byte-level split; its alphabet spells a space as "\u0120".
_SPLIT = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
_SPACE = "\u0120"


def gguf_tokenizer(path: Path, cache: Path) -> PreTrainedTokenizerBase:
    """The tokenizer described by the GGUF file at `path`, built once and then read from `cache`."""
    # The file's name and size identify it well enough: the model packages pin their sha256.
    saved = cache / f"{path.stem}-{path.stat().st_size}"
    if (saved / "tokenizer.json").exists():
        return AutoTokenizer.from_pretrained(saved)
    tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    tokenizer.save_pretrained(saved)
    return tokenizer


def split_words(text: str) -> list[str]:
    """The words `word_tokenizer` reads in `text`, each with the space before it (" Dallas")."""
    return [piece.replace(_SPACE, " ") for piece, _ in _SPLIT.pre_tokenize_str(text)]


def word_tokenizer(words: Sequence[str], directory: Path) -> PreTrainedTokenizerBase:
    """A word-level tokenizer over SPECIALS then `words` (token id = index), saved to `directory`
    and read back from there (TransformerLens reloads a tokenizer from where it was saved). Words
    are given as they decode, " Dallas"; one outside `words` reads as <unk>."""
    vocab = [*SPECIALS, *words]
    tok = Tokenizer(models.WordLevel({w.replace(" ", _SPACE): i for i, w in enumerate(vocab)}, unk_token="<unk>"))
    tok.pre_tokenizer = _SPLIT
    tok.decoder = decoders.ByteLevel()
    PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<bos>", eos_token="<eos>", unk_token="<unk>", pad_token="<pad>"
    ).save_pretrained(directory)
    return AutoTokenizer.from_pretrained(directory)
