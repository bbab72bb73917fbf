"""Ingest throughput: store_graph on the real graphs and on a scaled set, against a naive baseline.

    .venv/bin/python -m bench.ingest [--uri URI] [--scaled 1000] [--naive-edges 3000] [--workers 2]

(Run from the repository root, as a module, like every benchmark.)

Every graph in ../shared/graphs is read once (not timed with the writes), then stored
  * real:   each graph once, under "bench/0/<id>";
  * scaled: --scaled graphs in all, the same graphs again under ids "bench/<k>/<id>";
  * naive:  a sample of whole graphs (at least --naive-edges edges) written the textbook way, one
            MERGE statement per node and per edge (one transaction per graph, so the same atomicity).
Rates are edges per wall-clock second of the whole store (nodes, shared Features, edges, commit).
The bench deletes its own graphs ("bench/..." and "bench-naive/...") before and after (the last
row times that, with delete_graph); it never touches other graphs, but shares the server with
them, so run it on a quiet one.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from circuitstore.formats import read_graph
from circuitstore.graph import AttributionGraph
from circuitstore.neo4j_driver import neo4j
from circuitstore.schema import migrate
from circuitstore.server import connect
from circuitstore.store import delete_graph, list_graphs, store_graph
from circuitstore.store.params import GraphParams
from tests.data import GRAPHS_DIR

GRAPHS = GRAPHS_DIR

# The baseline a first attempt would write: one statement per node and per edge, MERGE throughout.
NAIVE_NODE = """
MERGE (n:Node {graph_id: $graph_id, node_id: $node_id})
SET n += $props
"""
NAIVE_EDGE = """
MATCH (a:Node {graph_id: $graph_id, node_id: $source})
MATCH (b:Node {graph_id: $graph_id, node_id: $target})
MERGE (a)-[r:ATTRIBUTION]->(b)
SET r.weight = $weight, r.share = $share
"""
NAIVE_GRAPH = "MERGE (g:Graph {id: $graph_id}) SET g += $props"


def naive_store(driver: neo4j.Driver, graph: AttributionGraph) -> None:
    params = GraphParams.of(graph)
    gid = graph.meta.id

    def work(tx: neo4j.ManagedTransaction) -> None:
        tx.run(NAIVE_GRAPH, graph_id=gid, props=params.graph).consume()
        for node in params.nodes:
            props = {**node["props"], "graph_id": gid}
            tx.run(NAIVE_NODE, graph_id=gid, node_id=props["node_id"], props=props).consume()
        for (s, t, w), share in zip(graph.edges(), params.shares):
            tx.run(NAIVE_EDGE, graph_id=gid, source=s, target=t, weight=w, share=share).consume()

    with driver.session() as session:
        session.execute_write(work)


def naive_delete(driver: neo4j.Driver, graph_id: str) -> None:
    driver.execute_query("MATCH (n:Node {graph_id: $g}) DETACH DELETE n", g=graph_id)
    driver.execute_query("MATCH (g:Graph {id: $g}) DETACH DELETE g", g=graph_id)


def timed(store: Callable[[AttributionGraph], object], graphs: list[AttributionGraph], workers: int) -> float:
    start = time.perf_counter()
    if workers == 1:
        for g in graphs:
            store(g)
    else:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(store, graphs))
    return time.perf_counter() - start


def clean(driver: neo4j.Driver) -> None:
    for row in list_graphs(driver):
        if row["id"].startswith("bench/"):
            delete_graph(driver, row["id"])
        elif row["id"].startswith("bench-naive/"):
            naive_delete(driver, row["id"])


def table(rows: Iterable[tuple]) -> None:
    head = ("phase", "graphs", "nodes", "edges", "seconds", "edges/s", "x naive")
    lines = [head, *[(p, str(g), str(n), str(e), f"{s:.2f}", f"{e / s:,.0f}", x) for p, g, n, e, s, x in rows]]
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    for line in lines:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths))))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--uri", help="Bolt URI (default: the local circuitstore server)")
    ap.add_argument("--graphs", type=Path, default=GRAPHS, help="folder of graph JSON files")
    ap.add_argument("--scaled", type=int, default=1000, help="graphs in the scaled set (0 skips it)")
    ap.add_argument("--naive-edges", type=int, default=3000, help="edges in the naive baseline's sample")
    ap.add_argument("--workers", type=int, default=2, help="concurrent store_graph threads (one per core)")
    args = ap.parse_args()

    start = time.perf_counter()
    originals = [
        read_graph(p) for p in sorted(args.graphs.rglob("*.json")) if p.name != "neuronpedia-graph-schema.json"
    ]
    print(f"read {len(originals)} graphs in {time.perf_counter() - start:.1f} s")
    driver = connect(args.uri)
    migrate(driver)
    clean(driver)

    def size(graphs: list[AttributionGraph]) -> tuple[int, int, int]:
        return len(graphs), sum(g.n_nodes for g in graphs), sum(g.n_edges for g in graphs)

    sample: list[AttributionGraph] = []
    for g in sorted(originals, key=lambda g: g.n_edges):
        if sum(s.n_edges for s in sample) >= args.naive_edges:
            break
        sample.append(g.renamed(f"bench-naive/{g.meta.id}"))
    naive_s = timed(lambda g: naive_store(driver, g), sample, 1)
    naive_rate = size(sample)[2] / naive_s
    for g in sample:
        naive_delete(driver, g.meta.id)
    results = [("naive (MERGE per row)", *size(sample), naive_s, "1.0")]

    def run(phase: str, graphs: list[AttributionGraph]) -> None:
        seconds = timed(lambda g: store_graph(driver, g), graphs, args.workers)
        n, nodes, edges = size(graphs)
        results.append((phase, n, nodes, edges, seconds, f"{edges / seconds / naive_rate:.0f}"))

    workers = f"{args.workers} worker{'s' * (args.workers > 1)}"
    run(f"real ({workers})", [g.renamed(f"bench/0/{g.meta.id}") for g in originals])
    if args.scaled:
        copies = [(1 + k // len(originals), originals[k % len(originals)]) for k in range(args.scaled)]
        run(f"scaled ({workers})", [g.renamed(f"bench/{n}/{g.meta.id}") for n, g in copies])

    stored = results[1:]
    start = time.perf_counter()
    clean(driver)
    seconds = time.perf_counter() - start
    driver.close()
    results.append(
        (
            "delete_graph, all of the above",
            sum(r[1] for r in stored),
            sum(r[2] for r in stored),
            sum(r[3] for r in stored),
            seconds,
            "-",
        )
    )
    table(results)


if __name__ == "__main__":
    main()
