"""Graph JSON read and write, on the real shared graphs and on small made-up files.

Expected values come from the files themselves, read here with the stdlib json module."""

import json
import math
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from circuitstore.errors import CircuitstoreError
from circuitstore.formats import FormatError, dump_graph, parse_graph, read_graph, write_graph
from circuitstore.graph import AttributionGraph, GraphMeta, Node, Supernode
from tests.data import GRAPH_FILES, SCHEMA_FILE
from tests.graph_files import cantor, small_file
from tests.graph_files import node as raw_node
from tests.raw_json import store_id
from tests.schema_check import schema_errors

SCHEMA = json.loads(SCHEMA_FILE.read_text())
KIND = {"embedding": "token", "cross layer transcoder": "latent", "mlp reconstruction error": "error", "logit": "logit"}
GEMMA = [p for p in GRAPH_FILES if p.parent.name.startswith("gemma")]
HAIKU = [p for p in GRAPH_FILES if p.parent.name == "claude-haiku"]
FILE_IDS = [f"{p.parent.name}/{p.stem}" for p in GRAPH_FILES]


def original(path: Path) -> dict:
    return json.loads(path.read_text())


def uncantor(number: int) -> tuple[int, int]:
    """The (layer, index) pair a Cantor number stands for, by inverting the pairing."""
    diagonal = (math.isqrt(8 * number + 1) - 1) // 2
    index = number - diagonal * (diagonal + 1) // 2
    return diagonal - index, index


def test_the_shared_graphs_are_there():
    assert len(GEMMA) == 17 and len(HAIKU) == 2


@pytest.mark.parametrize("path", GRAPH_FILES, ids=FILE_IDS)
def test_writing_a_read_file_gives_back_the_file(path, tmp_path):
    out = tmp_path / "out.json"
    write_graph(read_graph(path), out)
    assert json.loads(out.read_text()) == original(path)


@pytest.mark.parametrize("path", GRAPH_FILES, ids=FILE_IDS)
def test_a_read_file_is_valid_and_the_written_one_too(path):
    assert schema_errors(original(path), SCHEMA) == []
    assert schema_errors(dump_graph(read_graph(path)), SCHEMA) == []


@pytest.mark.parametrize("path", GRAPH_FILES, ids=FILE_IDS)
def test_nodes_edges_and_metadata_are_what_the_file_says(path):
    raw = original(path)
    g = read_graph(path)
    md = raw["metadata"]
    assert g.meta.id == md["slug"]
    assert g.meta.prompt == md["prompt"] and g.meta.prompt_tokens == tuple(md["prompt_tokens"])
    assert g.meta.generation == md.get("generation_settings", {})
    assert g.meta.pruning == md.get("pruning_settings", {})
    assert g.meta.transcoder_set == (md["info"]["transcoder_set"] if "info" in md else md["scan"])
    assert g.meta.source["metadata"]["scan"] == md["scan"]

    ids = {r["node_id"]: store_id(r) for r in raw["nodes"]}
    assert [n.id for n in g.nodes] == list(ids.values())
    assert g.meta.source.get("node_ids", {}) == {i: f for f, i in ids.items() if i != f}
    for r, node in zip(raw["nodes"], g.nodes):
        kind = KIND[r["feature_type"]]
        assert (node.kind, node.position) == (kind, r["ctx_idx"])
        assert (node.file_feature, node.js_id) == (r["feature"], r["jsNodeId"])
        assert (node.activation, node.influence) == (r.get("activation"), r.get("influence"))
        assert node.label == (r["clerp"] if r["clerp"] else None)
        if kind == "token":
            assert node.layer is None
            assert node.text == md["prompt_tokens"][r["ctx_idx"]]
            assert f"E_{node.token_id}_{r['ctx_idx']}" == r["node_id"]
        else:
            assert node.layer == int(r["layer"])
        if kind == "latent":
            # gemma numbers a feature by Cantor pairing of layer and index, Anthropic by itself
            assert node.feature_index == r["feature"] or uncantor(r["feature"]) == (node.layer, node.feature_index)
            assert f"{node.layer}_{node.feature_index}_{node.position}" == r["node_id"]
        if kind == "logit":
            clerp = r["clerp"]
            assert node.text == clerp[clerp.index('"') + 1 : clerp.rindex('"')]
            assert (node.token_id, node.probability, node.is_target) == (
                r["feature"],
                r["token_prob"],
                r["is_target_logit"],
            )
        else:
            assert node.probability is None and not node.is_target
    assert list(g.edges()) == [(ids[link["source"]], ids[link["target"]], link["weight"]) for link in raw["links"]]


@pytest.mark.parametrize("path", GRAPH_FILES, ids=FILE_IDS)
def test_only_haikus_reverse_ctx_idx_needs_keeping_per_node(path):
    """Every other node field comes back from the Node's columns."""
    kept = read_graph(path).meta.source.get("node_extras", {})
    assert {key for extra in kept.values() for key in extra} <= {"reverse_ctx_idx"}
    expected = {store_id(r) for r in original(path)["nodes"] if r["reverse_ctx_idx"] != 0}
    assert set(kept) == expected


@pytest.mark.parametrize("path", GEMMA, ids=[f"{p.parent.name}/{p.stem}" for p in GEMMA])
def test_a_graph_without_file_numbering_is_written_as_circuit_tracer_would(path):
    """Drop what came from the file (feature numbers, jsNodeIds, logit clerps, extras, file ids):
    the writer derives the same values circuit-tracer wrote, but for error ids, which it writes
    as `<layer>_-1_<position>` (circuit-tracer's `0_<layer>_<position>` can be a latent's)."""
    raw = original(path)
    g = read_graph(path)
    bare = [replace(n, file_feature=None, js_id=None, label=None if n.kind == "logit" else n.label) for n in g.nodes]
    computed = AttributionGraph(replace(g.meta, source={}), bare, g.sources, g.targets, g.weights)
    out = dump_graph(computed)
    assert schema_errors(out, SCHEMA) == []
    ids = {r["node_id"]: store_id(r) for r in raw["nodes"]}
    assert out["nodes"] == [{**r, "node_id": ids[r["node_id"]]} for r in raw["nodes"]]
    assert out["links"] == [{**k, "source": ids[k["source"]], "target": ids[k["target"]]} for k in raw["links"]]
    assert {k: out["metadata"][k] for k in ("transcoder_list", "schema_version")} == {
        "transcoder_list": [],
        "schema_version": 1,
    }
    assert out["metadata"]["info"]["transcoder_set"] == raw["metadata"]["info"]["transcoder_set"]
    back = parse_graph(out, origin="computed")
    assert [replace(n, file_feature=None, js_id=None) for n in back.nodes] == [
        replace(n, file_feature=None, js_id=None) for n in g.nodes
    ]


def test_haiku_graphs_name_the_model_and_resolve_jsnodeid_supernodes():
    for path in HAIKU:
        raw = original(path)
        g = read_graph(path)
        assert g.meta.model == "claude-3.5-haiku"
        assert g.meta.transcoder_set == raw["metadata"]["scan"]
        assert all(n.influence is None and n.activation is None for n in g.nodes)
        node_of_js = {r["jsNodeId"]: store_id(r) for r in raw["nodes"]}
        expected = [(name, tuple(node_of_js[m] for m in members)) for name, *members in raw["qParams"]["supernodes"]]
        assert [(sn.name, sn.members) for sn in g.supernodes] == expected
        assert expected and all(members for _, members in expected)


def test_a_jsnodeid_shared_by_several_nodes_groups_them_all(tmp_path):
    path = GEMMA[0]
    raw = original(path)
    by_js: dict[str, list[str]] = {}
    for r in raw["nodes"]:
        by_js.setdefault(r["jsNodeId"], []).append(store_id(r))
    shared = next(js for js, nodes in by_js.items() if len(nodes) > 1)
    single = next(js for js, nodes in by_js.items() if len(nodes) == 1)
    raw["qParams"]["supernodes"] = [["family", shared, single], ["one", single]]
    f = tmp_path / "with-supernodes.json"
    f.write_text(json.dumps(raw))

    g = read_graph(f)
    assert g.supernodes == (
        Supernode("family", (*by_js[shared], *by_js[single])),
        Supernode("one", tuple(by_js[single])),
    )
    assert dump_graph(g)["qParams"]["supernodes"] == raw["qParams"]["supernodes"]


def test_kinds_come_from_feature_type_whatever_the_error_id_style():
    g = parse_graph(small_file(), origin="tiny.json")
    assert [(n.id, n.kind, n.layer) for n in g.nodes] == [
        ("E_2_0", "token", None),
        ("E_17_1", "token", None),
        ("0_3_1", "latent", 0),
        ("4_-1_1", "error", 4),
        ("1_-1_1", "error", 1),
        ("27_99_1", "logit", 27),
    ]
    assert (g.node("0_3_1").feature_index, g.node("E_17_1").token_id, g.node("E_17_1").text) == (3, 17, "Hé ↑")
    assert (g.node("27_99_1").text, g.node("27_99_1").token_id) == (" there", 99)
    assert g.supernodes == (Supernode("grp", ("0_3_1", "1_-1_1")),)
    assert dump_graph(g) == small_file()


def test_anthropic_logit_clerps_give_the_token_too():
    f = small_file()
    f["nodes"][-1]["clerp"] = 'output: "there" (p=0.750)'
    assert parse_graph(f, origin="x").node("27_99_1").text == "there"


def test_created_is_the_info_create_time_in_utc():
    g = parse_graph(small_file(), origin="x")
    expected = datetime.fromtimestamp(1760913342.206, UTC)
    assert abs((datetime.fromisoformat(g.meta.created) - expected).total_seconds()) < 1e-3


def test_info_written_as_a_python_repr_string_is_read_without_running_it(tmp_path):
    f = small_file()
    f["metadata"]["info"] = repr({"transcoder_set": "repr/clt", "creator_name": None, "ok": True})
    g = parse_graph(f, origin="x")
    assert g.meta.transcoder_set == "repr/clt"
    assert dump_graph(g)["metadata"]["info"] == f["metadata"]["info"]

    marker = tmp_path / "ran"
    f["metadata"]["info"] = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    # unreadable: refused rather than guessing another transcoder set (whose Features no sibling shares)
    with pytest.raises(FormatError, match="x: metadata.info is neither an object nor a readable"):
        parse_graph(f, origin="x")
    assert not marker.exists()


def test_without_slug_or_info_the_file_name_and_scan_stand_in(tmp_path):
    f = small_file()
    del f["metadata"]["slug"], f["metadata"]["info"]
    path = tmp_path / "my-graph.json"
    path.write_text(json.dumps(f))
    g = read_graph(path)
    assert (g.meta.id, g.meta.transcoder_set, g.meta.created) == ("my-graph", "gemma-2-2b", None)


def test_a_graph_from_compute_is_written_as_a_valid_file_and_read_back(tmp_path):
    meta = GraphMeta(
        id="computed",
        prompt="<bos>Hi",
        prompt_tokens=("<bos>", "Hi"),
        model="gemma-3-270m",
        transcoder_set="me/plt",
        created="2026-01-02T03:04:05.678+00:00",
        generation={"max_n_logits": 5},
        pruning={"node_threshold": 0.8, "edge_threshold": 0.9},
        scores={"replacement_score": 0.7},
    )
    nodes = [
        Node("E_17_1", "token", 1, token_id=17, text="Hi"),
        Node("2_40_1", "latent", 1, layer=2, feature_index=40, activation=3.0, influence=0.25),
        Node("3_-1_1", "error", 1, layer=3, influence=0.125),
        Node("L_5_1", "logit", 1, token_id=5, text=" there", probability=0.5, is_target=True),
    ]
    g = AttributionGraph.from_edge_ids(
        meta, nodes, [("E_17_1", "2_40_1", 1.0), ("2_40_1", "L_5_1", 0.5)], [Supernode("hi", ("E_17_1", "2_40_1"))]
    )
    path = tmp_path / "computed.json"
    write_graph(g, path)
    written = json.loads(path.read_text())
    assert schema_errors(written, SCHEMA) == []
    assert written["metadata"]["node_threshold"] == 0.8

    back = read_graph(path)
    assert back.meta.id == "computed"
    for name in ("prompt", "prompt_tokens", "model", "transcoder_set", "created", "generation", "pruning", "scores"):
        assert getattr(back.meta, name) == getattr(meta, name), name
    # the file adds Neuronpedia's own numbering, a logit clerp and a layer above the others
    assert [replace(n, file_feature=None, js_id=None) for n in back.nodes[:3]] == nodes[:3]
    logit = back.node("L_5_1")
    assert (logit.label, logit.layer) == ('Output " there" (p=0.500)', 4)
    assert replace(logit, label=None, layer=None, file_feature=None, js_id=None) == nodes[3]
    assert list(back.edges()) == list(g.edges()) and back.supernodes == g.supernodes


# Bad input: each case turns a good file's text into a bad one.
def text_of(f: dict) -> str:
    return json.dumps(f, ensure_ascii=False)  # raw non-ASCII, so byte and character offsets differ


def edit(change):
    def make() -> str:
        f = small_file()
        change(f)
        return text_of(f)

    return make


BAD = {
    "not json": (lambda: "hello, graph", "not valid JSON"),
    "empty file": (lambda: "", "empty"),
    "truncated": (lambda: text_of(small_file())[:300], "ends too early"),
    "truncated real file": (lambda: HAIKU[0].read_text()[:100_000], "ends too early"),
    "NaN weight": (lambda: text_of(small_file()).replace('"weight": 2.5', '"weight": NaN'), "NaN"),
    "not an object": (lambda: "[1, 2]", "expected a JSON object"),
    "no links": (edit(lambda f: f.pop("links")), "no 'links'"),
    "nodes not a list": (edit(lambda f: f.update(nodes={})), "'nodes' must be a list"),
    "node without ctx_idx": (edit(lambda f: f["nodes"][2].pop("ctx_idx")), r"nodes\[2\].*'ctx_idx'"),
    "latent layer E": (edit(lambda f: f["nodes"][2].update(layer="E")), "'0_3_1': layer"),
    "unknown feature_type": (edit(lambda f: f["nodes"][1].update(feature_type="neuron")), "'neuron'"),
    "string activation": (edit(lambda f: f["nodes"][2].update(activation="1.5")), "activation"),
    "link to a missing node": (edit(lambda f: f["links"][1].update(target="0_8_1")), "'0_8_1'"),
    "string weight": (edit(lambda f: f["links"][3].update(weight="1")), r"links\[3\].*weight"),
    "empty graph": (edit(lambda f: f.update(nodes=[], links=[], qParams={})), "no nodes"),
    "duplicate node id": (edit(lambda f: f["nodes"].append(f["nodes"][3])), "duplicate node id '0_4_1'"),
    "error id of a latent": (
        edit(lambda f: f["nodes"].append(raw_node("0_4_1", "cross layer transcoder", "0", 1, cantor(0, 4)))),
        "'0_4_1' names both a latent and an error node",
    ),
    "duplicate link": (edit(lambda f: f["links"].append(f["links"][0])), "duplicate edge"),
    "unknown supernode member": (edit(lambda f: f["qParams"]["supernodes"].append(["x", "0_9_9"])), "'0_9_9'"),
    "no prompt tokens": (edit(lambda f: f["metadata"].pop("prompt_tokens")), "'prompt_tokens'"),
    # a wrong type is refused, naming the field (numpy alone would store true as 1.0)
    "boolean weight": (
        edit(lambda f: f["links"][2].update(weight=True)),
        r"links\[2\] .*weight must be a number, got true",
    ),
    "string is_target_logit": (edit(lambda f: f["nodes"][5].update(is_target_logit="false")), "is_target_logit"),
    "numeric clerp": (edit(lambda f: f["nodes"][2].update(clerp=5)), "clerp must be a string, got 5"),
    "feature beyond 64 bits": (
        edit(lambda f: f["nodes"][2].update(feature=2**70)),
        "feature 1180591620717411303424 does not fit in 64 bits",
    ),
    "index beyond 64 bits": (
        edit(lambda f: f["nodes"][0].update(node_id=f"E_{2**70}_0")),
        "token_id 1180591620717411303424 does not fit in 64 bits",
    ),
    "token outside the prompt": (
        edit(lambda f: f["nodes"][1].update(ctx_idx=5)),
        "ctx_idx 5 is outside the prompt's 2 tokens",
    ),
    "pruning_settings a list": (
        edit(lambda f: f["metadata"].update(pruning_settings=[])),
        "pruning_settings must be an object, got",
    ),
    "string node_threshold": (
        edit(lambda f: f["metadata"].update(pruning_settings={"node_threshold": "0.8"})),
        "pruning node_threshold must be a finite number, got '0.8'",
    ),
    "boolean score": (
        edit(lambda f: f["metadata"].update(scores={"replacement_score": True})),
        "scores replacement_score must be a finite number",
    ),
    # metadata.info names the transcoder set: unreadable means refused, not guessed
    "unreadable info": (
        edit(lambda f: f["metadata"].update(info="{'transcoder_set': 'a/b'")),
        "metadata.info is neither an object nor a readable",
    ),
    "info a list": (edit(lambda f: f["metadata"].update(info=[1])), "metadata.info must be an object, got"),
    "numeric transcoder_set": (
        edit(lambda f: f["metadata"]["info"].update(transcoder_set=7)),
        "transcoder_set must be a non-empty string, got 7",
    ),
    "bad create_time_ms": (
        edit(lambda f: f["metadata"]["info"].update(create_time_ms="today")),
        'create_time_ms must be milliseconds since 1970, got "today"',
    ),
    # ids are printed and typed: no control characters, nothing that reads as a relative path
    "escape in slug": (
        edit(lambda f: f["metadata"].update(slug="a\x1b]0;owned\x07b")),
        r"graph id .* contains the control character '\\x1b'",
    ),
    "dot segments in slug": (
        edit(lambda f: f["metadata"].update(slug="a/b/../c")),
        "graph id 'a/b/../c' has an empty, '.' or '..' path segment",
    ),
    "NUL in node id": (
        edit(lambda f: f["nodes"][0].update(node_id="E_2_0\x00")),
        r"node id 'E_2_0\\x00' contains the control character",
    ),
    "spaces around a node id": (
        edit(lambda f: f["nodes"][0].update(node_id=" E_2_0")),
        "node id ' E_2_0' has leading or trailing whitespace",
    ),
    "duplicate supernode names": (
        edit(lambda f: f["qParams"]["supernodes"].append(["grp", "E_17_1"])),
        "two supernodes are named 'grp'",
    ),
    "latin-1 byte": (
        lambda: text_of(small_file()).encode().replace("Hé".encode(), b"H\xe9").decode("latin-1"),
        "byte 0xe9 at line 1 byte .* is not UTF-8",
    ),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_one_line_naming_file_and_problem(case, tmp_path):
    make, problem = BAD[case]
    path = tmp_path / "bad.json"
    path.write_bytes(make().encode("latin-1" if case == "latin-1 byte" else "utf-8"))
    with pytest.raises(FormatError, match=problem) as caught:
        read_graph(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and "\n" not in message


def test_a_missing_file_is_named():
    with pytest.raises(FormatError, match="nowhere.json: cannot read"):
        read_graph("nowhere.json")


def test_a_nan_weight_in_parsed_json_names_the_edge():
    f = small_file()
    f["links"][2]["weight"] = float("nan")
    with pytest.raises(FormatError, match="upload: .*'4_-1_1' -> '27_99_1' has non-finite weight"):
        parse_graph(f, origin="upload")


def test_format_errors_are_the_users_kind_of_error():
    assert issubclass(FormatError, CircuitstoreError)


def test_the_schema_check_itself_catches_a_bad_node():
    f = small_file()
    del f["nodes"][0]["jsNodeId"]
    f["links"][0]["weight"] = "heavy"
    assert schema_errors(f, SCHEMA) == ["$.nodes[0]: missing 'jsNodeId'", "$.links[0].weight: expected number, got str"]


def test_extra_settings_and_scores_are_kept_and_written_back():
    f = small_file()
    f["metadata"]["pruning_settings"] = {"node_threshold": 0.8, "edge_threshold": 0.98, "sparsity": 0.1}
    f["metadata"]["scores"] = {"replacement_score": 0.5, "max_nodes": 100, "note": "kept"}
    g = parse_graph(f, origin="x")
    assert g.meta.pruning == f["metadata"]["pruning_settings"] and g.meta.scores == f["metadata"]["scores"]
    assert dump_graph(g) == f


def test_null_settings_read_as_none_given():
    f = small_file()
    f["metadata"].update(generation_settings=None, pruning_settings=None, scores=None)
    g = parse_graph(f, origin="x")
    assert (g.meta.generation, g.meta.pruning, g.meta.scores) == ({}, {}, {})


def test_spaces_around_a_slug_are_dropped():
    f = small_file()
    f["metadata"]["slug"] = "  tiny\t"
    assert parse_graph(f, origin="x").meta.id == "tiny"
    f["metadata"]["slug"] = "   "
    assert parse_graph(f, origin="dir/ my-file .json").meta.id == "my-file"


def test_an_unreadable_logit_clerp_leaves_the_text_unknown():
    f = small_file()
    f["nodes"][-1]["clerp"] = "Austin, probably"
    logit = parse_graph(f, origin="x").node("27_99_1")
    assert (logit.text, logit.label, logit.token_id) == (None, "Austin, probably", 99)
