"""Importing many graph files at once (what `circuitstore import` runs): path expansion, one
transaction per file, and a failure in one file reported without stopping the others."""

from __future__ import annotations

import glob
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from circuitstore.errors import CircuitstoreError
from circuitstore.neo4j_driver import neo4j
from circuitstore.store.write import store_graph


@dataclass(frozen=True)
class Outcome:
    path: Path
    status: str  # created | unchanged | replaced | skipped | failed
    graph_id: str | None = None
    nodes: int = 0
    edges: int = 0
    error: str | None = None  # one line, starting with the path (skipped: why)


@dataclass(frozen=True)
class Found:
    """A file to import; `in_folder` when a directory named it, where other JSON may live too."""

    path: Path
    in_folder: bool = False


@dataclass
class Summary:
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    def line(self) -> str:
        written = [o for o in self.outcomes if o.status in ("created", "replaced")]
        skipped = self.count("skipped")
        return (
            f"{len(written)} graph{'' if len(written) == 1 else 's'} stored ({self.count('created')} created, "
            f"{self.count('replaced')} replaced), {self.count('unchanged')} unchanged, "
            + (f"{skipped} skipped (not graph files), " if skipped else "")
            + f"{len(self.failed)} failed; {sum(o.nodes for o in written)} nodes, "
            f"{sum(o.edges for o in written)} edges in {self.seconds:.1f} s"
        )


def expand_paths(patterns: Iterable[str]) -> tuple[list[Found], list[Outcome]]:
    """Files named directly, every *.json under a directory, and glob matches (sorted, each once);
    a pattern that names nothing becomes a failed Outcome."""
    files: dict[Path, Found] = {}
    missing: list[Outcome] = []
    for pattern in patterns:
        path = Path(pattern)
        if path.is_dir():
            found = [Found(p, in_folder=True) for p in sorted(path.rglob("*.json")) if p.is_file()]
        elif path.exists():
            found = [Found(path)]
        else:
            found = [Found(Path(p)) for p in sorted(glob.glob(pattern, recursive=True)) if Path(p).is_file()]
        if not found:
            missing.append(Outcome(path, "failed", error=f"{pattern}: no such file, directory or match"))
        for f in found:
            files.setdefault(f.path, f)
    return list(files.values()), missing


# Why JSON in a folder that is no graph file is skipped.
NOT_A_GRAPH = "not a graph file (no metadata, nodes or links)"


def problem_line(where: str, message: str) -> str:
    """A file's problem as one line that names the file (`where`) first."""
    return (message if message.startswith(where) else f"{where}: {message}").splitlines()[0]


def import_file(
    driver: neo4j.Driver,
    found: Found,
    *,
    replace: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Outcome:
    """Read and store one file; any problem with this file becomes a failed Outcome, and JSON
    that is no graph file, found in a folder, a skipped one. `progress` as for store_graph."""
    from circuitstore.formats import NotAGraphFile, read_graph

    path = found.path
    try:
        graph = read_graph(path)
        status = store_graph(driver, graph, replace=replace, progress=progress)
    except NotAGraphFile as exc:
        if found.in_folder:
            return Outcome(path, "skipped", error=NOT_A_GRAPH)
        return Outcome(path, "failed", error=str(exc))
    except (CircuitstoreError, neo4j.exceptions.Neo4jError) as exc:
        message = str(exc) if isinstance(exc, CircuitstoreError) else f"Neo4j refused it: {exc.message}"
        return Outcome(path, "failed", error=problem_line(str(path), message))
    except neo4j.exceptions.DriverError as exc:
        raise CircuitstoreError(f"lost the connection to Neo4j while importing {path}: {exc}") from exc
    return Outcome(path, status, graph.meta.id, graph.n_nodes, graph.n_edges)


def import_files(
    driver: neo4j.Driver,
    files: list[Found],
    *,
    replace: bool = False,
    on_progress: Callable[[int, int, int], None] = lambda i, done, total: None,
    on_done: Callable[[Outcome], None] = lambda outcome: None,
) -> Summary:
    """Import each file in turn (one transaction each); `on_progress(file index, edges written,
    edges)` hears within each file, `on_done` sees every outcome as it comes."""
    summary = Summary()
    start = time.perf_counter()
    for i, found in enumerate(files):
        outcome = import_file(driver, found, replace=replace, progress=partial(on_progress, i))
        summary.outcomes.append(outcome)
        on_done(outcome)
    summary.seconds = time.perf_counter() - start
    return summary
