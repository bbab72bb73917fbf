"""Edges from many latents at once: each latent's write dotted with the gradient at its position.

A layer's latents sit a few to a position, so one matrix product per position costs a Python
call per (layer, position): thousands per batch on long prompts. Instead the latents of each
position are padded to the most any position has and all positions go through one batched
product.
"""

from __future__ import annotations

import torch


class PositionGroups:
    """The latents of one layer, sorted by position (as LayerSources holds them)."""

    def __init__(self, positions: torch.Tensor) -> None:
        self.k = int(positions.numel())
        self.positions, counts = torch.unique_consecutive(positions, return_counts=True)
        width = int(counts.max()) if self.k else 0
        starts = torch.cumsum(counts, 0) - counts
        rank = torch.arange(self.k, device=positions.device) - torch.repeat_interleave(starts, counts)
        slot = torch.repeat_interleave(torch.arange(len(counts), device=positions.device), counts) * width + rank
        # pad[p, j]: the j-th latent at the p-th occupied position, or k (a zero row) past its last.
        self.pad = torch.full((len(counts) * width,), self.k, dtype=torch.long, device=positions.device)
        self.pad[slot] = torch.arange(self.k, device=positions.device)
        self.pad = self.pad.reshape(len(counts), width)
        self.slot = slot  # where each latent's edge lands in the flattened [positions, width] product

    def edges(self, grad: torch.Tensor, writes: torch.Tensor) -> torch.Tensor:
        """[n, k]: grad [n, pos, d] at each latent's position dotted with its write [k, d]."""
        if self.k == 0:
            return grad.new_zeros(grad.shape[0], 0)
        padded = torch.cat([writes.to(grad.dtype), writes.new_zeros(1, writes.shape[1], dtype=grad.dtype)])
        product = torch.bmm(grad[:, self.positions].transpose(0, 1), padded[self.pad].transpose(1, 2))
        return product.transpose(0, 1).reshape(grad.shape[0], -1)[:, self.slot]
