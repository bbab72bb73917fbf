"""store_graph / load_graph / delete_graph against a real Neo4j, on every real graph file; each
expectation is computed from the file's raw JSON (tests/raw_json.py), never from the store's output."""

from __future__ import annotations

import json
import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from circuitstore.formats import dump_graph, parse_graph, read_graph
from circuitstore.graph import KINDS
from circuitstore.store import (
    GraphExists,
    GraphNotFound,
    GraphTooBig,
    delete_graph,
    graph_exists,
    list_graphs,
    load_graph,
    store_graph,
)
from circuitstore.store.memory import STORE_BYTES_PER_EDGE, transaction_pool
from circuitstore.store.write import EDGE_BATCH
from tests import raw_json
from tests.big_graphs import big_graph
from tests.data import GRAPH_FILES, GRAPHS_DIR
from tests.database import stored_labels, value
from tests.graph_files import labelled, node, small_file

DALLAS = GRAPHS_DIR / "gemma-2-2b-clt" / "dallas-austin.json"
OAKLAND = GRAPHS_DIR / "gemma-2-2b-clt" / "oakland-sacramento.json"
PREFIXED = sorted((GRAPHS_DIR / "gemma-2-2b-clt-prefixed").glob("*.json"))
IDS = [f"{p.parent.name}/{p.stem}" for p in GRAPH_FILES]


def snapshot(driver) -> list[str]:
    """Every node and relationship with its element id, labels or type, and properties: equal
    snapshots mean nothing was written (a node deleted and made again gets a new element id)."""
    nodes = value(driver, "MATCH (n) RETURN collect([elementId(n), labels(n), properties(n)])")
    rels = value(
        driver, "MATCH (a)-[r]->(b) RETURN collect([elementId(r), type(r), elementId(a), elementId(b), properties(r)])"
    )
    return sorted(json.dumps(x, sort_keys=True, default=str) for x in nodes + rels)


def graph_counts(driver, graph_id: str) -> dict:
    return {
        "kinds": {
            label: value(driver, f"MATCH (n:{label} {{graph_id: $g}}) RETURN count(n)", g=graph_id)
            for label in ("Token", "Latent", "Error", "Logit")
        },
        "edges": value(driver, "MATCH (a:Node {graph_id: $g})-[r:ATTRIBUTION]->(b) RETURN count(r)", g=graph_id),
        "features": value(
            driver,
            "MATCH (:Latent {graph_id: $g})-[:INSTANCE_OF]->(f:Feature) RETURN collect(DISTINCT [f.layer, f.index])",
            g=graph_id,
        ),
        "vocab": value(
            driver, "MATCH (:Node {graph_id: $g})-[:IS]->(v:Vocab) RETURN collect(DISTINCT v.token_id)", g=graph_id
        ),
    }


def expected_counts(raw: dict) -> dict:
    kinds = raw_json.kind_counts(raw)
    return {
        "kinds": {label: kinds[label] for label in ("Token", "Latent", "Error", "Logit")},
        "edges": len(raw["links"]),
        "features": raw_json.feature_keys(raw),
        "vocab": raw_json.vocab_ids(raw),
    }


def as_sets(counts: dict) -> dict:
    return {**counts, "features": {tuple(f) for f in counts["features"]}, "vocab": set(counts["vocab"])}


@pytest.mark.parametrize("path", GRAPH_FILES, ids=IDS)
def test_counts_by_kind_match_the_file(store, path):
    raw = raw_json.load(path)
    gid = raw_json.graph_id(raw, path)
    assert store_graph(store, read_graph(path)) == "created"

    assert as_sets(graph_counts(store, gid)) == expected_counts(raw)
    # every latent is an instance of exactly one Feature, every token and logit is one Vocab entry
    assert (
        value(
            store,
            "MATCH (n:Latent {graph_id: $g}) WHERE COUNT { (n)-[:INSTANCE_OF]->(:Feature) } <> 1 RETURN count(n)",
            g=gid,
        )
        == 0
    )
    assert (
        value(
            store,
            "MATCH (n:Node {graph_id: $g}) WHERE (n:Token OR n:Logit) AND COUNT { (n)-[:IS]->() } <> 1 RETURN count(n)",
            g=gid,
        )
        == 0
    )
    assert value(store, "MATCH (n:Node {graph_id: $g}) RETURN count(n)", g=gid) == len(raw["nodes"])
    # each node carries exactly one kind label besides :Node
    assert value(store, "MATCH (n:Node {graph_id: $g}) WHERE size(labels(n)) <> 2 RETURN count(n)", g=gid) == 0
    assert value(store, "MATCH (f:Feature) RETURN count(f)") == len(raw_json.feature_keys(raw))
    assert value(store, "MATCH (v:Vocab) RETURN count(v)") == len(raw_json.vocab_ids(raw))
    # Feature identity: transcoder set (the file's, else its scan), layer, index within the layer
    info = raw["metadata"].get("info") or {}
    transcoders = info.get("transcoder_set") or raw["metadata"]["scan"]
    features = value(store, "MATCH (f:Feature) RETURN collect([f.id, f.transcoder_set, f.layer, f.index])")
    assert {tuple(f) for f in features} == {
        (f"{transcoders}/{layer}/{index}", transcoders, layer, index) for layer, index in raw_json.feature_keys(raw)
    }
    # a prompt token's Vocab entry has that token's text
    tokens = value(store, "MATCH (t:Token {graph_id: $g})-[:IS]->(v:Vocab) RETURN collect([t.position, v.text])", g=gid)
    assert sorted(tokens) == sorted(
        [n["ctx_idx"], raw["metadata"]["prompt_tokens"][n["ctx_idx"]]]
        for n in raw["nodes"]
        if raw_json.kind_label(n) == "Token"
    )

    members = raw_json.supernode_members(raw)
    stored = value(
        store,
        "MATCH (:Graph {id: $g})-[:HAS_SUPERNODE]->(s:Supernode) "
        "OPTIONAL MATCH (s)-[:GROUPS]->(m) WITH s, collect(m.node_id) AS ms "
        "RETURN collect([s.name, ms])",
        g=gid,
    )
    assert {name: set(ms) for name, ms in stored} == members

    weights = value(
        store,
        "MATCH (a:Node {graph_id: $g})-[r:ATTRIBUTION]->(b) RETURN collect([a.node_id, b.node_id, r.weight, r.share])",
        g=gid,
    )
    expected_shares = raw_json.shares(raw)
    assert {(s, t): w for s, t, w, _ in weights} == raw_json.weights(raw)
    for s, t, _, share in weights:
        assert math.isclose(share, expected_shares[s, t], rel_tol=1e-12, abs_tol=1e-15)


def test_dallas_and_oakland_share_features(store):
    dallas, oakland = raw_json.load(DALLAS), raw_json.load(OAKLAND)
    store_graph(store, read_graph(DALLAS))
    store_graph(store, read_graph(OAKLAND))
    both = raw_json.feature_keys(dallas) & raw_json.feature_keys(oakland)
    assert both  # the two-hop capital circuits do reuse features
    shared = value(
        store,
        "MATCH (:Latent {graph_id: $a})-[:INSTANCE_OF]->(f:Feature)"
        "<-[:INSTANCE_OF]-(:Latent {graph_id: $b}) RETURN collect(DISTINCT [f.layer, f.index])",
        a=raw_json.graph_id(dallas, DALLAS),
        b=raw_json.graph_id(oakland, OAKLAND),
    )
    assert {tuple(f) for f in shared} == both
    union = raw_json.feature_keys(dallas) | raw_json.feature_keys(oakland)
    assert value(store, "MATCH (f:Feature) RETURN count(f)") == len(union)
    assert value(store, "MATCH (v:Vocab) RETURN count(v)") == len(
        raw_json.vocab_ids(dallas) | raw_json.vocab_ids(oakland)
    )


@pytest.mark.parametrize("path", GRAPH_FILES, ids=IDS)
def test_round_trip_equals_the_file(store, path):
    raw = raw_json.load(path)
    store_graph(store, read_graph(path))
    back = dump_graph(load_graph(store, raw_json.graph_id(raw, path)))

    assert back["metadata"] == raw["metadata"]
    assert {n["node_id"]: n for n in back["nodes"]} == {n["node_id"]: n for n in raw["nodes"]}
    assert len(back["nodes"]) == len(raw["nodes"])
    assert sorted((e["source"], e["target"], e["weight"]) for e in back["links"]) == sorted(
        (e["source"], e["target"], e["weight"]) for e in raw["links"]
    )
    # Neo4j keeps no order: supernodes and their members compare as sets
    rest = {k: v for k, v in raw["qParams"].items() if k != "supernodes"}
    assert {k: v for k, v in back["qParams"].items() if k != "supernodes"} == rest
    assert {name: sorted(ms) for name, *ms in back["qParams"]["supernodes"]} == {
        name: sorted(ms) for name, *ms in raw["qParams"].get("supernodes", [])
    }


def test_same_graph_again_changes_nothing(store):
    graphs = [read_graph(p) for p in (DALLAS, OAKLAND, GRAPHS_DIR / "claude-haiku" / "capital-state-dallas.json")]
    assert [store_graph(store, g) for g in graphs] == ["created"] * 3
    before = snapshot(store)
    assert [store_graph(store, g) for g in graphs] == ["unchanged"] * 3
    # the same content under a fresh parse, and in another node order, is the same graph
    assert store_graph(store, load_graph(store, graphs[0].meta.id)) == "unchanged"
    assert snapshot(store) == before


def test_different_graph_under_an_existing_id(store):
    dallas, oakland = raw_json.load(DALLAS), raw_json.load(OAKLAND)
    gid = raw_json.graph_id(dallas, DALLAS)
    store_graph(store, read_graph(DALLAS))
    before = snapshot(store)
    impostor = read_graph(OAKLAND).renamed(gid)
    with pytest.raises(GraphExists, match=gid):
        store_graph(store, impostor)
    assert snapshot(store) == before

    assert store_graph(store, impostor, replace=True) == "replaced"
    assert as_sets(graph_counts(store, gid)) == expected_counts(oakland)
    # Dallas-only Features and Vocab went with it; nothing else is left over
    assert value(store, "MATCH (f:Feature) RETURN count(f)") == len(raw_json.feature_keys(oakland))
    assert value(store, "MATCH (v:Vocab) RETURN count(v)") == len(raw_json.vocab_ids(oakland))
    assert value(store, "MATCH (g:Graph {id: $g}) RETURN g.prompt", g=gid) == oakland["metadata"]["prompt"]
    assert value(store, "MATCH (g:Graph) RETURN count(g)") == 1
    assert value(store, "MATCH (:Graph {id: $g})-[r:OF_MODEL|USES]->() RETURN count(r)", g=gid) == 2


def test_delete_keeps_what_other_graphs_use(store):
    dallas, oakland = raw_json.load(DALLAS), raw_json.load(OAKLAND)
    store_graph(store, read_graph(DALLAS))
    store_graph(store, read_graph(OAKLAND))
    oakland_id = raw_json.graph_id(oakland, OAKLAND)
    before = as_sets(graph_counts(store, oakland_id))

    delete_graph(store, raw_json.graph_id(dallas, DALLAS))
    assert not graph_exists(store, raw_json.graph_id(dallas, DALLAS))
    assert value(store, "MATCH (n:Node {graph_id: $g}) RETURN count(n)", g=raw_json.graph_id(dallas, DALLAS)) == 0
    assert as_sets(graph_counts(store, oakland_id)) == before == expected_counts(oakland)
    assert value(store, "MATCH (f:Feature) RETURN count(f)") == len(raw_json.feature_keys(oakland))
    assert value(store, "MATCH (v:Vocab) RETURN count(v)") == len(raw_json.vocab_ids(oakland))
    assert [g["id"] for g in list_graphs(store)] == [oakland_id]

    with pytest.raises(GraphNotFound):
        delete_graph(store, "no-such-graph")
    delete_graph(store, oakland_id)
    assert value(store, "MATCH (n) WHERE n:Graph OR n:Node OR n:Supernode OR n:Feature OR n:Vocab RETURN count(n)") == 0


def test_concurrent_threads_share_features(store):
    raws = [raw_json.load(p) for p in PREFIXED]
    graphs = [read_graph(p) for p in PREFIXED]
    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(lambda g: store_graph(store, g), graphs)) == ["created"] * len(graphs)
    for raw, path in zip(raws, PREFIXED):
        assert as_sets(graph_counts(store, raw_json.graph_id(raw, path))) == expected_counts(raw)
    union = set().union(*(raw_json.feature_keys(r) for r in raws))
    assert value(store, "MATCH (f:Feature) RETURN count(f)") == len(union)

    # the same graph stored by several threads at once: one creates it, the others find it
    again = read_graph(DALLAS)
    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(lambda _: store_graph(store, again), range(4)))
    assert sorted(outcomes) == ["created"] + ["unchanged"] * 3


def test_extra_settings_and_scores_are_stored_and_come_back(store):
    f = small_file()
    f["metadata"]["pruning_settings"] = {"node_threshold": 0.8, "edge_threshold": 0.98, "sparsity": 0.1}
    f["metadata"]["scores"] = {"replacement_score": 0.5, "completeness_score": 0.75, "max_nodes": 100}
    graph = parse_graph(f, origin="tiny.json")
    assert store_graph(store, graph) == "created"
    back = load_graph(store, "tiny")
    assert (back.meta.pruning, back.meta.scores) == (f["metadata"]["pruning_settings"], f["metadata"]["scores"])
    assert dump_graph(back)["metadata"] == f["metadata"] and back.fingerprint() == graph.fingerprint()
    assert value(store, "MATCH (g:Graph) RETURN [g.node_threshold, g.replacement_score, g.completeness_score]") == [
        0.8,
        0.5,
        0.75,
    ]


def test_a_logit_whose_clerp_names_no_token_is_captioned_by_its_clerp_or_id(store):
    f = small_file()
    f["nodes"][-1]["clerp"] = "Austin, probably"
    store_graph(store, parse_graph(f, origin="x"))
    assert value(store, "MATCH (o:Logit) RETURN [o.name, o.text]") == ["→ Austin, probably 0.75", None]
    f = small_file()
    f["metadata"]["slug"] = "unlabelled"
    f["nodes"][-1]["clerp"] = ""
    store_graph(store, parse_graph(f, origin="x"))
    assert value(store, "MATCH (o:Logit {graph_id: 'unlabelled'}) RETURN o.name") == "→ #99 0.75"
    # the Vocab entry first met through a logit without text shows its id, never "null"
    assert value(store, "MATCH (v:Vocab {token_id: 99}) RETURN [v.name, v.text]") == ["#99", None]
    assert value(store, "MATCH (n) WHERE n.name CONTAINS 'null' RETURN count(n)") == 0


def test_a_vocab_entry_learns_its_text_from_a_later_graph(store):
    f = small_file()
    f["nodes"][-1]["clerp"] = ""
    store_graph(store, parse_graph(f, origin="x"))
    f = small_file()
    f["metadata"]["slug"] = "with-text"
    f["metadata"]["prompt_tokens"].append(" there")
    f["nodes"].append(node("E_99_2", "embedding", "E", 2, 2))
    store_graph(store, parse_graph(f, origin="x"))
    assert value(store, "MATCH (v:Vocab {token_id: 99}) RETURN [v.name, v.text]") == [" there", " there"]


def test_a_features_label_is_what_most_of_its_graphs_say(store):
    files: dict[str, dict] = {}

    def put(slug: str, clerp: str, **kw) -> None:
        files[slug] = labelled(slug, clerp)
        store_graph(store, parse_graph(files[slug], origin=slug), **kw)
        assert stored_labels(store) == raw_json.expected_labels(files), slug

    def drop(slug: str) -> None:
        del files[slug]
        delete_graph(store, slug)
        assert stored_labels(store) == raw_json.expected_labels(files), slug

    put("a", "greeting")
    assert stored_labels(store)["some/clt/0/3"] == ("greeting", "graph", 1, "L0/3 greeting")
    put("b", "hello")  # one graph each: the alphabetically first
    assert stored_labels(store)["some/clt/0/3"][0] == "greeting"
    put("c", "hello")  # two graphs say hello: it wins, for everyone
    assert stored_labels(store)["some/clt/0/3"][:3] == ("hello", "graph", 2)
    put("d", "")  # a graph without a label changes nothing
    drop("c")  # what c said goes with it: a tie again
    assert stored_labels(store)["some/clt/0/3"][0] == "greeting"
    put("a", "hello", replace=True)  # replacing a relabels too
    assert stored_labels(store)["some/clt/0/3"][:3] == ("hello", "graph", 2)
    drop("a")
    drop("b")
    assert stored_labels(store)["some/clt/0/3"] == (None, None, None, "L0/3")
    # each latent keeps its own graph's clerp
    assert value(store, "MATCH (n:Latent) RETURN collect([n.graph_id, n.label])") == [["d", None]]


def test_labels_of_the_shared_graphs(store):
    raws = {raw_json.graph_id(raw_json.load(p), p): raw_json.load(p) for p in GRAPH_FILES}
    for p in GRAPH_FILES:
        store_graph(store, read_graph(p))
    assert stored_labels(store) == raw_json.expected_labels(raws)


def test_concurrent_imports_derive_labels_from_every_graph(store):
    clerps = ["hello", "greeting", "hello", "hi", "greeting", "hello", "", "hi"]
    files = {f"g{i}": labelled(f"g{i}", clerp) for i, clerp in enumerate(clerps)}
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda item: store_graph(store, parse_graph(item[1], origin=item[0])), files.items()))
    assert stored_labels(store) == raw_json.expected_labels(files)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda gid: delete_graph(store, gid), ["g0", "g2", "g5"]))
    assert stored_labels(store) == raw_json.expected_labels(
        {k: v for k, v in files.items() if k not in ("g0", "g2", "g5")}
    )


def _counts(driver, graph_id: str) -> tuple[int, int]:
    return (
        value(driver, "MATCH (n:Node {graph_id: $g}) WHERE n.node_id IS NOT NULL RETURN count(n)", g=graph_id),
        value(driver, "MATCH (:Node {graph_id: $g})-[r:ATTRIBUTION]->() RETURN count(r)", g=graph_id),
    )


@pytest.mark.slow
def test_half_a_million_edges_store_replace_and_delete_whole_on_the_default_heap(store):
    """The default heap (auto) holds a 500,000-edge graph in one transaction: stored, replaced by
    another as big, deleted; each whole. Progress comes per batch of edges."""
    graph = big_graph("half-a-million", n_latents=12_500, n_edges=500_000)
    seen: list[tuple[int, int]] = []
    assert store_graph(store, graph, progress=lambda done, total: seen.append((done, total))) == "created"
    assert _counts(store, graph.meta.id) == (graph.n_nodes, graph.n_edges)
    batches = -(-graph.n_edges // EDGE_BATCH)
    assert seen == [(min((i + 1) * EDGE_BATCH, graph.n_edges), graph.n_edges) for i in range(batches)]

    other = big_graph("half-a-million", n_latents=12_000, n_edges=500_000, seed=8)
    assert store_graph(store, other, replace=True) == "replaced"
    assert _counts(store, graph.meta.id) == (other.n_nodes, other.n_edges)
    assert value(store, "MATCH (f:Feature) RETURN count(f)") == 12_000

    delete_graph(store, graph.meta.id)
    assert value(store, "MATCH (n) WHERE n:Graph OR n:Node OR n:Feature OR n:Vocab RETURN count(n)") == 0


def test_a_big_graph_comes_back_in_parts_with_progress(store):
    """load_graph (and so export) reports the edges read after each part of the nodes: each
    count is that of the edges out of the first nodes in the store's slot order (tokens,
    latents, errors, logits; file order within a kind), ending with all of them."""
    graph = big_graph("in-parts", n_latents=2500, n_edges=10_000)
    store_graph(store, graph)
    seen: list[tuple[int, int]] = []
    back = load_graph(store, graph.meta.id, progress=lambda done, total: seen.append((done, total)))
    assert back.fingerprint() == graph.fingerprint()

    in_slot_order = sorted(range(graph.n_nodes), key=lambda i: KINDS.index(graph.nodes[i].kind))
    slot = np.empty(graph.n_nodes, dtype=int)
    slot[in_slot_order] = np.arange(graph.n_nodes)
    out_of_first = np.cumsum(np.bincount(slot[graph.sources], minlength=graph.n_nodes))  # [h]: out of slots 0..h
    assert len(seen) > 1 and seen[-1] == (graph.n_edges, graph.n_edges)
    assert all(total == graph.n_edges for _, total in seen)
    assert all(a < b for (a, _), (b, _) in zip(seen, seen[1:]))
    assert {done for done, _ in seen} <= set(out_of_first.tolist())


def test_a_graph_too_big_for_the_transaction_memory_is_refused_before_anything_is_sent(store, caplog):
    pool = transaction_pool(store)
    edges = pool // STORE_BYTES_PER_EDGE + 1
    graph = big_graph("too-big", n_latents=2 * int(edges**0.5) + 100, n_edges=edges)
    with pytest.raises(GraphTooBig) as caught:
        store_graph(store, graph)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"graph 'too-big': storing its {edges:,} edges needs about")
    assert "circuitstore server start --heap" in message and "--restart" in message
    assert value(store, "MATCH (n) WHERE NOT n:SchemaVersion RETURN count(n)") == 0
