"""Agreement of two groupings by plain pair counting, the tests' own reckoning to check
circuitstore.supernodes.agreement against."""

from __future__ import annotations

import itertools
from collections.abc import Mapping


def pair_counts(truth: Mapping, pred: Mapping) -> tuple[int, int, int, int]:
    """(together in both, in truth only, in pred only, apart in both) over the pairs of truth's items."""
    n11 = n10 = n01 = n00 = 0
    for a, b in itertools.combinations(list(truth), 2):
        t, p = truth[a] == truth[b], pred[a] == pred[b]
        n11 += t and p
        n10 += t and not p
        n01 += p and not t
        n00 += not t and not p
    return n11, n10, n01, n00


def ari_by_pairs(truth: Mapping, pred: Mapping) -> float:
    """The adjusted Rand index from the pair-confusion counts (Hubert and Arabie's form)."""
    n11, n10, n01, n00 = pair_counts(truth, pred)
    return 2 * (n11 * n00 - n10 * n01) / ((n11 + n10) * (n10 + n00) + (n11 + n01) * (n01 + n00))


def precision_recall_f1(truth: Mapping, pred: Mapping) -> tuple[float, float, float]:
    n11, n10, n01, _ = pair_counts(truth, pred)
    p = n11 / (n11 + n01) if n11 + n01 else 0.0
    r = n11 / (n11 + n10) if n11 + n10 else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def labelling(groups, items) -> dict:
    """{item: its group's index} over `items`; an item in no group is alone."""
    where = {m: k for k, g in enumerate(groups) for m in g}
    return {i: where.get(i, ("alone", i)) for i in items}
