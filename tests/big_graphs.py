"""Synthetic attribution graphs of any size, made with numpy (random but fixed by the seed), for
the tests that need a graph bigger than the real ones."""

from __future__ import annotations

import numpy as np

from circuitstore.graph import AttributionGraph, GraphMeta, Node


def big_graph(
    graph_id: str,
    n_latents: int = 3000,
    n_edges: int = 400_000,
    seed: int = 7,
    transcoders: str = "synthetic/big-transcoders",
) -> AttributionGraph:
    """8 tokens, `n_latents` latents over 26 layers, one logit and `n_edges` distinct random edges,
    each from an earlier node in the list to a later one, so the graph has no cycle (as attribution
    graphs have none: the store derives influence from it)."""
    rng = np.random.default_rng(seed)
    tokens = tuple(f"t{i}" for i in range(8))
    nodes = [Node(f"E_{100 + p}_{p}", "token", p, token_id=100 + p, text=tokens[p]) for p in range(8)]
    nodes += [
        Node(f"{i % 26}_{i}_{i % 8}", "latent", i % 8, layer=i % 26, feature_index=i, activation=1.0)
        for i in range(n_latents)
    ]
    nodes.append(Node("27_9_7", "logit", 7, layer=27, token_id=9, text=" x", probability=0.5, is_target=True))
    n = len(nodes)
    drawn = rng.choice(n * n, size=min(n * n, 2 * n_edges), replace=False)
    low, high = np.minimum(drawn // n, drawn % n), np.maximum(drawn // n, drawn % n)
    pairs = np.unique(low[low < high] * n + high[low < high])
    if len(pairs) < n_edges:
        raise ValueError(f"{n} nodes hold fewer than {n_edges} forward edges")
    pairs = rng.permutation(pairs)[:n_edges]
    meta = GraphMeta(graph_id, "".join(tokens), tokens, "gemma-2-2b", transcoders)
    return AttributionGraph(meta, nodes, pairs // n, pairs % n, rng.normal(size=n_edges))
