"""Importing many graph files at once (what `circuitstore import` runs): path expansion, one
transaction per file, and a failure in one file reported without stopping the others."""

from __future__ import annotations

import glob
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from circuitstore.errors import CircuitstoreError
from circuitstore.neo4j_driver import neo4j
from circuitstore.store.write import store_graph


@dataclass(frozen=True)
class Outcome:
    path: Path
    status: str  # created | unchanged | replaced | failed
    nodes: int = 0
    edges: int = 0
    error: str | None = None  # one line, starting with the path


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
        return (
            f"{len(written)} graph{'' if len(written) == 1 else 's'} stored ({self.count('created')} created, "
            f"{self.count('replaced')} replaced), {self.count('unchanged')} unchanged, "
            f"{len(self.failed)} failed; {sum(o.nodes for o in written)} nodes, "
            f"{sum(o.edges for o in written)} edges in {self.seconds:.1f} s"
        )


def expand_paths(patterns: Iterable[str]) -> tuple[list[Path], list[Outcome]]:
    """Files named directly, every *.json under a directory, and glob matches (sorted, each once);
    a pattern that names nothing becomes a failed Outcome."""
    files: dict[Path, None] = {}
    missing: list[Outcome] = []
    for pattern in patterns:
        path = Path(pattern)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*.json") if p.is_file())
        elif path.exists():
            found = [path]
        else:
            found = sorted(Path(p) for p in glob.glob(pattern, recursive=True) if Path(p).is_file())
        if not found:
            missing.append(Outcome(path, "failed", error=f"{pattern}: no such file, directory or match"))
        files.update(dict.fromkeys(found))
    return list(files), missing


def import_file(driver: neo4j.Driver, path: Path, *, replace: bool = False) -> Outcome:
    """Read and store one file; any problem with this file becomes a failed Outcome."""
    from circuitstore.formats import read_graph

    try:
        graph = read_graph(path)
        status = store_graph(driver, graph, replace=replace)
    except (CircuitstoreError, neo4j.exceptions.Neo4jError) as exc:
        message = str(exc) if isinstance(exc, CircuitstoreError) else f"Neo4j refused it: {exc.message}"
        if not message.startswith(str(path)):
            message = f"{path}: {message}"
        return Outcome(path, "failed", error=message.splitlines()[0])
    except neo4j.exceptions.DriverError as exc:
        raise CircuitstoreError(f"lost the connection to Neo4j while importing {path}: {exc}") from exc
    return Outcome(path, status, graph.n_nodes, graph.n_edges)


def import_files(
    driver: neo4j.Driver,
    paths: list[Path],
    *,
    replace: bool = False,
    on_done: Callable[[Outcome], None] = lambda outcome: None,
) -> Summary:
    """Import each file in turn (one transaction each); `on_done` sees every outcome as it comes."""
    summary = Summary()
    start = time.perf_counter()
    for path in paths:
        outcome = import_file(driver, path, replace=replace)
        summary.outcomes.append(outcome)
        on_done(outcome)
    summary.seconds = time.perf_counter() - start
    return summary
