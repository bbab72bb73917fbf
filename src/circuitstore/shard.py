"""Splitting a prompt list between N processes or machines (`circuitstore ingest --shard I/N`).

A prompt belongs to shard 1 + (the first 8 bytes of its SHA-256, as an integer) mod N: the split
depends on the prompt's text only, not on its place in the list, so every shard of the same list
agrees on it, the same prompt twice lands in the same shard, and prompts added to the list later
leave the others where they were. Torch-free, so the command line checks --shard first.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from circuitstore.errors import CircuitstoreError


def parse_shard(text: str) -> tuple[int, int]:
    """The shard named "I/N" (1 <= I <= N) as (I, N)."""
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not m or not 1 <= int(m[1]) <= int(m[2]):
        raise CircuitstoreError(f"--shard {text!r}: expected I/N with 1 <= I <= N, e.g. 2/4")
    return int(m[1]), int(m[2])


def shard_of(prompt: str, n: int) -> int:
    """The shard (1 to n) that `prompt` belongs to."""
    digest = hashlib.sha256(prompt.encode("utf-8")).digest()
    return 1 + int.from_bytes(digest[:8], "big") % n


def in_shard(prompts: Sequence[str], shard: tuple[int, int]) -> list[str]:
    """The prompts of shard (I, N), in their order."""
    i, n = shard
    return [p for p in prompts if shard_of(p, n) == i]
