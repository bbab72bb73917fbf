"""Computing and storing the graphs of many prompts: what `circuitstore ingest` runs.

Each prompt's graph id is found first (tokenising, nothing computed), so a prompt already stored
with the same model, transcoders and settings is skipped and an interrupted batch resumes where
it stopped. A prompt that cannot be attributed (a PromptError: empty, too long) becomes a failed
Outcome and the others go on; any other error stops the batch. The rest are computed by
`compute_graphs`, several prompts of one length at a time, and each graph is stored as it comes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from transformer_lens import HookedTransformer

from circuitstore.compute.attribution import compute_graphs, graph_id
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
    prompts_per_batch: int | None = 1,
    progress: Callable[[list[int], int, int], None] | None = None,
    on_done: Callable[[int, Outcome], None] = lambda i, outcome: None,
) -> list[Outcome]:
    """Compute, prune and store each prompt's graph (also written to `out_dir` as graph JSON, if
    given), `prompts_per_batch` at most sharing passes (compute_graphs; None: as many as fit); `progress(prompts, done,
    total)` follows the targets attributed for the prompts (indices) computed together, `on_done(i,
    outcome)` sees each outcome as it comes (skipped and failed prompts first)."""
    check_targets(model, settings.targets)  # a bad target would fail every prompt: refuse it first
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)
    outcomes: list[Outcome | None] = [None] * len(prompts)
    todo: dict[str, int] = {}  # graph id -> the prompt computing it
    for i, text in enumerate(prompts):
        try:
            gid = graph_id(model, transcoders, text, settings)
        except PromptError as exc:
            outcomes[i] = Outcome(text, "failed", error=str(exc))
        else:
            if gid not in todo and not graph_exists(driver, gid):
                todo[gid] = i
                continue
            outcomes[i] = Outcome(text, "skipped", gid)  # stored, or about to be by an earlier prompt
        on_done(i, outcomes[i])
    order = list(todo.values())

    def advance(group: list[int], done: int, total: int) -> None:
        if progress is not None:
            progress([order[k] for k in group], done, total)

    graphs = compute_graphs(
        model, transcoders, [prompts[i] for i in order], settings, prompts_per_batch=prompts_per_batch, progress=advance
    )
    for i, graph in zip(order, graphs):
        store_graph(driver, graph)
        if out_dir:
            write_graph(graph, out_dir / f"{graph.meta.id}.json")
        outcomes[i] = Outcome(prompts[i], "stored", graph.meta.id)
        on_done(i, outcomes[i])
    return outcomes
