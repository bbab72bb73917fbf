"""Query latency with 10, 100 and 1,000 graphs stored: median and p95 of each named query,
beside a plain-Python answer to the same question over the same graphs held in memory.

    .venv/bin/python -m bench.queries [--uri URI] [--sizes 10,100,1000] [--reps 30] [--budget 20]
                                      [--only paths,top-inputs] [--keep] [--bulk [FOLDER]] [--warm-up 2]

(Run from the repository root, as a module, like every benchmark.)

The real graphs in ../shared/graphs are stored again and again under ids "benchq/<k>/<id>" until
each size is reached; every query then asks about the first copies (the Dallas, Oakland and
Haiku graphs), so a latency that grows with the size means a lookup that is not index-backed.
Each query runs --reps times after --warm-up untimed runs (2), or fewer when it passes --budget seconds.
Times are wall-clock through run_query (parameter checks included), as a user sees them.
"plain" is what a script does with the graphs already parsed into AttributionGraphs (no
database, nothing derived ahead: numpy over each graph's edge arrays, the path search of
circuitstore.derived run per graph); it runs once per size at least, then as the budget allows,
and its answer is checked against the query's.
The bench deletes its own graphs before and after (--keep leaves them); it never touches other
graphs, but it shares the server with them, so run it on a quiet one. With --bulk it runs no
server of yours: each size gets a new local store in a temporary home (under FOLDER) on free
ports, loaded whole by `import --bulk` (10,000 graphs, some 46M edges, in minutes rather than
hours), with the page cache the server sizes from that store; the line after "stored" is the
import's own summary.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable

import numpy as np

from circuitstore.derived import logit_influence, logits, strongest_paths
from circuitstore.formats import read_graph
from circuitstore.graph import AttributionGraph
from circuitstore.neo4j_driver import neo4j
from circuitstore.queries import run_query
from circuitstore.schema import migrate
from circuitstore.server import LocalServer, connect
from circuitstore.store import delete_graph, list_graphs, store_graph
from circuitstore.store.bulk import bulk_import
from tests.clirun import free_port
from tests.data import GRAPHS_DIR

GRAPHS = GRAPHS_DIR
PREFIX = "benchq/"
DALLAS = "clt-hp-the-capital-of-201020250035-20251020-003525"
OAKLAND = "capital_oakland-20251026-163348"
HAIKU = "capital-state-dallas"


FEATURE = "mntss/clt-gemma-2-2b-2.5M/20/44686"


def cases(first: dict[str, str]) -> list[tuple[str, dict]]:
    """(query, params) asked at every size; `first` maps an original id to its first copy's id."""
    dallas, oakland, haiku = first[DALLAS], first[OAKLAND], first[HAIKU]
    return [
        ("paths", {"graph": dallas, "source": " Dallas", "target": " Austin", "k": 5}),
        ("top-inputs", {"graph": dallas, "node": "27_22605_7", "k": 10}),
        ("top-outputs", {"graph": dallas, "node": "E_26865_6", "k": 10}),
        ("logit-drivers", {"graph": dallas, "target": " Austin", "k": 10}),
        ("shared-features", {"graphs": [dallas, oakland], "k": 50}),
        ("diff", {"graphs": [dallas, oakland], "k": 10}),
        ("recurrence", {"target": " Austin", "paths": 5, "max_length": 4}),
        ("supernode-graph", {"graph": haiku}),
        ("feature", {"feature": FEATURE, "k": 5}),
        ("search", {"text": "capital", "k": 10}),
        ("neighbourhood", {"graph": dallas, "node": "27_22605_7", "depth": 2, "min_weight": 5.0}),
    ]


# ---- the plain-Python answers, over graphs in memory; each returns what its check compares --


def _logit(g: AttributionGraph, text: str) -> int:
    return next(i for i in logits(g) if g.nodes[i].text == text)


def plain_paths(graphs: dict[str, AttributionGraph], p: dict) -> list:
    g = graphs[p["graph"]]
    sources = [i for i, n in enumerate(g.nodes) if n.kind == "token" and n.text == p["source"]]
    found = strongest_paths(g, p["k"], 6, sources=sources)[_logit(g, p["target"])][: p["k"]]
    return [[g.nodes[i].id for i in path.nodes] for path in found]


def plain_top_inputs(graphs: dict[str, AttributionGraph], p: dict) -> list:
    g = graphs[p["graph"]]
    into = np.flatnonzero(g.targets == g.index_of(p["node"]))
    order = sorted(into.tolist(), key=lambda e: (-abs(g.weights[e]), g.nodes[g.sources[e]].id))[: p["k"]]
    return [g.nodes[g.sources[e]].id for e in order]


def plain_logit_drivers(graphs: dict[str, AttributionGraph], p: dict) -> list:
    g = graphs[p["graph"]]
    column = logits(g).index(_logit(g, p["target"]))
    influence = logit_influence(g)[:, column]
    latents = [i for i, n in enumerate(g.nodes) if n.kind == "latent" and influence[i] > 0]
    return [g.nodes[i].id for i in sorted(latents, key=lambda i: (-influence[i], g.nodes[i].id))[: p["k"]]]


def plain_recurrence(graphs: dict[str, AttributionGraph], p: dict) -> list:
    on_paths, graphs_of = Counter(), defaultdict(set)
    for g in graphs.values():
        ends = [i for i in logits(g) if g.nodes[i].text == p["target"]]
        if not ends:
            continue
        found = strongest_paths(g, p["paths"], p["max_length"])
        for t in ends:
            for path in [x for x in found[t] if x.length <= p["max_length"]][: p["paths"]]:
                for i in path.nodes:
                    n = g.nodes[i]
                    if n.kind == "latent":
                        f = f"{g.meta.transcoder_set}/{n.layer}/{n.feature_index}"
                        on_paths[f] += 1
                        graphs_of[f].add(g.meta.id)
    ranked = sorted(on_paths, key=lambda f: (-len(graphs_of[f]), -on_paths[f], f))[:20]
    return [(f, len(graphs_of[f]), on_paths[f]) for f in ranked]


def plain_feature(graphs: dict[str, AttributionGraph], p: dict) -> list:
    rows = []
    for g in graphs.values():
        for i, n in enumerate(g.nodes):
            if n.kind == "latent" and f"{g.meta.transcoder_set}/{n.layer}/{n.feature_index}" == p["feature"]:
                touching = np.flatnonzero((g.sources == i) | (g.targets == i))
                strongest = touching[np.argsort(-np.abs(g.weights[touching]), kind="stable")][: p["k"]]
                rows.append((g.meta.id, n.position, [float(g.weights[e]) for e in strongest]))
    return [(graph, position) for graph, position, _ in sorted(rows)][:100]


# What each plain answer is compared with: the same shape, read from the query's rows.
PLAIN: dict[str, tuple[Callable, Callable]] = {
    "paths": (plain_paths, lambda rows: [r["node_ids"] for r in rows]),
    "top-inputs": (plain_top_inputs, lambda rows: [r["node_id"] for r in rows]),
    "logit-drivers": (plain_logit_drivers, lambda rows: [r["node_id"] for r in rows]),
    "recurrence": (plain_recurrence, lambda rows: [(r["feature"], r["n_graphs"], r["n_paths"]) for r in rows]),
    "feature": (plain_feature, lambda rows: [(r["graph"], r["position"]) for r in rows]),
}


def measure(
    driver: neo4j.Driver, name: str, params: dict, reps: int, budget: float, warm_up: int
) -> tuple[list[float], list]:
    for _ in range(warm_up):
        rows = run_query(driver, name, **params)
    times: list[float] = []
    spent = time.perf_counter()
    while len(times) < reps and time.perf_counter() - spent < budget:
        start = time.perf_counter()
        run_query(driver, name, **params)
        times.append((time.perf_counter() - start) * 1000)
    return times, rows


def measure_plain(
    name: str, graphs: dict[str, AttributionGraph], params: dict, rows: list, reps: int, budget: float
) -> list[float]:
    plain, shape = PLAIN[name]
    times: list[float] = []
    spent = time.perf_counter()
    while not times or (len(times) < reps and time.perf_counter() - spent < budget):
        start = time.perf_counter()
        answer = plain(graphs, params)
        times.append((time.perf_counter() - start) * 1000)
    if answer != shape(rows):
        raise SystemExit(f"{name}: the plain answer differs from the query's: {answer[:3]} vs {shape(rows)[:3]}")
    return times


def p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def clean(driver: neo4j.Driver) -> None:
    for row in list_graphs(driver):
        if row["id"].startswith(PREFIX):
            delete_graph(driver, row["id"])


class TransactionalStore:
    """The server at --uri (or the local one): each size adds copies with store_graph."""

    def __init__(self, uri: str | None) -> None:
        self.driver = connect(uri)
        migrate(self.driver)
        clean(self.driver)

    def load(self, graphs: list[AttributionGraph]) -> None:
        for g in graphs:
            store_graph(self.driver, g)

    def close(self, keep: bool) -> None:
        if not keep:
            clean(self.driver)
        self.driver.close()


class BulkStore:
    """A new local store per size, in a temporary home on free ports, loaded whole with
    `import --bulk` (bulk_import): sizes beyond what the transactional path loads in reasonable
    time. Each home is removed when its size is measured (--keep keeps the last)."""

    def __init__(self, folder: str | None) -> None:
        self.folder, self.server, self.driver = folder, None, None
        self.stored: list[AttributionGraph] = []  # every size holds the smaller sizes' graphs

    def load(self, graphs: list[AttributionGraph]) -> None:
        self.close(keep=False)
        self.server = LocalServer(tempfile.mkdtemp(prefix="bench-queries-", dir=self.folder))
        self.server.start(bolt_port=free_port(), http_port=free_port())
        self.stored += graphs
        summary = bulk_import(self.server, self.stored)
        print(f"  {summary.line()}; page cache {self.server.status()['pagecache']}", flush=True)
        self.driver = connect(home=str(self.server.home))

    def close(self, keep: bool) -> None:
        if self.driver is not None:
            self.driver.close()
        if self.server is not None:
            self.server.stop()
            if keep:
                print(f"kept the store in {self.server.home}")
            else:
                shutil.rmtree(self.server.home)
        self.server = self.driver = None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--uri", help="Bolt URI (default: the local circuitstore server)")
    ap.add_argument("--sizes", default="10,100,1000", help="stored-graph counts to measure at")
    ap.add_argument("--reps", type=int, default=30, help="timed runs per query")
    ap.add_argument("--budget", type=float, default=20.0, help="seconds of timed runs per query at most")
    ap.add_argument("--only", help="comma-separated query names to measure (default: all)")
    ap.add_argument("--keep", action="store_true", help="leave the bench graphs stored")
    ap.add_argument(
        "--bulk",
        nargs="?",
        const=tempfile.gettempdir(),
        metavar="FOLDER",
        help="load each size into a new local store (under FOLDER, default the temporary folder) with "
        "import --bulk, instead of storing graph by graph into --uri's server",
    )
    ap.add_argument(
        "--warm-up",
        type=int,
        default=2,
        help="untimed runs of each query first (default 2; a new --bulk server's JVM wants more, e.g. 20)",
    )
    args = ap.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))

    files = sorted(p for p in GRAPHS.rglob("*.json") if p.name != "neuronpedia-graph-schema.json")
    originals = [read_graph(p) for p in files]
    # The graphs the cases ask about come first, so even the smallest size holds them.
    originals.sort(key=lambda g: (g.meta.id not in (DALLAS, OAKLAND, HAIKU), g.meta.id))
    store = BulkStore(args.bulk) if args.bulk else TransactionalStore(args.uri)
    first = {g.meta.id: f"{PREFIX}0/{g.meta.id}" for g in originals}

    results: dict[str, dict[int, tuple[list[float], int, list[float] | None]]] = {}
    stored: dict[str, AttributionGraph] = {}
    try:
        for size in sizes:
            start = time.perf_counter()
            copies = []
            for k in range(len(stored), size):
                g = originals[k % len(originals)]
                copies.append(g.renamed(f"{PREFIX}{k // len(originals)}/{g.meta.id}"))
            store.load(copies)
            stored.update((g.meta.id, g) for g in copies)
            took = time.perf_counter() - start
            edges = sum(g.n_edges for g in (stored.values() if args.bulk else copies))
            print(f"stored {size} graphs ({took:.0f} s, {edges / max(took, 1e-9):,.0f} edges/s)", flush=True)
            for name, params in cases(first):
                if args.only and name not in args.only.split(","):
                    continue
                times, rows = measure(store.driver, name, params, args.reps, args.budget, args.warm_up)
                plain = measure_plain(name, stored, params, rows, args.reps, args.budget) if name in PLAIN else None
                results.setdefault(name, {})[size] = (times, len(rows), plain)
    finally:
        store.close(args.keep)

    head = ["query", "rows"] + [f"{s} graphs: median / p95 ms (plain)" for s in sizes]
    lines = [head]
    for name, by_size in results.items():
        cells = []
        for t, _, plain in (by_size[s] for s in sizes):
            cells.append(
                f"{statistics.median(t):.1f} / {p95(t):.1f}" + (f" ({statistics.median(plain):.1f})" if plain else "")
            )
        lines.append([name, str(by_size[sizes[0]][1]), *cells])
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    for line in lines:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths))))


if __name__ == "__main__":
    main()
