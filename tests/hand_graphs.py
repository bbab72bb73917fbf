"""Small attribution graphs built by hand, whose right grouping is known, for the supernode tests.

A graph is given by its edges; its nodes follow from their ids: `E_<token>_<pos>` is an input
token (text PROMPT[pos]), `9_<token>_<pos>` the logit, anything else `<layer>_<feature>_<pos>`
a latent. The two-hop graph below reads like the Dallas circuit: two "Dallas" latents at
" Dallas", two "capital" latents at " capital", two "say Austin" latents at " is" reading both.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from circuitstore.graph import AttributionGraph, GraphMeta, Node, Supernode

PROMPT = ("<bos>", " Dallas", " capital", " is")
TRANSCODERS = "hand/ts"

# The two-hop graph and its right grouping.
DALLAS, CAPITAL, SAY = ("0_10_1", "0_11_1"), ("0_20_2", "0_21_2"), ("1_30_3", "1_31_3")
TWO_HOP = [
    ("E_1_1", "0_10_1", 1.0),
    ("E_1_1", "0_11_1", 0.9),
    ("E_2_2", "0_20_2", 1.0),
    ("E_2_2", "0_21_2", 1.1),
    ("0_10_1", "1_30_3", 0.8),
    ("0_10_1", "1_31_3", 0.75),
    ("0_11_1", "1_30_3", 0.7),
    ("0_11_1", "1_31_3", 0.8),
    ("0_20_2", "1_30_3", 0.5),
    ("0_20_2", "1_31_3", 0.2),
    ("0_21_2", "1_30_3", 0.45),
    ("0_21_2", "1_31_3", 0.25),
    ("E_3_3", "1_30_3", 0.1),
    ("E_3_3", "1_31_3", 0.1),
    ("1_30_3", "9_7_3", 1.0),
    ("1_31_3", "9_7_3", 0.9),
]

# Four latents at one position that all read " Dallas" and write to two say latents; the first
# pair mostly to one, the second mostly to the other: alike enough that the graph alone merges
# them (the baseline does), different enough that any other evidence splits them.
PAIR_A, PAIR_B = ("0_10_1", "0_11_1"), ("0_40_1", "0_41_1")
ALIKE = [
    ("E_1_1", "0_10_1", 1.0),
    ("E_1_1", "0_11_1", 0.9),
    ("E_1_1", "0_40_1", 1.0),
    ("E_1_1", "0_41_1", 1.1),
    ("0_10_1", "1_30_3", 1.0),
    ("0_10_1", "1_31_3", 0.1),
    ("0_11_1", "1_30_3", 0.9),
    ("0_11_1", "1_31_3", 0.12),
    ("0_40_1", "1_30_3", 0.1),
    ("0_40_1", "1_31_3", 1.0),
    ("0_41_1", "1_30_3", 0.12),
    ("0_41_1", "1_31_3", 0.9),
    ("1_30_3", "9_7_3", 1.0),
    ("1_31_3", "9_7_3", 1.0),
]


def _node(node_id: str, labels: Mapping[str, str]) -> Node:
    first, middle, position = node_id.split("_")
    pos = int(position)
    if first == "E":
        return Node(node_id, "token", pos, token_id=int(middle), text=PROMPT[pos])
    if first == "9":
        return Node(
            node_id, "logit", pos, layer=9, token_id=int(middle), text=" Austin", probability=1.0, is_target=True
        )
    return Node(node_id, "latent", pos, layer=int(first), feature_index=int(middle), label=labels.get(node_id))


def hand_graph(
    graph_id: str,
    edges: Iterable[tuple[str, str, float]],
    labels: Mapping[str, str] | None = None,
    supernodes: Iterable[Supernode] = (),
) -> AttributionGraph:
    edges = list(edges)
    ids = sorted({x for s, t, _ in edges for x in (s, t)})
    meta = GraphMeta(graph_id, "".join(PROMPT[1:]), PROMPT, "hand-model", TRANSCODERS)
    return AttributionGraph.from_edge_ids(meta, [_node(i, labels or {}) for i in ids], edges, supernodes)


def feature(node_id: str) -> str:
    """The Feature id of a latent of these graphs."""
    layer, index, _ = node_id.split("_")
    return f"{TRANSCODERS}/{layer}/{index}"
