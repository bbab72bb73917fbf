"""AttributionGraph: construction validates, and errors name the culprit."""

import math
from dataclasses import replace

import numpy as np
import pytest

from circuitstore.errors import CircuitstoreError
from circuitstore.graph import AttributionGraph, GraphError, GraphMeta, Node, Supernode

META = GraphMeta(id="g", prompt="The cat", prompt_tokens=("The", " cat"), model="m", transcoder_set="t")


def small_nodes() -> list[Node]:
    return [
        Node("E_1_0", "token", 0, token_id=1, text="The"),
        Node("E_2_1", "token", 1, token_id=2, text=" cat"),
        Node("0_7_1", "latent", 1, layer=0, feature_index=7, activation=2.5, influence=0.4, label="cats"),
        Node("0_1_1", "error", 1, layer=1),
        Node("3_9_1", "logit", 1, layer=3, token_id=9, text=" sat", probability=0.6, is_target=True),
    ]


EDGES = [("E_1_0", "0_7_1", 1.5), ("E_2_1", "0_7_1", -0.25), ("0_7_1", "3_9_1", 2.0), ("0_1_1", "3_9_1", 0.5)]


def small_graph(**meta) -> AttributionGraph:
    return AttributionGraph.from_edge_ids(
        replace(META, **meta), small_nodes(), EDGES, [Supernode("cat", ("0_7_1", "E_2_1"))]
    )


def test_a_well_formed_graph_keeps_what_it_was_given():
    g = small_graph()
    assert g.n_nodes == 5 and g.n_edges == len(EDGES)
    assert list(g.edges()) == EDGES
    assert g.node("0_7_1").label == "cats"
    assert g.count_by_kind() == {"token": 2, "latent": 1, "error": 1, "logit": 1}
    assert [g.nodes[s].id for s in g.sources] == [s for s, _, _ in EDGES]


@pytest.mark.parametrize(
    "make, culprit",
    [
        (lambda: Node("x", "latent", 0, feature_index=3), "'x'"),
        (lambda: Node("x", "latent", 0, layer=3), "'x'"),
        (lambda: Node("x", "error", 0), "'x'"),
        (lambda: Node("x", "neuron", 0), "'neuron'"),
        (lambda: Node("x", "token", -1), "-1"),
        (lambda: Node("x", "latent", 0, layer=1, feature_index=2, activation=math.nan), "activation"),
        (lambda: Node("x", "logit", 0, layer=1, probability=math.inf), "probability"),
        (lambda: Node("", "token", 0), "''"),
    ],
)
def test_a_bad_node_is_refused_by_name(make, culprit):
    with pytest.raises(GraphError, match=culprit):
        make()


def test_duplicate_node_ids_are_named():
    nodes = small_nodes() + [Node("0_7_1", "error", 1, layer=0)]
    with pytest.raises(GraphError, match="duplicate node id '0_7_1'"):
        AttributionGraph(META, nodes, [], [], [])


def test_an_edge_to_an_unknown_node_is_named():
    with pytest.raises(GraphError, match="unknown target node 'nowhere'"):
        AttributionGraph.from_edge_ids(META, small_nodes(), [*EDGES, ("0_7_1", "nowhere", 1.0)])


def test_an_edge_index_outside_the_node_table_is_refused():
    with pytest.raises(GraphError, match="source index 5"):
        AttributionGraph(META, small_nodes(), [5], [0], [1.0])


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_non_finite_weight_is_refused_with_its_edge(bad):
    edges = [*EDGES[:2], ("0_7_1", "3_9_1", bad), *EDGES[3:]]
    with pytest.raises(GraphError, match="'0_7_1' -> '3_9_1' has non-finite weight"):
        AttributionGraph.from_edge_ids(META, small_nodes(), edges)


def test_a_duplicate_edge_is_named():
    with pytest.raises(GraphError, match="duplicate edge 'E_1_0' -> '0_7_1'"):
        AttributionGraph.from_edge_ids(META, small_nodes(), [*EDGES, ("E_1_0", "0_7_1", 9.0)])


def test_edge_arrays_of_unequal_length_are_refused():
    with pytest.raises(GraphError, match="equal length"):
        AttributionGraph(META, small_nodes(), [0, 1], [2], [1.0])


def test_a_supernode_member_must_be_a_node():
    with pytest.raises(GraphError, match="supernode 'cat' names unknown node 'E_9_9'"):
        AttributionGraph(META, small_nodes(), [], [], [], [Supernode("cat", ("E_9_9",))])


def test_an_empty_graph_or_id_is_refused():
    with pytest.raises(GraphError, match="no nodes"):
        AttributionGraph(META, [], [], [], [])
    with pytest.raises(GraphError, match="graph id"):
        GraphMeta(id="", prompt="", prompt_tokens=(), model="m", transcoder_set="t")


def test_graph_errors_are_the_users_kind_of_error():
    assert issubclass(GraphError, CircuitstoreError)


def test_the_fingerprint_ignores_order_and_id_but_not_content():
    g = small_graph()
    order = [4, 2, 0, 3, 1]
    shuffled = AttributionGraph.from_edge_ids(
        META, [g.nodes[i] for i in order], list(reversed(EDGES)), [Supernode("cat", ("E_2_1", "0_7_1"))]
    )
    assert shuffled.fingerprint() == g.fingerprint()
    assert g.renamed("other").fingerprint() == g.fingerprint()

    heavier = AttributionGraph(META, g.nodes, g.sources, g.targets, g.weights + np.eye(1, g.n_edges)[0], g.supernodes)
    relabelled = AttributionGraph(
        META,
        [
            *g.nodes[:2],
            Node("0_7_1", "latent", 1, layer=0, feature_index=7, activation=2.5, influence=0.4, label="dogs"),
            *g.nodes[3:],
        ],
        g.sources,
        g.targets,
        g.weights,
        g.supernodes,
    )
    other_prompt = small_graph(prompt="The dog")
    assert len({g.fingerprint(), heavier.fingerprint(), relabelled.fingerprint(), other_prompt.fingerprint()}) == 4


def test_renamed_changes_only_the_id():
    g = small_graph()
    r = g.renamed("copy")
    assert r.meta.id == "copy" and r.meta.prompt == g.meta.prompt
    assert r.nodes == g.nodes and list(r.edges()) == list(g.edges()) and r.supernodes == g.supernodes
