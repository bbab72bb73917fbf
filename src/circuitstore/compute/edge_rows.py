"""The edges attribution has found so far, kept as sparse rows, and the influence on the logits
that the next latents are chosen by.

Each target's row (its edges from every source) is complete once its batch is done, so rows
are stored once, as compressed sparse rows with 32-bit source indices (8 bytes per edge in
float32), grouped by the target's level: its layer for a latent, the top for a logit. A
latent's sources lie in lower layers, so one pass over the rows from the top level down gives
every node's influence w (Â + Â² + ...) on the logits as far as the rows found so far reach:
a target's total (its probability plus its influence) is final before its own row passes it
on to its sources. That is one mat-vec over the edges per ranking, instead of one per path
length.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True)
class _Chunk:
    """Rows of one batch whose targets share a level."""

    level: int
    targets: np.ndarray  # [r] node indices
    rows: sp.csr_matrix  # [r, n_sources] edge weights
    totals: np.ndarray  # [r] each row's total absolute weight (float64)


class EdgeRows:
    """Rows into targets from `n_sources` sources; a target's level orders influence (sources
    of a row lie at lower levels)."""

    def __init__(self, n_nodes: int, n_sources: int) -> None:
        self.n_nodes, self.n_sources = n_nodes, n_sources
        self.chunks: list[_Chunk] = []  # in the order they came

    def add(self, targets: np.ndarray, levels: np.ndarray, rows: sp.csr_matrix) -> None:
        """Rows of `targets` (whose levels are `levels`), [len(targets), n_sources]."""
        rows.indices = rows.indices.astype(np.int32, copy=False)
        # Summed in float64 (bincount does; scipy's sum would add float32 weights in float32).
        row_of_edge = np.repeat(np.arange(len(targets)), np.diff(rows.indptr))
        totals = np.bincount(row_of_edge, weights=np.abs(rows.data), minlength=len(targets))
        for level in np.unique(levels).tolist():
            at = np.flatnonzero(levels == level)
            part = rows if at.size == len(targets) else rows[at]
            self.chunks.append(_Chunk(level, targets[at], part, totals[at]))

    def influence(self, logit_weights: np.ndarray) -> np.ndarray:
        """Every node's raw influence on the logits (w over the logit nodes, zero elsewhere) by the
        rows so far: w (Â + Â² + ...) with Â the rows normalised by their total."""
        total = logit_weights.astype(np.float64)  # probability plus influence, level by level
        for c in sorted(self.chunks, key=lambda c: -c.level):
            share = np.divide(total[c.targets], c.totals, out=np.zeros(len(c.targets)), where=c.totals > 0)
            total[: self.n_sources] += abs(c.rows).T @ share
        return total - logit_weights

    def blocks(self, remap: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Every edge as (target, source, weight) arrays, chunk by chunk (pruning.EdgeBlocks), node
        indices mapped by `remap`: a node mapped to -1 is left out, and its edges with it."""
        same = np.array_equal(remap, np.arange(remap.size))  # every latent visited: nothing to map
        for c in self.chunks:
            targets = np.repeat(c.targets, np.diff(c.rows.indptr))
            if same:
                yield targets, c.rows.indices, c.rows.data
                continue
            sources = remap[c.rows.indices]
            at = sources >= 0
            yield remap[targets[at]], sources[at], c.rows.data[at]
