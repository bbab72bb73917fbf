"""`circuitstore import --bulk`: a store loaded by Neo4j's offline importer holds what the
transactional import leaves, node for node and property for property, and answers every query
of the library alike; a store with data is refused and a failed import leaves the store empty.

The bulk store is a server home of its own (.state/test-bulk-neo4j, on the test ports + 1),
since the import stops and starts its server. The transactional store is a fresh one too
(.state/test-bulk-tx-neo4j, on the test ports + 2), not the test server: the full-text scores
`search` returns count the documents a long-used index has deleted, which a new one has not.
"""

from __future__ import annotations

import itertools
import json
import shutil
from collections import Counter

import pytest

from circuitstore.errors import CircuitstoreError
from circuitstore.formats import read_graph, write_graph
from circuitstore.graph import AttributionGraph, GraphMeta, Node, Supernode
from circuitstore.queries import list_queries, run_query
from circuitstore.schema import migrate
from circuitstore.server import LocalServer, connect
from circuitstore.store import store_graph
from circuitstore.store.bulk import bulk_import
from circuitstore.store.importer import expand_paths, import_files
from tests.clirun import assert_one_line_error, cli
from tests.conftest import REPO, TEST_BOLT_PORT, TEST_HTTP_PORT
from tests.data import GRAPH_FILES, GRAPHS_DIR

pytestmark = pytest.mark.slow

DALLAS = "clt-hp-the-capital-of-201020250035-20251020-003525"


def _server(name: str, offset: int):
    server = LocalServer(REPO / ".state" / name)
    server.start(bolt_port=TEST_BOLT_PORT + offset, http_port=TEST_HTTP_PORT + offset, heap="1g", restart=True)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def bulk_server():
    yield from _server("test-bulk-neo4j", 1)


@pytest.fixture(scope="module")
def tx_server():
    yield from _server("test-bulk-tx-neo4j", 2)


def emptied(server: LocalServer) -> LocalServer:
    """The bulk server on an empty store: its database's folders removed while it is stopped."""
    server.stop()
    for sub in ("data/databases/neo4j", "data/transactions/neo4j"):
        shutil.rmtree(server.home / sub, ignore_errors=True)
    server.start()
    return server


def edge_case_graph() -> AttributionGraph:
    """Values a CSV field holds with care: line breaks, quotes, commas, an empty and a U+001F
    prompt token, an int where other nodes have floats, a logit reached from a token alone (its
    paths hold no Feature: an empty list), an int threshold, a supernode."""
    tokens = ("<bos>", 'say "hi",\nthen', "", "a\x1fb", " Dallas\\")
    meta = GraphMeta(
        "edge/cases: \"quoted\", 'odd'",
        'a "prompt",\nwith a line break',
        tokens,
        "hand-model",
        "hand/ts",
        generation={"note": "x;y"},
        pruning={"node_threshold": 1, "edge_threshold": 0.25},
    )
    nodes = [
        Node("E_5_1", "token", 1, token_id=5, text=tokens[1], activation=3),
        Node("E_6_4", "token", 4, token_id=6, text=tokens[4], activation=0.5),
        Node("0_7_1", "latent", 1, layer=0, feature_index=7, activation=2.5, label='a, "label"\nsplit'),
        Node("0_8_4", "latent", 4, layer=0, feature_index=8, influence=0.1),
        Node("0_-1_4", "error", 4, layer=0),
        Node("2_9_4", "logit", 4, layer=2, token_id=9, text=" Austin", probability=0.75, is_target=True),
        Node("2_10_4", "logit", 4, layer=2, token_id=10, text=None, probability=0.25, label="clerp; no text"),
    ]
    edges = [
        ("E_5_1", "0_7_1", 1.5),
        ("0_7_1", "0_8_4", 0.1 + 0.2),
        ("E_6_4", "0_8_4", -2.0),
        ("0_8_4", "2_9_4", 1e-300),
        ("0_-1_4", "2_9_4", 0.5),
        ("E_6_4", "2_10_4", 3.0),
    ]
    return AttributionGraph.from_edge_ids(meta, nodes, edges, [Supernode('say; "it"', ("0_7_1", "0_8_4"))])


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> list[str]:
    """The real graphs, a copy of two of them under other ids, and the edge-case graph, as files."""
    folder = tmp_path_factory.mktemp("bulk-corpus")
    for path in GRAPH_FILES[:2]:
        graph = read_graph(path)
        write_graph(graph.renamed(f"copy/{graph.meta.id}"), folder / f"copy-{path.name}")
    write_graph(edge_case_graph(), folder / "edge-cases.json")
    return [str(GRAPHS_DIR), str(folder)]


@pytest.fixture(scope="module")
def both(tx_server, bulk_server, corpus):
    """(transactional driver, bulk driver) over the same corpus, each in a new store; the bulk
    store loaded by the CLI."""
    tx = connect(home=str(emptied(tx_server).home))
    migrate(tx)
    found, missing = expand_paths(corpus)
    assert not missing
    summary = import_files(tx, found)
    assert not summary.failed, summary.failed
    emptied(bulk_server)
    proc = cli("--home", str(bulk_server.home), "import", "--bulk", *corpus, timeout=900)
    assert proc.returncode == 0, proc.stderr
    assert "bulk-imported" in proc.stdout
    assert "importer" in proc.stderr and "indexes online" in proc.stderr  # progress
    driver = connect(home=str(bulk_server.home))
    yield tx, driver
    driver.close()
    tx.close()


# What identifies each kind of node in either store (internal ids differ between them).
_KEY = "CASE WHEN n:Node THEN [n.graph_id, n.node_id] WHEN n:Supernode THEN [n.graph_id, n.name] ELSE [n.id] END"
_DUMP_NODES = f"MATCH (n) RETURN labels(n) AS labels, {_KEY} AS key, properties(n) AS props"
_DUMP_RELS = (
    f"MATCH (n)-[r]->(m) WITH n, r, m, {_KEY} AS a "
    f"WITH r, a, m, {_KEY.replace('n.', 'm.').replace('n:', 'm:')} AS b "
    "RETURN type(r) AS type, a, b, properties(r) AS props"
)


def dump(driver) -> Counter:
    """Every node and relationship with its labels or type, key, and properties (values with
    their Python types), as a multiset; the schema version's time of application left out."""
    out: Counter = Counter()
    for r in driver.execute_query(_DUMP_NODES).records:
        props = dict(r["props"])
        if "SchemaVersion" in r["labels"]:
            props.pop("applied"), props.pop("test_store", None)
        out[("node", tuple(sorted(r["labels"])), tuple(r["key"]), _typed(props))] += 1
    for r in driver.execute_query(_DUMP_RELS).records:
        out[("rel", r["type"], tuple(r["a"]), tuple(r["b"]), _typed(r["props"]))] += 1
    return out


def _typed(props: dict) -> tuple:
    return tuple(sorted((k, repr(v), type(v).__name__) for k, v in props.items()))


def test_bulk_store_holds_what_the_transactional_store_holds(both):
    tx, bulk = both
    a, b = dump(tx), dump(bulk)
    assert sum(a.values()) > 100_000
    assert a - b == Counter() and b - a == Counter(), (list((a - b).items())[:3], list((b - a).items())[:3])


def test_bulk_store_has_the_same_schema(both):
    tx, bulk = both

    def schema(driver):
        indexes = driver.execute_query("SHOW INDEXES YIELD name, type, labelsOrTypes, properties, state").records
        constraints = driver.execute_query("SHOW CONSTRAINTS YIELD name, type, labelsOrTypes, properties").records
        return sorted(map(repr, (r.data() for r in indexes))), sorted(map(repr, (r.data() for r in constraints)))

    assert schema(tx) == schema(bulk)
    assert all("'ONLINE'" in line for line in schema(bulk)[0])


def _params(corpus_graphs: list[AttributionGraph]) -> dict[str, list[dict]]:
    """For every query of the library, parameters picked from the graphs."""
    by_id = {g.meta.id: g for g in corpus_graphs}
    picked = [by_id[DALLAS], by_id["capital-state-dallas"], by_id[edge_case_graph().meta.id]]
    graph_ids = [g.meta.id for g in picked]
    nodes = {}
    features = []
    for g in picked:
        indegree = Counter(g.targets.tolist())
        outdegree = Counter(g.sources.tolist())
        best_in = max(indegree, key=lambda i: (indegree[i], g.nodes[i].id))
        best_out = max(outdegree, key=lambda i: (outdegree[i], g.nodes[i].id))
        nodes[g.meta.id] = [g.nodes[best_in].id, g.nodes[best_out].id]
        latent = next(n for n in g.nodes if n.kind == "latent")
        features.append(f"{g.meta.transcoder_set}/{latent.layer}/{latent.feature_index}")
    shared = Counter(
        f"{g.meta.transcoder_set}/{n.layer}/{n.feature_index}"
        for g in corpus_graphs
        for n in g.nodes
        if n.kind == "latent"
    ).most_common(1)[0][0]
    features.append(shared)
    values = {
        "graph": graph_ids,
        "feature": features,
        "target": [None, " Austin", " small"],
        "source": [None, " Dallas"],
        "text": ["capital", "Texas small", "say"],
        "graphs": [
            [DALLAS, "capital_oakland-20251026-163348"],
            ["capital-state-dallas", "opposite_of_small"],
            ["capital-state-dallas", "copy/capital-state-dallas"],
        ],
        "methods": [None, ["imported"]],
        "prompt": [None, "Dallas"],
    }
    out = {}
    for query in list_queries():
        names = [p.name for p in query.params if p.name in values or p.required]
        options = []
        for name in names:
            if name == "node":
                continue
            options.append([(name, v) for v in values[name]])
        combos = []
        for combo in itertools.product(*options):
            params = dict(combo)
            if "node" in names:
                for node in nodes[params["graph"]]:
                    combos.append({**params, "node": node})
            else:
                combos.append(params)
        if query.name in ("recurrence",):
            combos = [c for c in combos if c["target"] is not None]
        out[query.name] = combos[:24]
    return out


def _answer(driver, name: str, params: dict):
    try:
        return ("rows", _unordered(run_query(driver, name, **params)))
    except CircuitstoreError as exc:
        return ("error", str(exc))


def _unordered(rows: list[dict]) -> list[dict]:
    """Rows as they come (queries order them), but a list of maps inside a row (a neighbourhood's
    nodes, a subgraph's edges), which Cypher collects in the store's own order, sorted."""

    def inner(value):
        if isinstance(value, dict):
            return {k: inner(v) for k, v in value.items()}
        if isinstance(value, list):
            items = [inner(v) for v in value]
            return sorted(items, key=repr) if items and all(isinstance(v, dict) for v in items) else items
        return value

    return [inner(row) for row in rows]


def test_bulk_store_answers_every_query_alike(both, corpus):
    tx, bulk = both
    found, _ = expand_paths(corpus)
    graphs = []
    for f in found:
        try:
            graphs.append(read_graph(f.path))
        except CircuitstoreError:
            pass  # the schema file
    asked = answered = 0
    for name, combos in _params(graphs).items():
        assert combos, name
        for params in combos:
            a, b = _answer(tx, name, params), _answer(bulk, name, params)
            assert a == b, (name, params, str(a)[:300], str(b)[:300])
            asked += 1
            answered += a[0] == "rows" and bool(a[1])
    assert answered > asked // 2, (answered, asked)


def test_bulk_refuses_a_store_with_data(bulk_server):
    server = emptied(bulk_server)
    driver = connect(home=str(server.home))
    try:
        migrate(driver)
        store_graph(driver, read_graph(GRAPH_FILES[0]))
        before = driver.execute_query("MATCH (n) RETURN count(n) AS n").records[0]["n"]
    finally:
        driver.close()
    proc = cli("--home", str(server.home), "import", "--bulk", str(GRAPH_FILES[1]))
    assert_one_line_error(proc, "empty store", "circuitstore import", "without --bulk")
    driver = connect(home=str(server.home))
    try:
        assert driver.execute_query("MATCH (n) RETURN count(n) AS n").records[0]["n"] == before
    finally:
        driver.close()


def test_bulk_refuses_a_bad_file_before_touching_the_store(bulk_server, tmp_path):
    server = emptied(bulk_server)
    bad = tmp_path / "bad.json"
    raw = json.loads(GRAPH_FILES[0].read_text())
    raw["links"][0]["weight"] = "heavy"
    bad.write_text(json.dumps(raw))
    pid = server.pid()
    proc = cli("--home", str(server.home), "import", "--bulk", str(GRAPH_FILES[1]), str(bad))
    assert_one_line_error(proc, str(bad), "weight", "nothing was imported")
    assert server.pid() == pid  # never stopped


def test_bulk_refuses_another_server(tmp_path):
    proc = cli("--uri", "bolt://127.0.0.1:1", "import", "--bulk", str(GRAPH_FILES[0]))
    assert_one_line_error(proc, "--bulk", "local server")


def test_failed_import_leaves_the_store_empty(bulk_server):
    """The importer itself fails (something else put a database where it writes, just before it
    runs): the error says why, and the store is the empty one it was, its server running."""
    server = emptied(bulk_server)
    planted = []

    def progress(line: str) -> None:
        if line.startswith("running Neo4j's offline importer"):
            folder = server.home / "data" / "databases" / "neo4j"
            folder.mkdir()
            (folder / "neostore").write_bytes(b"not a store")
            planted.append(folder)

    graphs = [read_graph(p) for p in GRAPH_FILES[:3]]
    with pytest.raises(CircuitstoreError, match="importer failed") as failure:
        bulk_import(server, graphs, on_progress=progress)
    assert planted and len(str(failure.value).splitlines()) == 1
    assert "metadata store" in str(failure.value)  # why, in Neo4j's words
    assert server.pid() is not None
    driver = connect(home=str(server.home))
    try:
        assert driver.execute_query("MATCH (n) RETURN count(n) AS n").records[0]["n"] == 0
        # and it takes a bulk import afterwards
    finally:
        driver.close()
    summary = bulk_import(server, graphs)
    assert summary.graphs == 3 and summary.edges == sum(g.n_edges for g in graphs)
