"""The grouping methods on graphs whose right grouping is known (tests/hand_graphs.py), their
clustering against scipy's, their guarantees (deterministic, connected groups) on the real
Haiku graphs, the agreement scores against independent pair counting, and names."""

from __future__ import annotations

import itertools
import random
from collections import Counter

import networkx as nx
import numpy as np
import pytest
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform

from circuitstore.formats import read_graph
from circuitstore.graph import AttributionGraph, Supernode
from circuitstore.supernodes.agreement import adjusted_rand_index, agreement, pair_scores
from circuitstore.supernodes.clustering import agglomerate
from circuitstore.supernodes.edge_profile import EdgeProfileSettings, edge_profile_clusters
from circuitstore.supernodes.evidence import EvidenceSettings, Knowledge, evidence_clusters
from circuitstore.supernodes.families import GraphGroups, build_families
from circuitstore.supernodes.naming import group_name, unique_names
from circuitstore.supernodes.suggest import suggest
from tests.data import GRAPHS_DIR
from tests.hand_graphs import ALIKE, CAPITAL, DALLAS, PAIR_A, PAIR_B, SAY, TWO_HOP, feature, hand_graph
from tests.pair_counts import ari_by_pairs

HAIKU = sorted((GRAPHS_DIR / "claude-haiku").glob("*.json"))
METHODS = ("edge-profile", "evidence")


def groups(found) -> set[frozenset[str]]:
    return {frozenset(s.members) for s in found}


# ---- each method on graphs whose grouping is known ---------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_both_methods_find_the_two_hop_groups(method):
    found = suggest(hand_graph("g", TWO_HOP), method)
    assert groups(found) == {frozenset(DALLAS), frozenset(CAPITAL), frozenset(SAY)}
    assert all(0 < s.score <= 1 and s.method == method for s in found)


def test_the_graph_alone_merges_the_alike_pairs():
    """The ALIKE graph's two pairs read the same token and write mostly to different targets:
    the edges alone do not tell them apart, in either method."""
    g = hand_graph("g", ALIKE)
    for method in METHODS:
        assert frozenset(PAIR_A + PAIR_B) in groups(suggest(g, method)), method


def test_evidence_splits_them_by_their_labels():
    labels = dict.fromkeys(PAIR_A, "Texas") | {PAIR_A[1]: "Texas-related"} | dict.fromkeys(PAIR_B, "capital")
    g = hand_graph("g", ALIKE, labels)
    assert groups(suggest(g, "evidence")) >= {frozenset(PAIR_A), frozenset(PAIR_B)}
    assert frozenset(PAIR_A + PAIR_B) in groups(suggest(g, "edge-profile"))
    # the store's label for a Feature stands in for a latent without one
    bare = hand_graph("g", ALIKE)
    known = Knowledge(labels={feature(n): labels[n] for n in PAIR_A + PAIR_B})
    assert groups(suggest(bare, "evidence", known)) == groups(suggest(g, "evidence"))


def test_evidence_follows_how_other_graphs_grouped_the_features():
    g = hand_graph("g", ALIKE)
    elsewhere = [[{feature(n) for n in PAIR_A}, {feature(n) for n in PAIR_B}]]
    found = groups(suggest(g, "evidence", Knowledge(groupings=elsewhere)))
    assert found >= {frozenset(PAIR_A), frozenset(PAIR_B)}


def test_evidence_follows_the_roles_the_features_play_in_other_graphs():
    """In two other graphs the same Features read different tokens and feed different latents."""
    apart = [
        ("E_1_1", "0_10_1", 1.0),
        ("E_1_1", "0_11_1", 0.8),
        ("E_2_1", "0_40_1", 1.0),
        ("E_2_1", "0_41_1", 0.9),
        ("0_10_1", "1_30_3", 1.0),
        ("0_11_1", "1_30_3", 0.9),
        ("0_40_1", "1_31_3", 1.0),
        ("0_41_1", "1_31_3", 0.8),
        ("1_30_3", "9_7_3", 1.0),
        ("1_31_3", "9_7_3", 1.0),
    ]
    others = [hand_graph("h1", apart), hand_graph("h2", apart)]
    found = groups(suggest(hand_graph("g", ALIKE), "evidence", Knowledge(others=others)))
    assert found >= {frozenset(PAIR_A), frozenset(PAIR_B)}


def test_evidence_reads_what_the_weights_say():
    promotes = {"logit-lens": {"hand-model/7": 1.0, "hand-model/8": 0.2}}
    other = {"logit-lens": {"hand-model/9": 1.0, "hand-model/8": 0.1}}
    weights = {feature(n): promotes for n in PAIR_A} | {feature(n): other for n in PAIR_B}
    found = groups(suggest(hand_graph("g", ALIKE), "evidence", Knowledge(weights=weights)))
    assert found >= {frozenset(PAIR_A), frozenset(PAIR_B)}


def test_evidence_discounts_latents_at_other_positions():
    """Two latents that read the same token and feed the same latent: their profiles are the same
    (cosine 1) and nothing else is known, so their likeness is 1 at one position and the
    `other_position` factor at two; below the threshold they stay apart."""

    def found(position: int, settings: EvidenceSettings = EvidenceSettings()) -> list[tuple[set[str], float]]:
        b = f"0_11_{position}"
        edges = [("E_1_1", "0_10_1", 1.0), ("E_1_1", b, 1.0), ("0_10_1", "1_30_3", 1.0), (b, "1_30_3", 1.0)]
        g = hand_graph("g", [*edges, ("1_30_3", "9_7_3", 1.0)])
        rows, clusters = evidence_clusters(g, settings=settings)
        return [({g.nodes[rows[k]].id for k in c.members}, c.score) for c in clusters]

    assert found(1) == [({"0_10_1", "0_11_1"}, pytest.approx(1.0))]
    assert found(2) == [({"0_10_1", "0_11_2"}, pytest.approx(EvidenceSettings().other_position))]
    assert found(2, EvidenceSettings(other_position=0.3)) == []
    assert found(2, EvidenceSettings(other_position=1.0)) == [({"0_10_1", "0_11_2"}, pytest.approx(1.0))]


def test_excluded_latents_stay_ungrouped_and_the_size_guard_splits():
    g = hand_graph("g", TWO_HOP)
    for method in METHODS:
        found = suggest(g, method, exclude=set(DALLAS))
        assert not any(set(DALLAS) & set(s.members) for s in found)
    rows, clusters = edge_profile_clusters(g, settings=EdgeProfileSettings(max_size=1))
    assert clusters == []


def test_the_support_guard_needs_shared_neighbours():
    g = hand_graph("g", TWO_HOP)
    rows, clusters = edge_profile_clusters(g, settings=EdgeProfileSettings(min_shared=4))
    ids = {frozenset(g.nodes[rows[k]].id for k in c.members) for c in clusters}
    # the say latents share five neighbours (four sources and the logit), the others three
    assert ids == {frozenset(SAY)}


# ---- guarantees ------------------------------------------------------------------------------


def shuffled(g: AttributionGraph, seed: int) -> AttributionGraph:
    order = list(range(g.n_nodes))
    random.Random(seed).shuffle(order)
    edges = list(g.edges())
    random.Random(seed + 1).shuffle(edges)
    return AttributionGraph.from_edge_ids(g.meta, [g.nodes[i] for i in order], edges, g.supernodes)


@pytest.mark.parametrize("path", HAIKU, ids=lambda p: p.stem)
@pytest.mark.parametrize("method", METHODS)
def test_suggestions_are_deterministic_and_connected(path, method):
    g = read_graph(path)
    found = suggest(g, method)
    assert found == suggest(g, method) == suggest(shuffled(g, 7), method)
    assert len({s.name for s in found}) == len(found)
    # connected when two latents are linked by an edge or a node both are joined to
    G = nx.Graph((s, t) for s, t, _ in g.edges())
    for s in found:
        near = {m: nx.single_source_shortest_path_length(G, m, cutoff=2) for m in s.members}
        H = nx.Graph()
        H.add_nodes_from(s.members)
        H.add_edges_from((a, b) for a, b in itertools.combinations(s.members, 2) if b in near[a])
        assert nx.is_connected(H), s
        assert all(g.node(m).kind == "latent" for m in s.members)


# ---- clustering against scipy -------------------------------------------------------------------


@pytest.mark.parametrize("method", ["complete", "average"])
@pytest.mark.parametrize("seed", range(5))
def test_agglomerate_matches_scipy_hierarchical_clustering(method, seed):
    rng = np.random.default_rng(seed)
    points = rng.normal(size=(40, 3))
    similarity = 1 - np.linalg.norm(points[:, None] - points[None], axis=-1) / 4
    for threshold in (0.2, 0.5, 0.8):
        mine = {c.members for c in agglomerate(similarity, threshold, linkage=method)}
        distance = 1 - similarity
        np.fill_diagonal(distance, 0)
        labels = fcluster(linkage(squareform(distance, checks=False), method), 1 - threshold, "distance")
        theirs = {tuple(np.flatnonzero(labels == k)) for k in np.unique(labels)}
        assert mine == {c for c in theirs if len(c) > 1}


def test_agglomerate_guards():
    similarity = np.full((4, 4), 0.9)
    allowed = np.ones((4, 4), dtype=bool)
    allowed[0, 3] = allowed[3, 0] = False
    # complete linkage: no group holds a pair that is not allowed
    found = [c.members for c in agglomerate(similarity, 0.5, allowed=allowed)]
    assert all(not {0, 3} <= set(m) for m in found) and found
    # a merge needs a linked pair: 0-1 and 2-3 are linked, nothing between them
    linked = np.zeros((4, 4), dtype=bool)
    linked[0, 1] = linked[1, 0] = linked[2, 3] = linked[3, 2] = True
    assert [c.members for c in agglomerate(similarity, 0.5, linked=linked)] == [(0, 1), (2, 3)]
    assert all(len(c.members) <= 3 for c in agglomerate(similarity, 0.5, max_size=3))
    assert agglomerate(similarity, 0.95) == []


# ---- agreement ----------------------------------------------------------------------------------


def test_ari_and_pair_scores_match_pair_counting():
    assert adjusted_rand_index(dict(enumerate([0, 0, 1, 1])), dict(enumerate([0, 0, 1, 2]))) == pytest.approx(4 / 7)
    assert adjusted_rand_index(dict(enumerate("aabb")), dict(enumerate("xxyy"))) == 1.0
    rng = random.Random(3)
    for _ in range(50):
        n = rng.randint(3, 30)
        truth = {i: rng.randint(0, 4) for i in range(n)}
        pred = {i: rng.randint(0, 5) for i in range(n)}
        if len(set(truth.values())) in (1, n) and len(set(pred.values())) in (1, n):
            continue
        assert adjusted_rand_index(truth, pred) == pytest.approx(ari_by_pairs(truth, pred))
        together = [(a, b) for a, b in itertools.combinations(truth, 2) if pred[a] == pred[b]]
        hand = [(a, b) for a, b in itertools.combinations(truth, 2) if truth[a] == truth[b]]
        both = set(together) & set(hand)
        precision = len(both) / len(together) if together else 0.0
        recall = len(both) / len(hand) if hand else 0.0
        assert pair_scores(truth, pred)[:2] == (pytest.approx(precision), pytest.approx(recall))


def test_agreement_scores_only_the_hand_grouped_nodes():
    hand = [Supernode("x", ("a", "b")), Supernode("y", ("c", "d"))]
    perfect = agreement(hand, [("a", "b", "z1"), ("c", "d", "z2")])
    assert (perfect.nodes, perfect.ari, perfect.precision, perfect.recall) == (4, 1.0, 1.0, 1.0)
    one_off = agreement(hand, [("a", "b", "c")])  # c joins a, b; d stands alone
    assert one_off.precision == pytest.approx(1 / 3) and one_off.recall == pytest.approx(1 / 2)
    assert agreement(hand, []).recall == 0.0


# ---- names --------------------------------------------------------------------------------------


def test_names_come_from_the_most_representative_label():
    assert group_name(["capital", "capitals", "capital (of)", None], [1, 2, 3, 4], []) == "capital"
    assert group_name(["say Austin", "Texas-related", "say Austin"], [1, 1, 1], []) == "say Austin"
    assert group_name([None, ""], [3, 5], [" is", " is", " Dallas"]) == 'L3-5 at " is"'
    assert group_name([None], [2], []) == "L2"
    assert unique_names(["a", "b", "a", "a"], taken={"b"}) == ["a", "b (2)", "a (2)", "a (3)"]


def test_haiku_suggestions_are_named_from_their_labels():
    g = read_graph(HAIKU[0])
    names = Counter(s.name.split(" (")[0] for s in suggest(g, "evidence"))
    assert {"Dallas", "capital", "say a capital"} <= names.keys()


# ---- families -----------------------------------------------------------------------------------


def test_features_no_graph_holds_together_never_share_a_family():
    """X is in every graph, grouped with A where A is and with B where B is; A and B never meet,
    so nothing says they play one role: X joins one of them, not both."""

    def graph(gid: str, partner: str) -> GraphGroups:
        return GraphGroups(gid, frozenset({"X", partner, "C", "D"}), (frozenset({"X", partner}), frozenset("CD")), {})

    observed = [graph("g1", "A"), graph("g2", "A"), graph("g3", "B"), graph("g4", "B")]
    layers = dict.fromkeys("XABCD", 0)
    found = build_families(observed, {}, layers)
    assert sorted(f.features for f in found) == [("A", "X"), ("C", "D")]
    assert {f.graphs for f in found} == {("g1", "g2", "g3", "g4")}
    assert all(f.score == 1.0 for f in found)
