"""Query latency with 10, 100 and 1,000 graphs stored: median and p95 of each named query.

    .venv/bin/python -m bench.queries [--uri URI] [--sizes 10,100,1000] [--reps 30] [--budget 20]
                                      [--only paths,top-inputs] [--keep]

(Run from the repository root, as a module, like every benchmark.)

The real graphs in ../shared/graphs are stored again and again under ids "benchq/<k>/<id>" until
each size is reached; every query then asks about the first copies (the Dallas, Oakland and
Haiku graphs), so a latency that grows with the size means a lookup that is not index-backed.
Each query runs --reps times after two warm-up runs, or fewer when it passes --budget seconds.
Times are wall-clock through run_query (parameter checks included), as a user sees them.
The bench deletes its own graphs before and after (--keep leaves them); it never touches other
graphs, but it shares the server with them, so run it on a quiet one.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from circuitstore.formats import read_graph
from circuitstore.neo4j_driver import neo4j
from circuitstore.queries import run_query
from circuitstore.schema import migrate
from circuitstore.server import connect
from circuitstore.store import delete_graph, list_graphs, store_graph

GRAPHS = Path(__file__).resolve().parents[1] / ".." / "shared" / "graphs"
PREFIX = "benchq/"
DALLAS = "clt-hp-the-capital-of-201020250035-20251020-003525"
OAKLAND = "capital_oakland-20251026-163348"
HAIKU = "capital-state-dallas"


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
        ("recurrence", {"target": " Austin", "prompt": "test 10 ", "paths": 5, "max_length": 4}),
        ("supernode-graph", {"graph": haiku}),
        ("feature", {"feature": "mntss/clt-gemma-2-2b-2.5M/20/44686", "k": 5}),
        ("search", {"text": "capital", "k": 10}),
        ("neighbourhood", {"graph": dallas, "node": "27_22605_7", "depth": 2, "min_weight": 5.0}),
    ]


def measure(driver: neo4j.Driver, name: str, params: dict, reps: int, budget: float) -> tuple[list[float], int]:
    for _ in range(2):
        rows = run_query(driver, name, **params)
    times: list[float] = []
    spent = time.perf_counter()
    while len(times) < reps and time.perf_counter() - spent < budget:
        start = time.perf_counter()
        run_query(driver, name, **params)
        times.append((time.perf_counter() - start) * 1000)
    return times, len(rows)


def p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def clean(driver: neo4j.Driver) -> None:
    for row in list_graphs(driver):
        if row["id"].startswith(PREFIX):
            delete_graph(driver, row["id"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--uri", help="Bolt URI (default: the local circuitstore server)")
    ap.add_argument("--sizes", default="10,100,1000", help="stored-graph counts to measure at")
    ap.add_argument("--reps", type=int, default=30, help="timed runs per query")
    ap.add_argument("--budget", type=float, default=20.0, help="seconds of timed runs per query at most")
    ap.add_argument("--only", help="comma-separated query names to measure (default: all)")
    ap.add_argument("--keep", action="store_true", help="leave the bench graphs stored")
    args = ap.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))

    files = sorted(p for p in GRAPHS.rglob("*.json") if p.name != "neuronpedia-graph-schema.json")
    originals = [read_graph(p) for p in files]
    # The graphs the cases ask about come first, so even the smallest size holds them.
    originals.sort(key=lambda g: (g.meta.id not in (DALLAS, OAKLAND, HAIKU), g.meta.id))
    driver = connect(args.uri)
    migrate(driver)
    clean(driver)
    first = {g.meta.id: f"{PREFIX}0/{g.meta.id}" for g in originals}

    results: dict[str, dict[int, tuple[list[float], int]]] = {}
    stored = 0
    try:
        for size in sizes:
            start = time.perf_counter()
            while stored < size:
                g = originals[stored % len(originals)]
                store_graph(driver, g.renamed(f"{PREFIX}{stored // len(originals)}/{g.meta.id}"))
                stored += 1
            print(f"stored {size} graphs ({time.perf_counter() - start:.0f} s)", flush=True)
            for name, params in cases(first):
                if args.only and name not in args.only.split(","):
                    continue
                results.setdefault(name, {})[size] = measure(driver, name, params, args.reps, args.budget)
    finally:
        if not args.keep:
            clean(driver)
        driver.close()

    head = ["query", "rows"] + [f"{s} graphs: median / p95 ms" for s in sizes]
    lines = [head]
    for name, by_size in results.items():
        cells = [f"{statistics.median(t):.1f} / {p95(t):.1f}" for t, _ in (by_size[s] for s in sizes)]
        lines.append([name, str(by_size[sizes[0]][1]), *cells])
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    for line in lines:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths))))


if __name__ == "__main__":
    main()
