"""Bulk import against the transactional path: the same corpus into two new stores, one run.

    .venv/bin/python -m bench.bulk --root DIR [--graphs-total 1000] [--ports 18617,18717] [--workers 2]

(Run from the repository root, as a module, like every benchmark.)

Every graph in ../shared/graphs is read once (not timed), then copied under ids "bench/<k>/<id>"
up to --graphs-total graphs (as bench/ingest.py scales them). Each path loads all of them into a
new server home under --root (deleted first: the bench owns it), on its own ports:
  * transactional: store_graph, --workers threads, into a started, migrated, empty store;
  * bulk:          store.bulk.bulk_import (what `circuitstore import --bulk` runs) into a started,
                   empty store, end to end: files written, server stopped, importer, server
                   started, schema created and its indexes online, Feature labels derived.
Rates are edges per wall-clock second. The machine's load average is printed before and after.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from circuitstore.formats import read_graph
from circuitstore.graph import AttributionGraph
from circuitstore.schema import migrate
from circuitstore.server import LocalServer, connect
from circuitstore.store import store_graph
from circuitstore.store.bulk import bulk_import
from tests.data import GRAPHS_DIR

GRAPHS = GRAPHS_DIR


def fresh(root: Path, name: str, bolt: int, http: int, heap: str) -> LocalServer:
    home = root / name
    server = LocalServer(home)
    server.stop()
    shutil.rmtree(home, ignore_errors=True)
    server.start(bolt_port=bolt, http_port=http, heap=heap)
    return server


def load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, required=True, help="folder for the bench's two server homes")
    ap.add_argument("--graphs", type=Path, default=GRAPHS, help="folder of graph JSON files")
    ap.add_argument("--graphs-total", type=int, default=1000, help="graphs in the corpus (copies of the real ones)")
    ap.add_argument("--ports", default="18617,18717", help="Bolt,HTTP ports of the first home (the second: +1)")
    ap.add_argument("--heap", default="2g", help="each server's heap")
    ap.add_argument("--workers", type=int, default=2, help="concurrent store_graph threads (one per core)")
    ap.add_argument("--skip-transactional", action="store_true", help="time the bulk path alone")
    args = ap.parse_args()
    bolt, http = map(int, args.ports.split(","))

    originals = [
        read_graph(p) for p in sorted(args.graphs.rglob("*.json")) if p.name != "neuronpedia-graph-schema.json"
    ]
    corpus: list[AttributionGraph] = [
        originals[k % len(originals)].renamed(f"bench/{k // len(originals)}/{originals[k % len(originals)].meta.id}")
        for k in range(args.graphs_total)
    ]
    nodes, edges = sum(g.n_nodes for g in corpus), sum(g.n_edges for g in corpus)
    print(f"corpus: {len(corpus)} graphs, {nodes:,} nodes, {edges:,} edges; load average {load()}")
    rows = []

    tx_rate = None
    if not args.skip_transactional:
        server = fresh(args.root, "transactional", bolt, http, args.heap)
        driver = connect(home=str(server.home))
        migrate(driver)
        start = time.perf_counter()
        with ThreadPoolExecutor(args.workers) as pool:
            list(pool.map(lambda g: store_graph(driver, g), corpus))
        seconds = time.perf_counter() - start
        driver.close()
        server.stop()
        tx_rate = edges / seconds
        rows.append((f"transactional ({args.workers} workers)", seconds, "1.0"))
        print(f"transactional done; load average {load()}")

    server = fresh(args.root, "bulk", bolt + 1, http + 1, args.heap)
    start = time.perf_counter()
    summary = bulk_import(server, corpus)
    seconds = time.perf_counter() - start
    server.stop()
    for phase, s in summary.seconds.items():
        rows.append((f"  bulk: {phase}", s, "-"))
    rows.append(("bulk, end to end", seconds, f"{edges / seconds / tx_rate:.1f}" if tx_rate else "-"))
    print(f"bulk done; load average {load()}")

    head = ("path", "graphs", "edges", "seconds", "edges/s", "x transactional")
    lines = [head, *[(p, str(len(corpus)), f"{edges:,}", f"{s:.1f}", f"{edges / s:,.0f}", x) for p, s, x in rows]]
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    for line in lines:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths))))


if __name__ == "__main__":
    main()
