"""The `family` commands: feature families, Features grouped together across graphs (build, list)."""

from __future__ import annotations

from collections import defaultdict

import click

from circuitstore.cli.driver import store
from circuitstore.cli.output import emit
from circuitstore.errors import CircuitstoreError
from circuitstore.supernodes import FAMILY_METHODS


@click.group("family")
def family_group() -> None:
    """Feature families: the Features that play one role across many graphs ("the Texas group")."""


@family_group.command("build")
@click.option("--graphs", "graph_ids", help="Comma-separated graph ids. [default: every stored graph]")
@click.option("--model", help="Only graphs of this model.")
@click.option("--prompt", help="Only graphs whose prompt contains this text.")
@click.option(
    "--method",
    type=click.Choice(FAMILY_METHODS),
    default="evidence",
    show_default=True,
    help="How each graph groups its latents: its imported and manual supernodes (hand-made), plus "
    "that method's suggestions for the rest (edge-profile, evidence).",
)
@click.option(
    "--min-graphs",
    type=click.IntRange(min=2),
    default=2,
    show_default=True,
    help="A Feature must be in this many graphs.",
)
@click.option(
    "--threshold",
    type=click.FloatRange(0, 1),
    default=0.5,
    show_default=True,
    help="Keep merging while the Features were grouped together in at least this share of the graphs holding both.",
)
@click.option("--json", "as_json", is_flag=True, help="Print rows as JSON.")
@click.pass_context
def build_cmd(
    ctx: click.Context,
    graph_ids: str | None,
    model: str | None,
    prompt: str | None,
    method: str,
    min_graphs: int,
    threshold: float,
    as_json: bool,
) -> None:
    """Build feature families from the chosen graphs, one transcoder set at a time, replacing the
    families this method built before for each set (other methods' stay). Deterministic."""
    from circuitstore.store import GraphNotFound, list_graphs, load_graph
    from circuitstore.store.families import build
    from circuitstore.supernodes.families import FamilySettings

    driver = store(ctx)
    rows = list_graphs(driver)
    if graph_ids:
        wanted = [g for g in graph_ids.split(",") if g]
        missing = sorted(set(wanted) - {r["id"] for r in rows})
        if missing:
            few = len(missing) > 1
            raise GraphNotFound(
                f"no graph{'s' if few else ''} {', '.join(map(repr, missing))} {'are' if few else 'is'} stored"
            )
        rows = [r for r in rows if r["id"] in wanted]
    rows = [r for r in rows if (model is None or r["model"] == model) and (prompt is None or prompt in r["prompt"])]
    by_set = defaultdict(list)
    for r in rows:
        by_set[r["transcoder_set"]].append(r["id"])
    usable = {ts: ids for ts, ids in by_set.items() if len(ids) >= min_graphs}
    if not usable:
        raise CircuitstoreError(f"no transcoder set has {min_graphs} or more of the chosen graphs ({len(rows)} chosen)")
    out = []
    for ts, ids in sorted(usable.items()):
        families = build(driver, [load_graph(driver, g) for g in ids], method, FamilySettings(threshold, min_graphs))
        click.echo(f"built {len(families)} {method} families over {len(ids)} graphs of {ts}", err=True)
        out += [
            {
                "name": f.name,
                "transcoder_set": ts,
                "score": f.score,
                "n_graphs": len(f.graphs),
                "features": list(f.features),
            }
            for f in families
        ]
    emit(out, as_json)


@family_group.command("list")
@click.option("--transcoders", help="Only families of this transcoder set.")
@click.option("--method", type=click.Choice(FAMILY_METHODS), help="Only families built by this method.")
@click.option("--json", "as_json", is_flag=True, help="Print rows as JSON.")
@click.pass_context
def list_cmd(ctx: click.Context, transcoders: str | None, method: str | None, as_json: bool) -> None:
    """List the stored feature families: id, name, method, score, graphs they occur in, Features."""
    from circuitstore.store.families import list_families

    emit(list_families(store(ctx), transcoders, method), as_json)


COMMANDS = (family_group,)
