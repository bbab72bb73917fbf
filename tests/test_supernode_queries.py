"""Feature families and the supernode queries against a real Neo4j, each answer checked against
an independent computation in plain Python over the graphs and the groups the CLI reported:
family build and list on hand-built graphs, supernode-graph over imported, manual, suggested
groups and families, supernode-diff, and recurrence and diff by family."""

from __future__ import annotations

import json
from collections import defaultdict

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform

from circuitstore.cli import main
from circuitstore.formats import read_graph
from circuitstore.graph import AttributionGraph, Supernode
from circuitstore.queries import run_query
from circuitstore.store import store_graph
from tests.data import GRAPHS_DIR
from tests.database import wipe
from tests.hand_graphs import ALIKE, PAIR_A, PAIR_B, TRANSCODERS, feature, hand_graph

HAIKU = read_graph(GRAPHS_DIR / "claude-haiku" / "capital-state-dallas.json")
PREFIXED = [read_graph(p) for p in sorted((GRAPHS_DIR / "gemma-2-2b-clt-prefixed").glob("*.json"))]
# Three hand-built graphs of the same Features: the first two group the pairs, the third across.
HAND = [
    hand_graph("g1", ALIKE, {PAIR_A[0]: "Texas"}, [Supernode("A", PAIR_A), Supernode("B", PAIR_B)]),
    hand_graph("g2", ALIKE, {}, [Supernode("A", PAIR_A), Supernode("B", PAIR_B)]),
    hand_graph("g3", ALIKE, {}, [Supernode("X", (PAIR_A[0], PAIR_B[0])), Supernode("Y", (PAIR_A[1], PAIR_B[1]))]),
]


@pytest.fixture(scope="module")
def db(neo4j_driver, neo4j_target):
    """Haiku Dallas with evidence suggestions beside its own supernodes, a manual one added;
    the prefixed Dallas graphs with evidence families; the hand-built graphs."""
    wipe(neo4j_driver)
    for g in [HAIKU, *PREFIXED, *HAND]:
        store_graph(neo4j_driver, g)
    cli(neo4j_target, "supernode", "add", HAIKU.meta.id, "Texas capital", "3_10502022_11", "5_10714744_11")
    cli(neo4j_target, "supernode", "suggest", HAIKU.meta.id, "--apply")
    cli(neo4j_target, "family", "build", "--model", "gemma-2-2b", "--prompt", "Dallas")
    return neo4j_driver


def cli(env: dict, *args: str) -> str:
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def stored_groups(driver, graph_id: str) -> list[tuple[str, str, set[str]]]:
    records, _, _ = driver.execute_query(
        "MATCH (:Graph {id: $g})-[:HAS_SUPERNODE]->(s)-[:GROUPS]->(n) RETURN s.name AS name, s.method AS method, "
        "collect(n.node_id) AS members",
        g=graph_id,
    )
    return [(r["name"], r["method"], set(r["members"])) for r in records]


def family_of(driver, method: str) -> dict[str, tuple[str, str]]:
    """{Feature id: (family id, family name)} of the method's families."""
    records, _, _ = driver.execute_query(
        "MATCH (x:FeatureFamily {method: $m})-[:INCLUDES]->(f) RETURN f.id AS f, x.id AS id, x.name AS name", m=method
    )
    return {r["f"]: (r["id"], r["name"]) for r in records}


def fid(g: AttributionGraph, n) -> str:
    return f"{g.meta.transcoder_set}/{n.layer}/{n.feature_index}"


def group_map(driver, g: AttributionGraph, methods=None, families=None) -> dict[str, str]:
    """{node id: the name of the group it stands for}, by the queries' rule: with families, its
    Feature's family; else its first supernode, hand-made before suggested, then by name."""
    if families:
        fam = family_of(driver, families)
        return {n.id: fam[fid(g, n)][1] for n in g.nodes if n.kind == "latent" and fid(g, n) in fam}
    out: dict[str, str] = {}
    ranked = sorted(stored_groups(driver, g.meta.id), key=lambda x: (x[1] not in ("imported", "manual"), x[0]))
    for name, method, members in ranked:
        if methods is None or method in methods:
            for m in members:
                out.setdefault(m, name)
    return out


def captions(driver, graph_id: str) -> dict[str, str]:
    records, _, _ = driver.execute_query(
        "MATCH (n:Node {graph_id: $g}) RETURN n.node_id AS id, n.name AS name", g=graph_id
    )
    return {r["id"]: r["name"] for r in records}


# ---- families -----------------------------------------------------------------------------------


def test_family_build_on_hand_built_graphs(db, neo4j_target):
    out = json.loads(cli(neo4j_target, "family", "build", "--graphs", "g1,g2,g3", "--method", "hand-made", "--json"))
    # co-grouping rates by hand: together / graphs holding both, then average linkage at 0.5
    features = sorted({feature(n) for n in PAIR_A + PAIR_B})
    rate = np.zeros((4, 4))
    for i, a in enumerate(features):
        for j, b in enumerate(features):
            together = sum(any({a, b} <= {feature(m) for m in sn.members} for sn in g.supernodes) for g in HAND)
            rate[i, j] = together / len(HAND)
    distance = 1 - rate
    np.fill_diagonal(distance, 0)
    labels = fcluster(linkage(squareform(distance), "average"), 0.5, "distance")
    expected = sorted(sorted(features[i] for i in np.flatnonzero(labels == k)) for k in np.unique(labels))
    assert sorted(sorted(f["features"]) for f in out) == expected == [sorted(map(feature, p)) for p in (PAIR_A, PAIR_B)]
    assert [f["score"] for f in out] == pytest.approx([2 / 3, 2 / 3])
    assert {f["name"] for f in out} == {"Texas", 'L0 at " Dallas"'}  # a label where one is known
    listed = json.loads(cli(neo4j_target, "family", "list", "--transcoders", TRANSCODERS, "--json"))
    assert [x["id"] for x in listed] == [f"{TRANSCODERS}/families/hand-made/{k}" for k in (1, 2)]
    assert all(x["n_graphs"] == 3 and x["method"] == "hand-made" for x in listed)
    # built again: the same families, replaced
    cli(neo4j_target, "family", "build", "--graphs", "g1,g2,g3", "--method", "hand-made")
    assert json.loads(cli(neo4j_target, "family", "list", "--transcoders", TRANSCODERS, "--json")) == listed


# ---- supernode-graph ----------------------------------------------------------------------------


def supernode_graph(driver, g: AttributionGraph, group: dict[str, str], influence: float) -> dict:
    nodes = {n.id: n for n in g.nodes}
    names = captions(driver, g.meta.id)

    def kept(n):
        return n.id in group or n.kind in ("token", "logit") or n.influence is None or n.influence <= influence

    totals = defaultdict(lambda: [0.0, 0])
    for s, t, w in g.edges():
        u, v = nodes[s], nodes[t]
        a, b = group.get(s, names[s]), group.get(t, names[t])
        if kept(u) and kept(v) and a != b:
            totals[a, b][0] += w
            totals[a, b][1] += 1
    return totals


@pytest.mark.parametrize(
    "graph,methods,families",
    [
        (HAIKU, None, None),
        (HAIKU, ["evidence"], None),
        (HAIKU, ["imported", "manual"], None),
        (PREFIXED[0], None, "evidence"),
        (HAND[2], None, "hand-made"),
    ],
    ids=["haiku-all", "haiku-suggested", "haiku-hand-made", "prefixed-families", "hand-families"],
)
def test_supernode_graph_over_every_kind_of_group(db, neo4j_target, graph, methods, families):
    if graph is HAND[2]:
        cli(neo4j_target, "family", "build", "--graphs", "g1,g2,g3", "--method", "hand-made")
    rows = run_query(db, "supernode-graph", graph=graph.meta.id, methods=methods, families=families, influence=0.5)
    group = group_map(db, graph, methods, families)
    assert group
    expected = supernode_graph(db, graph, group, 0.5)
    got = {(r["source"], r["target"]): (r["weight"], r["edges"]) for r in rows}
    assert got.keys() == expected.keys()
    for key, (w, c) in expected.items():
        assert got[key] == (pytest.approx(w), c)
    assert {r["source"] for r in rows if r["source_grouped"]} <= set(group.values())


# ---- supernode-diff -----------------------------------------------------------------------------


def pieces(g: AttributionGraph, group: dict[str, str]) -> dict[str, str]:
    out = {}
    for n in g.nodes:
        if n.id in group:
            out[n.id] = group[n.id]
        elif n.kind == "token":
            out[n.id] = f'"{n.text}"'
        elif n.kind == "logit":
            out[n.id] = f'→ "{n.text}"'
    return out


@pytest.mark.parametrize(
    "a,b,families", [(HAND[0], HAND[2], None), (PREFIXED[0], PREFIXED[5], "evidence")], ids=["supernodes", "families"]
)
def test_supernode_diff_matches_two_collapsed_graphs(db, a, b, families):
    k = 7
    rows = run_query(db, "supernode-diff", graphs=[a.meta.id, b.meta.id], families=families, k=k)
    members, weights = defaultdict(lambda: [0, 0]), defaultdict(lambda: [0.0, 0.0])
    for side, g in enumerate((a, b)):
        group = group_map(db, g, None, families)
        for name in group.values():
            members[name][side] += 1
        piece = pieces(g, group)
        for s, t, w in g.edges():
            if s in piece and t in piece and piece[s] != piece[t]:
                weights[f"{piece[s]} -> {piece[t]}"][side] += w
    section = defaultdict(list)
    for r in rows:
        section[r["section"]].append((r["item"], r["a"], r["b"]))
    only_a = sorted(((n, x, y) for n, (x, y) in members.items() if y == 0), key=lambda r: (-r[1], r[0]))[:k]
    only_b = sorted(((n, x, y) for n, (x, y) in members.items() if x == 0), key=lambda r: (-r[2], r[0]))[:k]
    both = sorted(((n, x, y) for n, (x, y) in members.items() if x and y), key=lambda r: (-abs(r[2] - r[1]), r[0]))
    edges = sorted(((e, x, y) for e, (x, y) in weights.items()), key=lambda r: (-abs(r[2] - r[1]), r[0]))[:k]
    assert section["only in A"] == [(n, x, None) for n, x, _ in only_a]
    assert section["only in B"] == [(n, None, y) for n, _, y in only_b]
    assert section["in both"] == both[:k]
    assert [e for e, _, _ in section["edge"]] == [e for e, _, _ in edges]
    assert [(x, y) for _, x, y in section["edge"]] == [pytest.approx((x, y)) for _, x, y in edges]
    assert section["edge"] and (section["in both"] if families else section["only in A"] and section["only in B"])


# ---- recurrence and diff by family ----------------------------------------------------------------


def test_recurrence_by_family_adds_up_its_features(db):
    params = {"target": " Austin", "prompt": "Dallas", "model": "gemma-2-2b", "paths": 5, "max_length": 4, "k": 1000}
    by_feature = run_query(db, "recurrence", **params)
    assert len(by_feature) < params["k"]  # every Feature, none cut
    by_family = run_query(db, "recurrence", families="evidence", **params)
    fam = family_of(db, "evidence")
    expected = defaultdict(lambda: [set(), 0, None])
    for r in by_feature:
        key, label = fam.get(r["feature"], (r["feature"], r["label"]))
        expected[key][0] |= set(r["graphs"])
        expected[key][1] += r["n_paths"]
        expected[key][2] = label
    got = {r["feature"]: (set(r["graphs"]), r["n_paths"], r["label"]) for r in by_family}
    assert got == {k: (g, n, label) for k, (g, n, label) in expected.items()}
    assert any(r["feature"].startswith("mntss/clt-gemma-2-2b-2.5M/families/evidence/") for r in by_family)
    assert all(r["n_graphs"] == len(r["graphs"]) for r in by_family)


def test_diff_by_family(db):
    a, b = PREFIXED[0], PREFIXED[5]
    k = 6
    rows = run_query(db, "diff", graphs=[a.meta.id, b.meta.id], families="evidence", k=k)
    fam = family_of(db, "evidence")

    def item(g, n):
        return fam.get(fid(g, n), (fid(g, n),))[0]

    infl = [defaultdict(list), defaultdict(list)]
    for side, g in enumerate((a, b)):
        for n in g.nodes:
            if n.kind == "latent":
                infl[side][item(g, n)].append(n.influence)
    lo = [{i: min(v) for i, v in side.items()} for side in infl]
    section = defaultdict(list)
    for r in rows:
        section[r["section"]].append(r)
    assert [r["item"] for r in section["only in A"]] == sorted(
        lo[0].keys() - lo[1].keys(), key=lambda i: (lo[0][i], i)
    )[:k]
    assert [r["item"] for r in section["only in B"]] == sorted(
        lo[1].keys() - lo[0].keys(), key=lambda i: (lo[1][i], i)
    )[:k]
    shared = lo[0].keys() & lo[1].keys()
    changed = sorted(shared, key=lambda i: (-abs(lo[1][i] - lo[0][i]), i))[:k]
    assert [r["item"] for r in section["changed"]] == changed
    weights = defaultdict(lambda: [0.0, 0.0])
    for side, g in enumerate((a, b)):
        nodes = {n.id: n for n in g.nodes}
        for s, t, w in g.edges():
            u, v = nodes[s], nodes[t]
            if (
                u.kind == v.kind == "latent"
                and item(g, u) in shared
                and item(g, v) in shared
                and item(g, u) != item(g, v)
            ):
                weights[f"{item(g, u)} -> {item(g, v)}"][side] += w
    edges = sorted(weights, key=lambda e: (-abs(weights[e][1] - weights[e][0]), e))[:k]
    assert [r["item"] for r in section["edge"]] == edges
    names = {i: name for i, name in fam.values()}
    assert all(r["label"] == names[r["item"]] for r in rows if r["item"] in names)
