"""`circuitstore intervene`: test what a stored graph claims on the model it was computed with,
and keep the result beside it (circuitstore.interventions says what an intervention is)."""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING

import click

from circuitstore.cli.driver import store
from circuitstore.cli.output import emit

if TYPE_CHECKING:
    from circuitstore.interventions import Result


@click.command("intervene")
@click.argument("graph_id")
@click.option(
    "--ablate",
    multiple=True,
    metavar="NODE|SUPERNODE",
    help="A latent node id (e.g. 0_5_9) or a supernode of GRAPH_ID whose latents to scale; repeatable.",
)
@click.option(
    "--scale",
    type=float,
    default=0.0,
    show_default=True,
    help="Multiply each ablated latent's activation by this, from -10 to 10 (0: zero ablation).",
)
@click.option("--swap-from", metavar="GRAPH2", help="Swap in latents of this graph (same model and transcoders) ...")
@click.option(
    "--swap",
    multiple=True,
    metavar="NODE|SUPERNODE",
    help="... these, set to their activation on GRAPH2's prompt, at the same position counted from the "
    "prompt's end; repeatable.",
)
@click.option(
    "--generate", type=int, default=0, metavar="N", help="Also continue the prompt by N tokens (greedy; with --free)."
)
@click.option(
    "--frozen-attention/--free",
    "frozen",
    default=False,
    help="Freeze attention patterns and norm scales and replace MLPs by transcoders plus fixed errors, as the "
    "graph does, or run the rest of the model freely.  [default: free]",
)
@click.option("--model", help="Load this model, not the one the graph records (load_model's spec).")
@click.option("--transcoders", help="Load these transcoders, not the ones the graph records.")
@click.option("--device", default="cpu", show_default=True, help="Torch device, e.g. cuda.")
@click.option("--top", type=click.IntRange(min=1), default=5, show_default=True, help="Top logits to show.")
@click.option("--store/--no-store", "keep", default=True, help="Keep the result with the graph.  [default: store]")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def intervene_cmd(
    ctx: click.Context,
    graph_id: str,
    ablate: tuple[str, ...],
    scale: float,
    swap_from: str | None,
    swap: tuple[str, ...],
    generate: int,
    frozen: bool,
    model: str | None,
    transcoders: str | None,
    device: str,
    top: int,
    keep: bool,
    as_json: bool,
) -> None:
    """Change latents of stored graph GRAPH_ID on the real model and compare what happens to the
    logits with what the graph predicts.

    Each latent acts at its own layer and position: (scale - 1) x activation x decoder row is
    added there (swapped-in latents are set to their activation on GRAPH2's prompt). Prints the
    top logits before and after, and each logit node (GRAPH_ID's, and GRAPH2's of other tokens)
    with its value before (the logit minus the mean logit), its measured change and the change
    the graph predicts. `circuitstore query interventions` lists the stored results."""
    from circuitstore.interventions import plan
    from circuitstore.store import load_graph, store_intervention

    driver = store(ctx)
    graph = load_graph(driver, graph_id)
    swap_graph = load_graph(driver, swap_from) if swap_from else None
    request = plan(
        graph,
        ablate,
        scale=scale,
        swap_graph=swap_graph,
        swap=swap,
        generate=generate,
        frozen=frozen,
        model=model,
        transcoders=transcoders,
    )
    from circuitstore.compute.intervene import intervene, load

    result = intervene(request, *load(request, device), top=top)

    stored = store_intervention(driver, result) if keep else None
    if as_json:
        click.echo(json.dumps(_as_dict(result, stored), indent=2, ensure_ascii=False))
    else:
        _show(result, stored)


def _show(result: Result, stored: str | None) -> None:
    request, meta = result.plan, result.plan.graph.meta
    click.echo(f"graph {meta.id} ({meta.model}): {meta.prompt!r}")
    click.echo(f"{request.kind}: {request.description}, {len(request.edits)} latents")
    click.echo("top logits:")
    emit(
        (
            {
                "rank": k + 1,
                "before": _token(b.text),
                "p_before": b.probability,
                "after": _token(a.text),
                "p_after": a.probability,
            }
            for k, (b, a) in enumerate(zip(result.top_before, result.top_after))
        ),
        as_json=False,
    )
    click.echo("logit nodes (logit minus mean logit):")
    emit(
        (
            {"logit": _token(c.text), "before": c.before, "measured": c.measured, "predicted": c.predicted}
            for c in result.logits
        ),
        as_json=False,
    )
    error = result.relative_error
    click.echo(f"relative error of the prediction: {'none moved' if error is None else f'{error:.3g}'}")
    if result.text_before is not None:
        click.echo(f"generated ({request.generate} tokens):")
        click.echo(f"  before: {result.text_before!r}")
        click.echo(f"  after:  {result.text_after!r}")
    if stored is not None:
        click.echo(f"stored intervention {stored}")


def _as_dict(result: Result, stored: str | None) -> dict:
    request = result.plan
    return {
        "id": request.id,
        "stored": stored is not None,
        "graph": request.graph.meta.id,
        "kind": request.kind,
        "mode": request.mode,
        "description": request.description,
        "latents": len(request.edits),
        "top_before": [dataclasses.asdict(t) for t in result.top_before],
        "top_after": [dataclasses.asdict(t) for t in result.top_after],
        "logits": [dataclasses.asdict(c) for c in result.logits],
        "relative_error": result.relative_error,
        "text_before": result.text_before,
        "text_after": result.text_after,
    }


def _token(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


COMMANDS = (intervene_cmd,)
