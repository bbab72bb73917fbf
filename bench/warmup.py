"""The first questions after a server start, cold (the baseline) and after the warm-up.

    .venv/bin/python -m bench.warmup HOME [--bolt-port 18616] [--http-port 18716]

(Run from the repository root, as a module, like every benchmark.)

Starts a scratch server in HOME (created if missing; the Dallas and Oakland graphs are stored
in it), then twice: restart, optionally run circuitstore.server.warmup's `warm` (timed), and
time the guide's `paths` block, as Browser sends it, for Dallas (the example), again, then for
Oakland (other strings). Stops the server at the end.
"""

from __future__ import annotations

import argparse
import time

from circuitstore.formats import read_graph
from circuitstore.queries import get_query
from circuitstore.schema import migrate
from circuitstore.server import LocalServer, connect
from circuitstore.server.browser import guide_text
from circuitstore.server.warmup import example_params, warm
from circuitstore.store import graph_exists, store_graph
from tests.data import GRAPHS_DIR

CLT = GRAPHS_DIR / "gemma-2-2b-clt"
OAKLAND = {"graph": "capital_oakland-20251026-163348", "source": " Oakland", "target": " Sacramento"}


def timed(driver, text, params) -> float:
    began = time.monotonic()
    with driver.session() as session:
        session.execute_read(lambda tx: tx.run(text, params).consume())
    return time.monotonic() - began


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("home")
    ap.add_argument("--bolt-port", type=int, default=18616)
    ap.add_argument("--http-port", type=int, default=18716)
    args = ap.parse_args()
    server = LocalServer(args.home)
    server.stop()
    server.start(bolt_port=args.bolt_port, http_port=args.http_port)
    with connect(server.bolt_uri, password=server.password()) as driver:
        migrate(driver)
        for name in ("dallas-austin", "oakland-sacramento"):
            graph = read_graph(CLT / f"{name}.json")
            if not graph_exists(driver, graph.meta.id):
                store_graph(driver, graph)
    rows = []
    try:
        for warmed in (False, True):
            server.stop()
            server.start()
            with connect(server.bolt_uri, password=server.password()) as driver:
                paths = get_query("paths")
                text, dallas = guide_text(paths), example_params(driver, paths)
                began = time.monotonic()
                if warmed:
                    warm(driver, log=lambda line: None)
                warm_s = time.monotonic() - began if warmed else 0.0
                first, second = timed(driver, text, dallas), timed(driver, text, dallas)
                oakland = timed(driver, text, {**dallas, **OAKLAND})
            rows.append(("warm-up" if warmed else "cold (baseline)", warm_s, first, second, oakland))
    finally:
        server.stop()
    print(f"{'start':<16} {'warm-up s':>10} {'Dallas #1 s':>12} {'Dallas #2 s':>12} {'Oakland #1 s':>13}")
    for name, warm_s, first, second, oakland in rows:
        print(f"{name:<16} {warm_s:>10.2f} {first:>12.2f} {second:>12.2f} {oakland:>13.2f}")


if __name__ == "__main__":
    main()
