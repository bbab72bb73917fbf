"""How close suggested supernodes come to hand-made ones, scored over the hand-grouped nodes.

Only the nodes some hand-made supernode holds are scored: which group each is in by hand (its
first, in name order, should it be in several) against which suggested group it is in (a node no
suggestion holds stands alone). What a suggestion does with the other nodes does not count.

- adjusted Rand index (Hubert and Arabie, 1985): the Rand index (the share of node pairs both
  partitions treat alike, together or apart) corrected for chance, so 1 is identical, 0 is what
  random groups of the same sizes give on average, and it may go below 0;
- pairwise precision, recall and F1 over node pairs: precision is the share of the pairs a
  suggestion puts together that the hand grouping also puts together, recall the share of the
  hand-made pairs the suggestion finds (each 0 when there is no such pair).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from math import comb

from circuitstore.graph import Supernode


@dataclass(frozen=True)
class Agreement:
    nodes: int  # hand-grouped nodes scored
    hand_groups: int
    ari: float
    precision: float
    recall: float
    f1: float


def hand_partition(supernodes: Iterable[Supernode]) -> dict[str, str]:
    """{node id: name of its hand-made group}; a node in several takes the first in name order."""
    out: dict[str, str] = {}
    for sn in sorted(supernodes, key=lambda s: s.name):
        for member in sn.members:
            out.setdefault(member, sn.name)
    return out


def agreement(hand: Iterable[Supernode], suggested: Iterable[Iterable[str]]) -> Agreement:
    """Score the `suggested` groups (each a collection of node ids) against the `hand` supernodes."""
    truth = hand_partition(hand)
    found: dict[str, int] = {}
    for k, group in enumerate(suggested):
        for member in group:
            found.setdefault(member, k)
    # A scored node no suggestion holds is a group of its own (keys that cannot clash with k).
    pred = {node: found.get(node, f"alone:{node}") for node in truth}
    precision, recall, f1 = pair_scores(truth, pred)
    return Agreement(len(truth), len(set(truth.values())), adjusted_rand_index(truth, pred), precision, recall, f1)


def _pairs(sizes: Iterable[int]) -> int:
    return sum(comb(n, 2) for n in sizes)


def adjusted_rand_index(truth: Mapping[str, object], pred: Mapping[str, object]) -> float:
    """ARI of two labellings of the same items ({item: group}). Two labellings whose expected and
    largest index coincide (every item alone in both, or all in one group in both) score 1 when
    they are the same partition, else 0."""
    items = list(truth)
    together = _pairs(Counter((truth[i], pred[i]) for i in items).values())
    a = _pairs(Counter(truth[i] for i in items).values())
    b = _pairs(Counter(pred[i] for i in items).values())
    total = comb(len(items), 2)
    expected = a * b / total if total else 0.0
    largest = (a + b) / 2
    if largest == expected:
        return 1.0 if together == a == b else 0.0
    return (together - expected) / (largest - expected)


def pair_scores(truth: Mapping[str, object], pred: Mapping[str, object]) -> tuple[float, float, float]:
    """(precision, recall, F1) of the pairs `pred` puts together against those `truth` does."""
    items = list(truth)
    both = _pairs(Counter((truth[i], pred[i]) for i in items).values())
    hand = _pairs(Counter(truth[i] for i in items).values())
    found = _pairs(Counter(pred[i] for i in items).values())
    precision = both / found if found else 0.0
    recall = both / hand if hand else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1
