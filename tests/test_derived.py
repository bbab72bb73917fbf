"""Facts derived at ingest (circuitstore.derived) against independent computations over the
parsed files: Yen's k shortest paths (networkx) and the matrix inverse (numpy)."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from circuitstore.derived import STORED_PATHS, logit_influence, logits, strongest_paths
from tests.test_queries import DALLAS, GRAPH, HAIKU, PREFIXED, influence_on, shares, token_ids
from tests.test_queries import strongest_paths as yen

CHECKED = [DALLAS, HAIKU, GRAPH[PREFIXED[0]]]


@pytest.mark.parametrize("graph", CHECKED, ids=lambda g: g.meta.id)
def test_logit_influence_is_the_matrix_inverse_for_every_logit(graph):
    got = logit_influence(graph)
    assert got.shape == (graph.n_nodes, len(logits(graph)))
    for j, t in enumerate(logits(graph)):
        expected = influence_on(graph, graph.nodes[t].id)
        assert got[:, j] == pytest.approx([expected[n.id] for n in graph.nodes], rel=1e-9, abs=1e-15)


@pytest.mark.parametrize("graph", CHECKED, ids=lambda g: g.meta.id)
def test_stored_paths_give_the_top_k_for_every_length_limit(graph):
    stored = strongest_paths(graph)
    for t in logits(graph):
        paths = stored[t]
        assert [p.strength for p in paths] == sorted((p.strength for p in paths), reverse=True)
        for length in range(1, 9):
            assert sum(p.length == length for p in paths) <= STORED_PATHS
        for max_length, k in [(8, 5), (6, 5), (4, 3), (2, 5), (1, 2)]:
            target = graph.nodes[t].id
            # Yen's algorithm walks through every longer path first, so short limits enumerate.
            expected = (enumerated if max_length <= 2 else yen)(graph, token_ids(graph), target, max_length, k)
            got = [p for p in paths if p.length <= max_length][:k]
            assert [[graph.nodes[i].id for i in p.nodes] for p in got] == [e[0] for e in expected]
            assert [p.strength for p in got] == pytest.approx([e[1] for e in expected], rel=1e-12)
            assert [p.weight_product for p in got] == pytest.approx([e[2] for e in expected], rel=1e-12)


def enumerated(g, sources, target, max_length, k):
    """Every all-positive path of at most max_length edges, by depth-first search; the k strongest."""
    out_edges = defaultdict(list)
    for (s, t), (w, sh) in shares(g).items():
        if sh > 0:
            out_edges[s].append((t, sh, w))
    kinds = {n.id: n.kind for n in g.nodes}
    found = []

    def walk(path, strength, product):
        for t, sh, w in out_edges[path[-1]]:
            if t == target:
                found.append((path + [t], strength * sh, product * w))
            elif kinds[t] != "logit" and len(path) < max_length:
                walk(path + [t], strength * sh, product * w)

    for s in sources:
        walk([s], 1.0, 1.0)
    found.sort(key=lambda p: -p[1])
    return found[:k]


def test_more_paths_per_length_when_asked():
    t = logits(DALLAS)[0]
    few, many = strongest_paths(DALLAS, 2)[t], strongest_paths(DALLAS, 12)[t]
    expected = yen(DALLAS, token_ids(DALLAS), DALLAS.nodes[t].id, 8, 12)
    assert [[DALLAS.nodes[i].id for i in p.nodes] for p in many[:12]] == [e[0] for e in expected]
    assert len(few) < len(many) and all(np.isfinite(p.strength) for p in few)


def test_paths_from_chosen_sources():
    dallas = [i for i, n in enumerate(DALLAS.nodes) if n.kind == "token" and n.text == " Dallas"]
    t = next(i for i in logits(DALLAS) if DALLAS.nodes[i].text == " Austin")
    got = [p for p in strongest_paths(DALLAS, 5, 6, sources=dallas)[t]][:5]
    expected = yen(DALLAS, [DALLAS.nodes[i].id for i in dallas], DALLAS.nodes[t].id, 6, 5)
    assert [[DALLAS.nodes[i].id for i in p.nodes] for p in got] == [e[0] for e in expected]
