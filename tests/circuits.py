"""Independent computations over AttributionGraph objects (networkx and plain Python), for
checking the queries' answers, in the database and in Browser."""

from __future__ import annotations

import math
from collections import defaultdict

import networkx as nx


def shares(g):
    """{(source id, target id): (weight, weight / sum |weight| into the target)}."""
    into = defaultdict(float)
    for _, t, w in g.edges():
        into[t] += abs(w)
    return {(s, t): (w, w / into[t]) for s, t, w in g.edges()}


def logit(g, text=None):
    return next(n for n in g.nodes if n.kind == "logit" and (n.text == text if text else n.is_target))


def strongest_paths(g, sources, target, max_length, k):
    """Top-k all-positive paths by product of shares: Yen's k shortest paths on -log(share)."""
    G = nx.DiGraph()
    for (s, t), (w, sh) in shares(g).items():
        if sh > 0:
            G.add_edge(s, t, cost=-math.log(sh), share=sh, weight=w)
    for s in sources:
        if s in G:
            G.add_edge("START", s, cost=0.0)
    out = []
    for p in nx.shortest_simple_paths(G, "START", target, weight="cost"):
        p = p[1:]
        if len(p) - 1 <= max_length:
            pairs = list(zip(p, p[1:]))
            out.append(
                (p, math.prod(G.edges[e]["share"] for e in pairs), math.prod(G.edges[e]["weight"] for e in pairs))
            )
        if len(out) == k:
            break
    return out


def token_ids(g, text=None):
    return [n.id for n in g.nodes if n.kind == "token" and (text is None or n.text == text)]
