"""Bulk import (`circuitstore import --bulk`): many graphs into a new, empty local store through
Neo4j's offline importer, several times faster than one transaction per graph.

In order: the store is checked empty (the server is started if it was not); every file is read,
validated and written into importer files (store/bulk_files.py) while the server still runs, so
a bad input changes nothing; the server is stopped, the empty database set aside, the importer
run; the server started, the schema created (schema.create_schema, indexes awaited), the values
the files cannot hold set, and the Feature labels derived by the store's own rule
(labels.relabel_all). The result is the store `circuitstore import` would leave. If anything
after the stop fails, the importer's database is dropped and the empty one put back: nothing is
half-written.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from circuitstore.derived import STORED_PATHS
from circuitstore.errors import CircuitstoreError
from circuitstore.graph import AttributionGraph
from circuitstore.server import LocalServer, connect
from circuitstore.store.bulk_files import BulkFiles, Staged, stage
from circuitstore.store.cypher import cypher
from circuitstore.store.importer import NOT_A_GRAPH, Found, problem_line
from circuitstore.store.labels import relabel_all
from circuitstore.store.params import GraphColumns

# Fix-up rows per transaction.
_FIXUP_BATCH = 5000
# Where the local server keeps the `neo4j` database (store files, transaction logs).
_DATABASE_DIRS = ("data/databases/neo4j", "data/transactions/neo4j")


class StoreNotEmpty(CircuitstoreError):
    """Bulk import loads an empty store only."""


@dataclass
class BulkSummary:
    graphs: int = 0
    nodes: int = 0
    edges: int = 0
    skipped: list[str] = field(default_factory=list)  # files in folders that are no graph files, and repeats
    seconds: dict[str, float] = field(default_factory=dict)  # per phase: files, import, start, schema

    def line(self) -> str:
        total = sum(self.seconds.values())
        phases = ", ".join(f"{name} {s:.1f} s" for name, s in self.seconds.items())
        return (
            f"{self.graphs} graph{'' if self.graphs == 1 else 's'} bulk-imported: {self.nodes} nodes, "
            f"{self.edges} edges in {total:.1f} s ({phases}; {self.edges / max(total, 1e-9):,.0f} edges/s)"
        )


def bulk_import(
    server: LocalServer,
    sources: Iterable[Found | AttributionGraph],
    *,
    stored_paths: int = STORED_PATHS,
    on_progress: Callable[[str], None] = lambda line: None,
) -> BulkSummary:
    """Load graph files (Found, as expand_paths finds them) or graphs into `server`'s store, which
    must hold no data; see the module docstring. `on_progress` hears what is happening."""
    sources = list(sources)
    summary = BulkSummary()
    server.start(on_progress=on_progress)
    driver = connect(home=str(server.home))
    try:
        held = driver.execute_query(cypher("data_nodes")).records[0]["nodes"]
    finally:
        driver.close()
    if held:
        raise StoreNotEmpty(
            f"the store in {server.home} holds {held:,} nodes, and import --bulk loads an empty store only; "
            "add graphs to it with `circuitstore import PATH...` (without --bulk), one transaction per graph"
        )
    with tempfile.TemporaryDirectory(dir=server.home, prefix=".bulk-") as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        files = BulkFiles(folder / "files")
        files.folder.mkdir()
        _write(files, sources, stored_paths, summary, on_progress)
        arguments = files.finish()
        summary.seconds["files"] = time.perf_counter() - start
        summary.graphs, summary.nodes, summary.edges = files.graphs, files.nodes, files.edges
        on_progress(f"importer files written: {files.graphs} graphs, {files.nodes:,} nodes, {files.edges:,} edges")

        on_progress("stopping the server for the offline importer")
        server.stop()
        empty = folder / "empty"
        _move(server.home, empty)
        try:
            start = time.perf_counter()
            on_progress("running Neo4j's offline importer")
            server.run_importer(
                [
                    "--id-type=integer",
                    "--array-delimiter=U+001F",
                    "--multiline-fields=true",
                    "--bad-tolerance=0",
                    *arguments,
                ],
                cwd=folder,
                on_line=_ImporterLines(on_progress),
            )
            summary.seconds["import"] = time.perf_counter() - start
            start = time.perf_counter()
            on_progress("starting the server")
            server.start(on_progress=on_progress)
            summary.seconds["start"] = time.perf_counter() - start
            start = time.perf_counter()
            _finish(server, files.fixups, on_progress)
            summary.seconds["schema"] = time.perf_counter() - start
        except BaseException:
            on_progress("putting the empty store back")
            server.stop()
            for sub in _DATABASE_DIRS:
                shutil.rmtree(server.home / sub, ignore_errors=True)
            _move(empty, server.home)
            try:
                server.start()
            except CircuitstoreError as exc:  # the first fault is the one to tell
                on_progress(f"the server did not start again: {str(exc).splitlines()[0]}")
            raise
    return summary


def _write(
    files: BulkFiles,
    sources: list[Found | AttributionGraph],
    stored_paths: int,
    summary: BulkSummary,
    on_progress: Callable[[str], None],
) -> None:
    """Read, validate and add every graph; any bad input raises before anything changes.

    Worker processes read the graphs and build their rows (all the Python work but numbering:
    the derived facts, captions, the fingerprint, typed and formatted columns), a window at a
    time, while this one numbers and writes them."""
    global _JOB
    _JOB = (sources, stored_paths)
    seen: dict[str, tuple[str, str]] = {}  # graph id -> (fingerprint, where)
    n = len(sources)
    with multiprocessing.get_context("fork").Pool(max(1, os.cpu_count() or 1)) as pool:
        pending = pool.map_async(_prepare, range(min(_WINDOW, n)))
        for lo in range(0, n, _WINDOW):
            results = pending.get()
            if lo + _WINDOW < n:
                pending = pool.map_async(_prepare, range(lo + _WINDOW, min(lo + 2 * _WINDOW, n)))
            for status, where, value in results:
                if status == "error":
                    raise CircuitstoreError(f"{value}; nothing was imported")
                if status == "skipped":
                    summary.skipped.append(f"{where}: {value}")
                    continue
                earlier = seen.get(value.graph_id)
                if earlier is not None:
                    if earlier[0] != value.fingerprint:
                        raise CircuitstoreError(
                            f"{where} and {earlier[1]} are different graphs under one id, {value.graph_id!r}; "
                            "nothing was imported"
                        )
                    summary.skipped.append(f"{where}: the same graph as {earlier[1]}")
                    continue
                seen[value.graph_id] = (value.fingerprint, where)
                files.add(value)
            on_progress(f"writing importer files: {min(lo + _WINDOW, n)} of {n} graphs")
    _JOB = None


# What the worker processes read (set before they fork), and how many graphs each window holds.
_JOB: tuple[list, int] | None = None
_WINDOW = 64


def _prepare(i: int) -> tuple[str, str, Staged | str]:
    """In a worker: source i read and turned into importer rows, or why not (one line)."""
    from circuitstore.formats import NotAGraphFile, read_graph

    sources, stored_paths = _JOB
    source = sources[i]
    where = str(source.path) if isinstance(source, Found) else f"graph {source.meta.id!r}"
    try:
        graph = read_graph(source.path) if isinstance(source, Found) else source
        return "rows", where, stage(GraphColumns.of(graph, stored_paths=stored_paths))
    except NotAGraphFile as exc:
        if isinstance(source, Found) and source.in_folder:
            return "skipped", where, NOT_A_GRAPH
        return "error", where, str(exc).splitlines()[0]
    except CircuitstoreError as exc:
        return "error", where, problem_line(where, str(exc))


def _move(source_home: Path, target_home: Path) -> None:
    """Move the `neo4j` database's folders from one home-shaped tree to another."""
    for sub in _DATABASE_DIRS:
        src = source_home / sub
        if src.exists():
            (target_home / sub).parent.mkdir(parents=True, exist_ok=True)
            src.rename(target_home / sub)


def _finish(server: LocalServer, fixups: dict[str, list[dict]], on_progress: Callable[[str], None]) -> None:
    from circuitstore.schema import create_schema

    driver = connect(home=str(server.home))
    try:
        on_progress("creating the schema")
        create_schema(driver, on_progress)
        for lo in range(0, max(len(rows) for rows in fixups.values()), _FIXUP_BATCH):
            batch = {k: rows[lo : lo + _FIXUP_BATCH] for k, rows in fixups.items()}
            driver.execute_query(cypher("bulk_fixups"), **batch)
        on_progress("deriving Feature labels")
        relabel_all(driver)
    finally:
        driver.close()


class _ImporterLines:
    """The importer's output as progress: its phases, and each tenth of a phase."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self.say, self.phase, self.tenth = say, "", -1

    def __call__(self, line: str) -> None:
        m = re.match(r"\((\d+)/(\d+)\)\s+(.+?)\s*(\d{4}-\d\d-\d\d.*)?$", line.strip())
        if m:
            self.phase, self.tenth = f"importer {m[1]}/{m[2]}: {m[3].lower()}", -1
            self.say(self.phase)
            return
        m = re.search(r"\s(\d+)%", line)
        if m and self.phase and int(m[1]) // 10 > self.tenth:
            self.tenth = int(m[1]) // 10
            self.say(f"{self.phase} {m[1]}%")
        elif line.startswith("IMPORT DONE"):
            self.say(f"importer: {line.strip().lower()}")
