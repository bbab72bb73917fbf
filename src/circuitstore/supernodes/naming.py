"""Readable names for groups of latents, from their members' labels.

A group is named by its most representative label: of its members' labels (a node's own, else
the one the store knows for its Feature), the one whose words overlap most with the others'
(ties: the label more members carry, then the shorter, then alphabetical order). A group whose
members have no label is named by where it lies: its layers and the token its members most
often lie at, e.g. `L0-1 at " Dallas"`. Names are made unique within a graph with " (2)", " (3)".
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Collection, Iterable, Sequence

_STOP = frozenset({"a", "an", "and", "at", "for", "in", "is", "of", "on", "or", "the", "to", "with"})


def words(label: str | None) -> frozenset[str]:
    """The content words of a label, lower-cased, a plural `s` dropped ("capitals" = "capital")."""
    found = re.findall(r"[^\W_]+", (label or "").lower())
    return frozenset(w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in found) - _STOP


def word_overlap(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard similarity of two word sets (0 when either is empty)."""
    return len(a & b) / len(a | b) if a and b else 0.0


def group_name(labels: Sequence[str | None], layers: Sequence[int], tokens: Sequence[str | None]) -> str:
    """The name of a group from its members' labels (None: none known), their layers and the
    texts of the tokens they lie at (None: unknown)."""
    known = [label.strip() for label in labels if label and words(label)]
    if known:
        counts = Counter(known)
        bags = {label: words(label) for label in counts}

        def representative(label: str) -> tuple:
            fit = sum(n * word_overlap(bags[label], bags[other]) for other, n in counts.items())
            return (-fit, -counts[label], len(label), label)

        return min(counts, key=representative)
    low, high = min(layers), max(layers)
    span = f"L{low}" if low == high else f"L{low}-{high}"
    texts = Counter(t for t in tokens if t is not None)
    if not texts:
        return span
    text = min(texts, key=lambda t: (-texts[t], t))
    return f"{span} at {json.dumps(text, ensure_ascii=False)}"


def unique_names(names: Iterable[str], taken: Collection[str] = ()) -> list[str]:
    """The names, each made unique against `taken` and the ones before it with " (2)", " (3)"."""
    used = set(taken)
    out = []
    for name in names:
        candidate, k = name, 1
        while candidate in used:
            k += 1
            candidate = f"{name} ({k})"
        used.add(candidate)
        out.append(candidate)
    return out
