"""Computing and storing the graphs of many prompts: what `circuitstore ingest` runs.

Each prompt's graph id is found first (tokenising, nothing computed), so a prompt already stored
with the same model, transcoders and settings is skipped and an interrupted batch resumes where
it stopped. A prompt that cannot be attributed (a PromptError: empty, too long) becomes a failed
Outcome and the others go on; any other error stops the batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from transformer_lens import HookedTransformer

from circuitstore.compute.attribution import compute_graph, graph_id
from circuitstore.compute.errors import PromptError
from circuitstore.compute.targets import check_targets
from circuitstore.compute.transcoder_set import TranscoderSet
from circuitstore.formats import write_graph
from circuitstore.neo4j_driver import neo4j
from circuitstore.settings import AttributionSettings
from circuitstore.store import graph_exists, store_graph


@dataclass(frozen=True)
class Outcome:
    prompt: str
    status: str  # stored | skipped | failed
    graph_id: str | None = None
    error: str | None = None  # why a prompt failed


def ingest_prompts(
    driver: neo4j.Driver,
    model: HookedTransformer,
    transcoders: TranscoderSet,
    prompts: Sequence[str],
    settings: AttributionSettings,
    *,
    out_dir: Path | None = None,
    progress: Callable[[int, int, int], None] | None = None,
    on_done: Callable[[int, Outcome], None] = lambda i, outcome: None,
) -> list[Outcome]:
    """Compute, prune and store each prompt's graph (also written to `out_dir` as graph JSON, if
    given); `progress(i, done, total)` follows the targets attributed for prompt i, `on_done(i,
    outcome)` sees each outcome as it comes."""
    check_targets(model, settings.targets)  # a bad target would fail every prompt: refuse it first
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)
    outcomes = []
    for i, text in enumerate(prompts):

        def advance(done: int, total: int, i: int = i) -> None:
            if progress is not None:
                progress(i, done, total)

        try:
            gid = graph_id(model, transcoders, text, settings)
            if graph_exists(driver, gid):
                outcome = Outcome(text, "skipped", gid)
            else:
                graph = compute_graph(model, transcoders, text, settings, progress=advance)
                store_graph(driver, graph)
                if out_dir:
                    write_graph(graph, out_dir / f"{gid}.json")
                outcome = Outcome(text, "stored", gid)
        except PromptError as exc:
            outcome = Outcome(text, "failed", error=str(exc))
        outcomes.append(outcome)
        on_done(i, outcome)
    return outcomes
