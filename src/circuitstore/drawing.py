"""Pictures of circuits (`circuitstore draw`): a graph, its supernode graph or a paths answer,
laid out as in the Circuit Tracing work: token positions along x, layers up the y axis (tokens
at the bottom, logits on top), edge width by |weight|, blue excites and red inhibits, captions
from the nodes' names and the kinds coloured as in Browser (circuitstore.grass). networkx holds
and draws the picture, with matplotlib's non-interactive Figure (no display needed).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import matplotlib
import networkx as nx
from matplotlib.figure import Figure

from circuitstore.errors import CircuitstoreError
from circuitstore.graph import AttributionGraph
from circuitstore.server.browser import kind_colours
from circuitstore.store.params import caption

FORMATS = (".svg", ".png", ".pdf")
EXCITES, INHIBITS = "#2166AC", "#B2182B"


def circuit(graph: AttributionGraph, edges: Iterable[tuple[str, str, float]] | None = None) -> nx.DiGraph:
    """The graph (every node and edge), or only `edges` (node id, node id, weight) and their ends,
    as a DiGraph whose nodes carry kind, caption, layer and position."""
    picture = nx.DiGraph(title=graph.meta.prompt, tokens=graph.meta.prompt_tokens)
    by_id = {n.id: n for n in graph.nodes}
    chosen = list(graph.edges() if edges is None else edges)
    for node in graph.nodes if edges is None else (by_id[i] for s, t, _ in chosen for i in (s, t)):
        picture.add_node(
            node.id, kind=node.kind.capitalize(), caption=caption(node), layer=node.layer, position=node.position
        )
    for s, t, w in chosen:
        picture.add_edge(s, t, weight=w)
    return picture


def supernode_circuit(graph: AttributionGraph, rows: Iterable[Mapping[str, Any]]) -> nx.DiGraph:
    """The supernode-graph query's answer: a group sits at its members' mean position and layer,
    an ungrouped node where it is."""
    picture = nx.DiGraph(title=graph.meta.prompt, tokens=graph.meta.prompt_tokens)
    by_caption = {caption(n): n for n in graph.nodes}
    by_id = {n.id: n for n in graph.nodes}
    members = {sn.name: [by_id[m] for m in sn.members] for sn in graph.supernodes}
    for row in rows:
        for end in ("source", "target"):
            name = row[end]
            if row[f"{end}_grouped"]:
                group = members[name]
                layers = [n.layer for n in group if n.layer is not None]
                picture.add_node(
                    name,
                    kind="Supernode",
                    caption=name,
                    layer=sum(layers) / len(layers) if layers else None,
                    position=sum(n.position for n in group) / len(group),
                )
            else:
                node = by_caption[name]
                picture.add_node(
                    name, kind=node.kind.capitalize(), caption=name, layer=node.layer, position=node.position
                )
        picture.add_edge(row["source"], row["target"], weight=row["weight"])
    return picture


def layout(picture: nx.DiGraph) -> dict[str, tuple[float, float]]:
    """x: token position, nodes sharing a cell spread across it; y: 0 for tokens, layer + 1 for
    latents, errors and groups, one above the top layer for logits."""
    layers = [d["layer"] for _, d in picture.nodes(data=True) if d["layer"] is not None]
    top = max(layers, default=0) + 2
    cells: dict[tuple[float, float], list[str]] = defaultdict(list)
    for node, d in picture.nodes(data=True):
        y = 0 if d["kind"] == "Token" else top if d["kind"] == "Logit" else (d["layer"] or 0) + 1
        cells[(d["position"], y)].append(node)
    pos = {}
    for (x, y), nodes in cells.items():
        for i, node in enumerate(sorted(nodes)):
            pos[node] = (x + (i - (len(nodes) - 1) / 2) * 0.8 / len(nodes), y)
    return pos


def render(picture: nx.DiGraph, out: Path) -> None:
    """Draw the picture into `out` (.svg, .png or .pdf); SVG text stays text."""
    if out.suffix not in FORMATS:
        raise CircuitstoreError(f"{out}: the picture's file must end in {', '.join(FORMATS)}")
    pos = layout(picture)
    xs = [x for x, _ in pos.values()] or [0]
    ys = [y for _, y in pos.values()] or [0]
    fig = Figure(figsize=(max(8.0, 1.6 * (max(xs) - min(xs) + 2)), max(5.0, 0.3 * (max(ys) + 2))))
    ax = fig.add_subplot()
    colours = kind_colours()
    nodes = list(picture.nodes)
    nx.draw_networkx_nodes(
        picture,
        pos,
        nodelist=nodes,
        node_color=[colours.get(picture.nodes[n]["kind"], "#A5ABB6") for n in nodes],
        node_size=220,
        ax=ax,
    )
    edges = list(picture.edges(data="weight"))
    strongest = max((abs(w) for _, _, w in edges), default=1.0) or 1.0
    nx.draw_networkx_edges(
        picture,
        pos,
        edgelist=[(s, t) for s, t, _ in edges],
        width=[0.2 + 4 * abs(w) / strongest for _, _, w in edges],
        edge_color=[INHIBITS if w < 0 else EXCITES for _, _, w in edges],
        alpha=0.7,
        arrowsize=6,
        node_size=220,
        ax=ax,
    )
    nx.draw_networkx_labels(picture, pos, labels=dict(picture.nodes(data="caption")), font_size=6, ax=ax)
    tokens = picture.graph.get("tokens") or ()
    ax.tick_params(bottom=True, left=True, labelbottom=True, labelleft=True)  # networkx turns them off
    ax.set_xticks(range(len(tokens)), [repr(t) for t in tokens], rotation=45, fontsize=7)
    ax.set_xlim(min(-0.5, min(xs) - 0.5), max(len(tokens) - 0.5, max(xs) + 0.5))
    ax.set_ylabel("layer + 1 (tokens at 0, logits on top)")
    ax.set_title(picture.graph.get("title", ""), fontsize=9)
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        fig.savefig(out, bbox_inches="tight")
