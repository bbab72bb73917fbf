"""The query library against the real graphs in shared/graphs, each answer checked against an
independent computation over the parsed files (networkx, numpy or plain Python), never against
the queries' own output."""

from __future__ import annotations

import json
import logging
import re
from collections import Counter, defaultdict

import networkx as nx
import numpy as np
import pytest
from click.testing import CliRunner

from circuitstore.cli import main
from circuitstore.derived import STORED_PATHS
from circuitstore.errors import CircuitstoreError
from circuitstore.formats import read_graph
from circuitstore.queries import QueryInfo, get_query, list_queries, run_query
from circuitstore.queries.runner import bind, problem_text, run_statement
from circuitstore.server.warmup import example_params, warm
from circuitstore.store import store_graph
from tests.circuits import logit, shares, strongest_paths, token_ids
from tests.data import GRAPHS_DIR as GRAPHS
from tests.database import value, wipe

CLT = GRAPHS / "gemma-2-2b-clt"
PREFIXED = sorted((GRAPHS / "gemma-2-2b-clt-prefixed").glob("*.json"))
HAIKU_DALLAS = GRAPHS / "claude-haiku" / "capital-state-dallas.json"

FILES = [CLT / "dallas-austin.json", CLT / "oakland-sacramento.json", HAIKU_DALLAS, *PREFIXED]
GRAPH = {p: read_graph(p) for p in FILES}
DALLAS = GRAPH[CLT / "dallas-austin.json"]
OAKLAND = GRAPH[CLT / "oakland-sacramento.json"]
HAIKU = GRAPH[HAIKU_DALLAS]


@pytest.fixture(scope="module")
def db(neo4j_driver):
    """The test database holding FILES, loaded once for the module (the per-test `store`
    fixture would wipe and reload them for every test)."""
    wipe(neo4j_driver)
    for graph in GRAPH.values():
        store_graph(neo4j_driver, graph)
    return neo4j_driver


# ---- independent computations over AttributionGraph objects ------------------------------


def influence_on(g, target_id):
    """circuit-tracer influence: e_t ((I - A)^-1 - I) with A[t, s] = |share of s -> t|."""
    ids = [n.id for n in g.nodes]
    ix = {x: i for i, x in enumerate(ids)}
    A = np.zeros((len(ids), len(ids)))
    for (s, t), (_, sh) in shares(g).items():
        A[ix[t], ix[s]] = abs(sh)
    e = np.zeros(len(ids))
    e[ix[target_id]] = 1.0
    total = e @ np.linalg.inv(np.eye(len(ids)) - A) - e
    return dict(zip(ids, total))


def fid(g, n):
    return f"{g.meta.transcoder_set}/{n.layer}/{n.feature_index}"


def latents_by_feature(g):
    out = defaultdict(list)
    for n in g.nodes:
        if n.kind == "latent":
            out[fid(g, n)].append(n)
    return out


# ---- the library itself -------------------------------------------------------------------


def test_every_query_has_a_complete_header():
    names = {q.name for q in list_queries()}
    assert names == {
        "paths",
        "top-inputs",
        "top-outputs",
        "logit-drivers",
        "shared-features",
        "diff",
        "recurrence",
        "supernode-graph",
        "supernode-diff",
        "feature",
        "search",
        "neighbourhood",
        "interventions",
        "de-embedding",
        "logit-lens",
        "pullback",
        "virtual-weights",
    }
    for q in list_queries():
        assert q.purpose and q.example.startswith(":param "), q.name
        for p in q.params:
            assert p.doc, (q.name, p.name)
        body = "\n".join(line for line in q.text.splitlines() if not line.startswith("//"))
        for p in q.params:
            assert f"${p.name}" in body, (q.name, p.name)
        # Browser refuses a query whose parameters are not all set, so the example sets each.
        assert set(re.findall(r":param (\w+) =>", q.example)) == {p.name for p in q.params}, q.name
        assert [name for name, _ in q.example_values()] == re.findall(r":param (\w+) =>", q.example), q.name
        # every number and list is bounded (strings by the runner): no k = 10**9
        assert all(p.max is not None for p in q.params if p.type in ("int", "float", "list")), q.name


# The largest request each query takes, on the graphs here.
AT_THE_BOUNDS = {
    "paths": {"graph": DALLAS.meta.id, "max_length": 8, "k": 1000},
    "recurrence": {"target": " Austin", "paths": 1000, "max_length": 8, "k": 1000},
    "logit-drivers": {"graph": DALLAS.meta.id, "k": 1000},
    "shared-features": {"graphs": [g.meta.id for g in GRAPH.values() if g is not HAIKU], "k": 1000},
    "diff": {"graphs": [DALLAS.meta.id, OAKLAND.meta.id], "k": 1000},
    "top-inputs": {"graph": DALLAS.meta.id, "node": "27_22605_7", "k": 1000},
    "top-outputs": {"graph": DALLAS.meta.id, "node": "E_26865_6", "k": 1000},
    "neighbourhood": {"graph": DALLAS.meta.id, "node": "27_22605_7", "depth": 3},
    "supernode-graph": {"graph": HAIKU.meta.id, "influence": 1.0},
    "supernode-diff": {"graphs": [HAIKU.meta.id, DALLAS.meta.id], "k": 1000},
    "feature": {"feature": next(n for n in DALLAS.nodes if n.kind == "latent").id, "k": 1000, "limit": 1000},
    "search": {"text": "capital", "k": 1000},
}


@pytest.mark.parametrize("name", sorted(AT_THE_BOUNDS))
def test_every_query_at_its_bounds_runs_in_bounded_memory(db, name):
    """Neo4j's own accounting (PROFILE's GlobalMemory) of each query at its largest parameters:
    a few MB, far inside even a 1 GiB heap's transaction pool (716.8 MiB)."""
    query = get_query(name)
    params = dict(AT_THE_BOUNDS[name])
    if name == "feature":
        node = next(n for n in DALLAS.nodes if n.kind == "latent")
        params["feature"] = f"{DALLAS.meta.transcoder_set}/{node.layer}/{node.feature_index}"
    values = bind(query, params)
    with db.session() as session:
        result = session.run("PROFILE " + query.text, values)
        assert list(result) or name == "search"
        memory = result.consume().profile["args"].get("GlobalMemory", 0)
    assert memory < 32 * 2**20, (name, memory)


WEIGHTS_QUERIES = ("de-embedding", "logit-lens", "pullback", "virtual-weights")
PYTHON_TYPES = {"string": str, "int": int, "float": float, "bool": bool, "list": list}


@pytest.mark.parametrize("q", list_queries(), ids=lambda q: q.name)
def test_every_header_example_runs_as_browser_sends_it(db, q):
    """Browser sets the example's parameters (`:param NAME => VALUE` runs on the server as
    `RETURN VALUE AS NAME`, keeping the type), then sends the file's text as it is. The answer
    must not be empty: the examples name real graphs, tokens and nodes. `:params {...}` (every
    number a float) must give the same answer."""
    params = example_params(db, q)
    for name, given in params.items():
        if given is not None:
            assert isinstance(given, PYTHON_TYPES[q.param(name).type]), (name, given)
    answer, _, _ = db.execute_query(q.text, params)
    # The stored graphs here hold no interventions (tests/test_intervene.py computes some) and
    # no weights (tests/test_weights_store.py builds some and queries them).
    assert answer or q.name in ("interventions", *WEIGHTS_QUERIES), q.name
    floats = {k: float(v) if type(v) is int else v for k, v in params.items()}
    as_floats, _, _ = db.execute_query(q.text, floats)
    assert [r.data() for r in as_floats] == [r.data() for r in answer], q.name


def test_warm_up_runs_every_text_users_send(db):
    """Each library file, each of its checks and each guide block, with the examples' values."""
    lines = []
    assert warm(db, lines.append) == 0, lines
    n_checks = sum(len(q.checks) for q in list_queries())
    assert len(lines) == 2 * len(list_queries()) + n_checks
    assert all(re.fullmatch(r".+: \d+\.\d\ds", line) for line in lines), lines


# ---- drawable variants ----------------------------------------------------------------------


def bucket(weight, top):
    """The virtual edge type draw/*.cypher gives: sign, then the quarter of the largest |weight|."""
    a = abs(weight)
    n = 1 if 4 * a <= top else 2 if 2 * a <= top else 3 if 4 * a <= 3 * top else 4
    return ("INHIBITS_" if weight < 0 else "EXCITES_") + str(n)


def answer_edges(db, q, params):
    """{(source, target): weight} of the query's own (tabular) answer, keyed by node id (by name
    for supernode-graph, whose groups have no node id)."""
    records, _, _ = db.execute_query(q.text, params)
    if q.name == "paths":
        return {(a, b): w for r in records for a, b, w in zip(r["node_ids"], r["node_ids"][1:], r["weights"])}
    if q.name == "top-inputs":
        return {(r["node_id"], params["node"]): r["weight"] for r in records}
    if q.name == "neighbourhood":
        rels = records[0]["relationships"]
        return {(r.start_node["node_id"], r.end_node["node_id"]): r["weight"] for r in rels}
    return {(r["source"], r["target"]): r["weight"] for r in records}


DRAWN = [q for q in list_queries() if q.draw]


def test_the_subgraph_queries_have_drawable_variants():
    assert sorted(q.name for q in DRAWN) == ["neighbourhood", "paths", "supernode-graph", "top-inputs"]
    for q in DRAWN:
        body = "\n".join(line for line in q.draw.splitlines() if not line.startswith("//"))
        assert set(re.findall(r"\$(\w+)", body)) <= {p.name for p in q.params}, q.name


@pytest.mark.parametrize("q", DRAWN, ids=lambda q: q.name)
def test_drawn_variant_draws_the_answers_edges_typed_by_weight(db, q):
    """The drawable variant, run with the header example, draws exactly the edges of the query's
    own answer, each a virtual relationship carrying the weight (rounded) and typed by sign and
    weight bucket; the nodes are the stored nodes themselves."""
    params = example_params(db, q)
    expected = answer_edges(db, q, params)
    assert expected, q.name
    key = "name" if q.name == "supernode-graph" else "node_id"
    records, _, _ = db.execute_query(q.draw, params)
    drawn = {(r["source"][key], r["target"][key]): r["edge"] for r in records}
    assert drawn.keys() == expected.keys()
    top = max(abs(w) for w in expected.values())
    for pair, edge in drawn.items():
        assert edge.type == bucket(expected[pair], top), pair
        assert edge["weight"] == pytest.approx(expected[pair], abs=0.005 + 1e-9)  # rounded to 2 places
    for r in records:
        assert (r["edge"].start_node.element_id, r["edge"].end_node.element_id) == (
            r["source"].element_id,
            r["target"].element_id,
        )
    ends = list({n.element_id for r in records for n in (r["source"], r["target"])})
    stored = value(db, "MATCH (n) WHERE elementId(n) IN $ids RETURN count(n)", ids=ends)
    assert stored == len(ends)


# ---- paths --------------------------------------------------------------------------------


def test_paths_dallas_to_austin_match_yens_algorithm(db):
    rows = run_query(db, "paths", graph=DALLAS.meta.id, source=" Dallas", target=" Austin", k=5)
    expected = strongest_paths(DALLAS, token_ids(DALLAS, " Dallas"), logit(DALLAS, " Austin").id, 6, 5)
    assert [r["rank"] for r in rows] == [1, 2, 3, 4, 5]
    assert [r["node_ids"] for r in rows] == [p for p, _, _ in expected]
    assert [r["strength"] for r in rows] == pytest.approx([s for _, s, _ in expected], rel=1e-9)
    assert [r["weight_product"] for r in rows] == pytest.approx([w for _, _, w in expected], rel=1e-9)
    top = rows[0]
    assert top["path"][0] == '" Dallas"@6' and top["length"] == len(top["node_ids"]) - 1
    assert all(s > 0 for r in rows for s in r["shares"])


@pytest.mark.parametrize("position,max_length,k", [(2, 6, 10), (2, 2, 3), (4, 3, 7)])
def test_paths_by_position_with_length_limit(db, position, max_length, k):
    rows = run_query(db, "paths", graph=DALLAS.meta.id, position=position, max_length=max_length, k=k)
    src = [n.id for n in DALLAS.nodes if n.kind == "token" and n.position == position]
    expected = strongest_paths(DALLAS, src, logit(DALLAS).id, max_length, k)
    assert [r["strength"] for r in rows] == pytest.approx([s for _, s, _ in expected], rel=1e-9)
    assert [r["node_ids"] for r in rows] == [p for p, _, _ in expected]
    assert max(r["length"] for r in rows) <= max_length


def test_many_long_paths_match_yens_algorithm(db):
    """Far more paths than one node's share of the search (the k = 48 that once ran out of memory)."""
    rows = run_query(db, "paths", graph=DALLAS.meta.id, max_length=8, k=150)
    expected = strongest_paths(DALLAS, token_ids(DALLAS), logit(DALLAS).id, 8, 150)
    assert len(rows) == 150
    assert [r["strength"] for r in rows] == pytest.approx([s for _, s, _ in expected], rel=1e-9)
    # the same paths; two of equal strength may come in either order (and the last place's tie either one)
    cut = expected[-1][1]
    assert {(round(r["strength"], 15), tuple(r["node_ids"])) for r in rows if r["strength"] > cut} == {
        (round(s, 15), tuple(p)) for p, s, _ in expected if s > cut
    }


def test_paths_from_any_token_in_a_prefixed_graph(db):
    g = GRAPH[PREFIXED[0]]
    rows = run_query(db, "paths", graph=g.meta.id, target=" Austin", k=8, max_length=4)
    expected = strongest_paths(g, token_ids(g), logit(g, " Austin").id, 4, 8)
    assert [r["node_ids"] for r in rows] == [p for p, _, _ in expected]


KEPT_PATHS = ("paths_strength", "paths_length", "paths_weight", "paths_nodes", "paths_node_start")


def profiled(db, params):
    """`paths`' rows and the db hits its plan made."""
    with db.session() as session:
        result = session.run("PROFILE " + get_query("paths").text, bind(get_query("paths"), params))
        rows = [r.data() for r in result]
        plan = result.consume().profile

    def hits(p):
        return p.get("dbHits", 0) + sum(hits(c) for c in p.get("children", []))

    return rows, hits(plan)


def searched(db, graph_id, cases):
    """`paths`' answers to `cases` with the graph's kept paths removed (as in a store from before
    they were kept), so that every answer is searched; the kept paths are put back after."""
    projection = ", ".join(f".{p}" for p in KEPT_PATHS)
    kept = db.execute_query(
        f"MATCH (t:Logit {{graph_id: $g}}) RETURN elementId(t) AS id, t {{{projection}}} AS kept", g=graph_id
    )[0]
    db.execute_query("MATCH (t:Logit {graph_id: $g}) REMOVE " + ", ".join(f"t.{p}" for p in KEPT_PATHS), g=graph_id)
    try:
        return [profiled(db, params) for params in cases]
    finally:
        db.execute_query(
            "UNWIND $kept AS k MATCH (t) WHERE elementId(t) = k.id SET t += k.kept", kept=[r.data() for r in kept]
        )


@pytest.mark.slow
@pytest.mark.parametrize("path", [CLT / "dallas-austin.json", PREFIXED[0]], ids=["dallas", "prefixed"])
def test_paths_read_from_the_kept_paths_equal_the_search(db, path):
    """`paths` answers from the paths each logit kept at ingest when they provably hold the top k,
    else it searches: for many sources, targets, k and lengths, the same rows (every value, in
    order) as the search gives with the kept paths removed. Answers read take a small part of the
    search's db hits; from any token the k <= STORED_PATHS strongest are always read, and k beyond
    what the kept paths can vouch for is searched."""
    g = GRAPH[path]
    tokens = [n for n in g.nodes if n.kind == "token"]
    logits = sorted((n for n in g.nodes if n.kind == "logit"), key=lambda n: -n.probability)
    cases = [
        {"graph": g.meta.id, "source": source, "position": position, "target": target, "k": k, "max_length": m}
        for source, position in [(None, None), (tokens[-1].text, None), (tokens[-3].text, None)]
        + [(None, tokens[2].position)]
        for target in (None, logits[1].text)
        for k in (1, 5, 40)
        for m in (3, 8)
    ]
    read = [profiled(db, params) for params in cases]
    search = searched(db, g.meta.id, cases)
    assert [rows for rows, _ in read] == [rows for rows, _ in search]
    assert sum(len(rows) for rows, _ in read) > 3 * len(cases)
    from_kept = {i: hits < search_hits / 10 for i, ((_, hits), (_, search_hits)) in enumerate(zip(read, search))}
    # from any token, the k <= STORED_PATHS strongest are all kept; here, 40 of up to 8 edges are
    # more than the kept ones vouch for
    anywhere = [i for i, c in enumerate(cases) if c["source"] is None and c["position"] is None]
    assert all(from_kept[i] for i in anywhere if cases[i]["k"] <= STORED_PATHS)
    assert not any(from_kept[i] for i, c in enumerate(cases) if c["k"] == 40 and c["max_length"] == 8)


# ---- top-inputs / top-outputs ---------------------------------------------------------------


@pytest.mark.parametrize(
    "query,node", [("top-inputs", "27_22605_7"), ("top-outputs", "E_26865_6"), ("top-inputs", "20_44686_6")]
)
def test_top_inputs_and_outputs_are_signed_and_ordered(db, query, node):
    rows = run_query(db, query, graph=DALLAS.meta.id, node=node, k=7)
    incoming = query == "top-inputs"
    edges = [
        (s if incoming else t, w, sh) for (s, t), (w, sh) in shares(DALLAS).items() if (t if incoming else s) == node
    ]
    edges.sort(key=lambda e: (-abs(e[1]), e[0]))
    assert [(r["node_id"], r["weight"]) for r in rows] == [(n, pytest.approx(w)) for n, w, _ in edges[:7]]
    assert [r["share"] for r in rows] == pytest.approx([sh for _, _, sh in edges[:7]])


# ---- logit-drivers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path,target",
    [(CLT / "dallas-austin.json", " Austin"), (CLT / "oakland-sacramento.json", None), (HAIKU_DALLAS, "Austin")],
)
def test_logit_drivers_match_the_matrix_inverse(db, path, target):
    g = GRAPH[path]
    rows = run_query(db, "logit-drivers", graph=g.meta.id, target=target, k=15)
    influence = influence_on(g, logit(g, target).id)
    latents = {n.id: n for n in g.nodes if n.kind == "latent"}
    expected = sorted(latents, key=lambda i: -influence[i])[:15]
    assert [r["node_id"] for r in rows] == expected
    assert [r["logit_influence"] for r in rows] == pytest.approx([influence[i] for i in expected], rel=1e-4)
    assert [r["feature"] for r in rows] == [fid(g, latents[i]) for i in expected]
    assert [r["label"] for r in rows] == [latents[i].label for i in expected]


# ---- shared-features / diff -----------------------------------------------------------------


def test_shared_features_dallas_and_oakland(db):
    rows = run_query(db, "shared-features", graphs=[DALLAS.meta.id, OAKLAND.meta.id], k=1000)
    a, b = latents_by_feature(DALLAS), latents_by_feature(OAKLAND)
    assert {r["feature"] for r in rows} == a.keys() & b.keys()
    for r in rows:
        f = r["feature"]
        assert r["activations"] == [max(n.activation for n in a[f]), max(n.activation for n in b[f])]
        assert r["influences"] == pytest.approx([min(n.influence for n in a[f]), min(n.influence for n in b[f])])
        assert [sorted(ps) for ps in r["positions"]] == [
            sorted(n.position for n in a[f]),
            sorted(n.position for n in b[f]),
        ]
    worst = [max(r["influences"]) for r in rows]
    assert worst == sorted(worst)


def test_shared_features_across_the_prefixed_graphs(db):
    graphs = [GRAPH[p] for p in PREFIXED]
    rows = run_query(db, "shared-features", graphs=[g.meta.id for g in graphs], k=1000)
    common = set.intersection(*(set(latents_by_feature(g)) for g in graphs))
    assert common and {r["feature"] for r in rows} == common


def test_diff_dallas_oakland(db):
    k = 8
    rows = run_query(db, "diff", graphs=[DALLAS.meta.id, OAKLAND.meta.id], k=k)
    a, b = latents_by_feature(DALLAS), latents_by_feature(OAKLAND)
    infl = lambda ns: min(n.influence for n in ns)  # noqa: E731
    section = defaultdict(list)
    for r in rows:
        section[r["section"]].append(r)
    only_a = sorted(a.keys() - b.keys(), key=lambda f: (infl(a[f]), f))[:k]
    only_b = sorted(b.keys() - a.keys(), key=lambda f: (infl(b[f]), f))[:k]
    assert [r["item"] for r in section["only in A"]] == only_a
    assert [r["item"] for r in section["only in B"]] == only_b
    changed = sorted(a.keys() & b.keys(), key=lambda f: (-abs(infl(b[f]) - infl(a[f])), f))[:k]
    assert [r["item"] for r in section["changed"]] == changed
    assert [r["change"] for r in section["changed"]] == pytest.approx([infl(b[f]) - infl(a[f]) for f in changed])

    shared = a.keys() & b.keys()
    weights = defaultdict(lambda: [0.0, 0.0])
    for i, g in enumerate((DALLAS, OAKLAND)):
        nodes = {n.id: n for n in g.nodes}
        for s, t, w in g.edges():
            u, v = nodes[s], nodes[t]
            if u.kind == v.kind == "latent" and fid(g, u) in shared and fid(g, v) in shared:
                weights[f"{fid(g, u)} -> {fid(g, v)}"][i] += w
    edges = sorted(weights, key=lambda e: (-abs(weights[e][1] - weights[e][0]), e))[:k]
    assert [r["item"] for r in section["edge"]] == edges
    assert [(r["a"], r["b"]) for r in section["edge"]] == [pytest.approx(tuple(weights[e])) for e in edges]


# ---- recurrence -----------------------------------------------------------------------------


@pytest.mark.parametrize("paths,max_length", [(5, 4), (5, 6), (8, 8)])
@pytest.mark.parametrize(
    "target,only",
    [
        (" Austin", {"prompt": "test"}),  # the eleven prefixed Dallas graphs
        (" Austin", {}),  # every graph: no :Graph is looked up
        ("Austin", {"model": "claude-3.5-haiku"}),
        (" Austin", {"model": "claude-3.5-haiku"}),  # the model has no such logit: no rows
    ],
)
def test_recurrence_counts_features_on_the_strongest_paths_of_the_chosen_graphs(db, paths, max_length, target, only):
    rows = run_query(db, "recurrence", target=target, paths=paths, max_length=max_length, k=1000, **only)
    chosen = [
        g
        for g in GRAPH.values()
        if any(n.kind == "logit" and n.text == target for n in g.nodes)
        and only.get("prompt", "") in g.meta.prompt
        and only.get("model", g.meta.model) == g.meta.model
    ]
    assert len(chosen) == {"prompt": 11, "model": 1 if target == "Austin" else 0}.get(next(iter(only), None), 12)
    counts, graphs_of = Counter(), defaultdict(set)
    for g in chosen:
        nodes = {n.id: n for n in g.nodes}
        for path, _, _ in strongest_paths(g, token_ids(g), logit(g, target).id, max_length, paths):
            for i in path:
                if nodes[i].kind == "latent":
                    counts[fid(g, nodes[i])] += 1
                    graphs_of[fid(g, nodes[i])].add(g.meta.id)
    got = {r["feature"]: (r["n_graphs"], r["n_paths"], sorted(r["graphs"])) for r in rows}
    assert got == {f: (len(graphs_of[f]), counts[f], sorted(graphs_of[f])) for f in counts}
    if chosen:
        assert rows[0]["n_graphs"] == max(len(v) for v in graphs_of.values())


# ---- supernode-graph --------------------------------------------------------------------------


@pytest.mark.parametrize("path,influence", [(HAIKU_DALLAS, 0.5), (CLT / "dallas-austin.json", 0.45)])
def test_supernode_graph_sums_edges_between_groups(db, path, influence):
    g = GRAPH[path]
    rows = run_query(db, "supernode-graph", graph=g.meta.id, influence=influence)
    nodes = {n.id: n for n in g.nodes}
    group = {}
    for sn in sorted(g.supernodes, key=lambda s: s.name, reverse=True):
        for m in sn.members:
            group[m] = sn.name

    def kept(n):
        return n.id in group or n.kind in ("token", "logit") or n.influence is None or n.influence <= influence

    captions = _captions(db, g.meta.id)

    def name(n):
        return group.get(n.id, captions[n.id])

    totals = defaultdict(lambda: [0.0, 0])
    for s, t, w in g.edges():
        u, v = nodes[s], nodes[t]
        if kept(u) and kept(v) and name(u) != name(v):
            totals[(name(u), name(v))][0] += w
            totals[(name(u), name(v))][1] += 1
    got = {(r["source"], r["target"]): (r["weight"], r["edges"]) for r in rows}
    assert got.keys() == totals.keys()
    for key, (w, c) in totals.items():
        assert got[key] == (pytest.approx(w), c)
    if g.supernodes:
        assert any(r["source_grouped"] for r in rows) and any(not r["target_grouped"] for r in rows)


def _captions(db, graph_id):
    """{node id: caption} as stored (captions are the store's, so read rather than rebuilt)."""
    records, _, _ = db.execute_query("MATCH (n:Node {graph_id: $g}) RETURN n.node_id AS id, n.name AS name", g=graph_id)
    return {r["id"]: r["name"] for r in records}


# ---- feature ----------------------------------------------------------------------------------


def test_feature_lists_every_occurrence_with_partners(db):
    prefixed = [GRAPH[p] for p in PREFIXED]
    common = set.intersection(*(set(latents_by_feature(g)) for g in prefixed))
    feature = sorted(common)[0]
    rows = run_query(db, "feature", feature=feature, k=3)
    expected = []
    for g in GRAPH.values():
        captions = _captions(db, g.meta.id)
        for n in latents_by_feature(g).get(feature, []):
            edges = [
                (abs(w), t if s == n.id else s, "out" if s == n.id else "in", w)
                for s, t, w in g.edges()
                if n.id in (s, t)
            ]
            edges.sort(key=lambda e: (-e[0], e[1]))
            partners = [{"direction": d, "node_id": o, "name": captions[o], "weight": w} for _, o, d, w in edges[:3]]
            expected.append((g.meta.id, n.position, n.activation, partners))
    expected.sort(key=lambda e: (e[0], e[1]))
    assert len(expected) >= len(prefixed)
    assert [(r["graph"], r["position"], r["activation"], r["partners"]) for r in rows] == expected
    assert {r["n_rows"] for r in rows} == {len(expected)}
    page = run_query(db, "feature", feature=feature, k=3, skip=2, limit=3)
    assert [(r["graph"], r["position"], r["activation"], r["partners"]) for r in page] == expected[2:5]
    assert run_query(db, "feature", feature=feature, k=3, skip=len(expected)) == []


# ---- search -----------------------------------------------------------------------------------


def test_search_finds_labels_and_prompts(db):
    rows = run_query(db, "search", text="capital", k=1000)
    word = re.compile(r"\bcapital\b", re.IGNORECASE)
    features = {
        fid(g, n) for g in GRAPH.values() for n in g.nodes if n.kind == "latent" and n.label and word.search(n.label)
    }
    nodes = {(g.meta.id, n.id) for g in GRAPH.values() for n in g.nodes if n.label and word.search(n.label)}
    graphs = {g.meta.id for g in GRAPH.values() if word.search(g.meta.prompt)}
    assert features and graphs
    assert {r["id"] for r in rows if r["kind"] == "feature"} == features
    assert {(r["graph"], r["id"]) for r in rows if r["kind"] == "node"} == nodes
    assert {r["id"] for r in rows if r["kind"] == "graph"} == graphs
    scores = [r["score"] for r in rows]
    assert scores == sorted(scores, reverse=True)


# ---- neighbourhood ----------------------------------------------------------------------------


@pytest.mark.parametrize("depth,min_weight", [(1, 0.0), (2, 5.0), (3, 20.0)])
def test_neighbourhood_matches_a_breadth_first_search(db, depth, min_weight):
    centre = "27_22605_7"
    [row] = run_query(db, "neighbourhood", graph=DALLAS.meta.id, node=centre, depth=depth, min_weight=min_weight)
    G = nx.Graph()
    G.add_node(centre)
    G.add_edges_from((s, t) for s, t, w in DALLAS.edges() if abs(w) >= min_weight)
    reach = set(nx.single_source_shortest_path_length(G, centre, cutoff=depth))
    assert row["centre"]["node_id"] == centre
    assert {n["node_id"] for n in row["nodes"]} == reach
    edges = {(s, t) for s, t, w in DALLAS.edges() if abs(w) >= min_weight and s in reach and t in reach}
    assert {(r["source"], r["target"]) for r in row["relationships"]} == edges


# ---- parameter checks -------------------------------------------------------------------------


def test_a_checks_problem_parts_join_into_one_line():
    assert problem_text("no graph") == "no graph"
    parts = ["no graph ", ['"a"', '"b"'], "; the 3 stored graphs are: ", ["x", "y", "..."]]
    assert problem_text(parts) == 'no graph "a", "b"; the 3 stored graphs are: x, y, ...'
    assert problem_text(["none: ", []]) == "none: "


def test_unknown_graph_names_the_stored_ones(db):
    with pytest.raises(CircuitstoreError, match=r'no graph "nope".*stored graphs are: .*capital-state-dallas'):
        run_query(db, "paths", graph="nope", source=" Dallas")


def test_token_not_in_the_prompt_lists_the_prompt(db):
    with pytest.raises(CircuitstoreError, match=r'no input token " Houston".*6:" Dallas", 7:" is"'):
        run_query(db, "paths", graph=DALLAS.meta.id, source=" Houston")


def test_logit_not_in_the_graph_lists_its_logits(db):
    with pytest.raises(CircuitstoreError, match=r'no logit " Sacramento".*" Austin", " the"'):
        run_query(db, "logit-drivers", graph=DALLAS.meta.id, target=" Sacramento")


def test_bad_values_are_refused_before_any_query(db):
    with pytest.raises(CircuitstoreError, match="k must be at least 1, got 0"):
        run_query(db, "paths", graph=DALLAS.meta.id, k=0)
    with pytest.raises(CircuitstoreError, match="max_length must be at most 8"):
        run_query(db, "paths", graph=DALLAS.meta.id, max_length=9)
    with pytest.raises(CircuitstoreError, match="no parameter 'kk'; its parameters are: graph, source"):
        run_query(db, "paths", graph=DALLAS.meta.id, kk=3)
    with pytest.raises(CircuitstoreError, match="graph is required"):
        run_query(db, "top-inputs", node="x")
    with pytest.raises(CircuitstoreError, match="no query named 'pathz'; the queries are: de-embedding, diff, feature"):
        run_query(db, "pathz")
    with pytest.raises(CircuitstoreError, match="the number of graphs must be at least 2"):
        run_query(db, "shared-features", graphs=[DALLAS.meta.id])
    with pytest.raises(CircuitstoreError, match="different transcoder sets"):
        run_query(db, "diff", graphs=[DALLAS.meta.id, HAIKU.meta.id])
    with pytest.raises(CircuitstoreError, match='has no node "nope".*E_26865_6'):
        run_query(db, "top-outputs", graph=DALLAS.meta.id, node="nope")
    with pytest.raises(CircuitstoreError, match='no feature "x/1/2"'):
        run_query(db, "feature", feature="x/1/2")
    with pytest.raises(CircuitstoreError, match='no stored graph has a logit " Paris"; common logits are:'):
        run_query(db, "recurrence", target=" Paris")
    with pytest.raises(CircuitstoreError, match=rf"paths must be at most {STORED_PATHS}: \d+ graph\(s\) keep only"):
        run_query(db, "recurrence", target=" Austin", paths=STORED_PATHS + 1)
    with pytest.raises(CircuitstoreError, match="k must be at most 1000, got 99999999999999999999"):
        run_query(db, "paths", graph=DALLAS.meta.id, k=99999999999999999999)
    with pytest.raises(CircuitstoreError, match="text is longer than 10000 characters"):
        run_query(db, "search", text="x" * 10_001)
    with pytest.raises(CircuitstoreError, match=r"graph \"" + re.escape(DALLAS.meta.id) + r"\" is named twice"):
        run_query(db, "shared-features", graphs=[DALLAS.meta.id, DALLAS.meta.id])
    with pytest.raises(CircuitstoreError, match="is named twice"):
        run_query(db, "diff", graphs=[OAKLAND.meta.id, OAKLAND.meta.id])
    for text, where in (('"unbalanced', "Lexical error at line 1, column 12"), ("a AND", 'Encountered "<EOF>"')):
        with pytest.raises(CircuitstoreError) as caught:
            run_query(db, "search", text=text)
        message = str(caught.value)
        assert message.startswith(f"query search: the text is not a valid Lucene query ({where}")
        assert "\n" not in message


def test_a_request_beyond_the_transaction_memory_fails_at_once_in_one_line(db, caplog):
    """Neo4j calls running out of transaction memory transient; the driver would retry it for a
    minute. Here it is one line, at the first try."""
    hungry = QueryInfo(
        "hungry",
        "sorts rows that each carry a list of 200,000 numbers",
        (),
        (),
        "",
        "WITH [x IN range(1, 200000) | toFloat(x)] AS xs UNWIND range(1, 1000) AS i "
        "WITH xs, i ORDER BY i LIMIT 1000 RETURN count(*) AS n",
    )
    caplog.set_level(logging.INFO, logger="neo4j")
    with db.session() as session, pytest.raises(CircuitstoreError) as caught:
        session.execute_read(run_statement, hungry, {})
    message = str(caught.value)
    assert message.startswith("query hungry needs more memory than Neo4j gives a transaction (") and "\n" not in message
    assert not [r for r in caplog.records if "retried" in r.getMessage()]


# ---- the command line -------------------------------------------------------------------------


def test_cli_lists_runs_and_refuses(db, neo4j_target):
    runner = CliRunner(env=neo4j_target)
    listed = runner.invoke(main, ["query", "--list"])
    assert listed.exit_code == 0
    for q in list_queries():
        assert q.name in listed.output
    described = runner.invoke(main, ["query", "paths", "--list"])
    assert described.exit_code == 0 and "max_length  int" in described.output and "(required)" in described.output

    ok = runner.invoke(
        main,
        [
            "query",
            "paths",
            "--param",
            f"graph={DALLAS.meta.id}",
            "--param",
            "source= Dallas",
            "--param",
            "target= Austin",
            "--param",
            "k=2",
            "--json",
        ],
    )
    assert ok.exit_code == 0, ok.output
    rows = json.loads(ok.output)
    expected = strongest_paths(DALLAS, token_ids(DALLAS, " Dallas"), logit(DALLAS, " Austin").id, 6, 2)
    assert [r["node_ids"] for r in rows] == [p for p, _, _ in expected]

    table = runner.invoke(
        main,
        ["query", "top-inputs", "--param", f"graph={DALLAS.meta.id}", "--param", "node=27_22605_7", "--param", "k=3"],
    )
    assert table.exit_code == 0 and table.output.splitlines()[0].split()[:2] == ["node_id", "name"]

    bad = runner.invoke(main, ["query", "paths", "--param", f"graph={DALLAS.meta.id}", "--param", "k=0"])
    assert bad.exit_code != 0 and "k must be at least 1" in bad.output
    bad = runner.invoke(main, ["query", "paths", "--param", f"graph={DALLAS.meta.id}", "--param", "k=five"])
    assert bad.exit_code != 0 and "k must be an integer, got 'five'" in bad.output
    huge = runner.invoke(main, ["query", "paths", "-p", f"graph={DALLAS.meta.id}", "-p", "k=99999999999999999999"])
    assert (
        huge.exit_code == 1 and huge.stderr == "error: query paths: k must be at most 1000, got 99999999999999999999\n"
    )

    shown = runner.invoke(main, ["query", "paths"])
    assert shown.exit_code != 0 and "graph is required" in shown.output


def test_a_routing_uri_reaches_the_same_store(db, neo4j_target):
    """neo4j:// (what a cluster or Aura is given) works against the single local server too."""
    assert neo4j_target["NEO4J_URI"].startswith("bolt://")
    env = {**neo4j_target, "NEO4J_URI": neo4j_target["NEO4J_URI"].replace("bolt://", "neo4j://", 1)}
    params = ["target= Austin", "prompt=test", "max_length=4", "k=50"]
    result = CliRunner(env=env).invoke(
        main, ["query", "recurrence", *(x for p in params for x in ("--param", p)), "--json"]
    )
    assert result.exit_code == 0, result.output
    expected = run_query(db, "recurrence", target=" Austin", prompt="test", max_length=4, k=50)
    assert json.loads(result.output) == expected and expected
