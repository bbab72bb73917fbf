"""`circuitstore draw`: a picture of a stored graph, its supernode graph or a paths answer."""

from __future__ import annotations

from pathlib import Path

import click

from circuitstore.cli.driver import store
from circuitstore.errors import CircuitstoreError


@click.command("draw")
@click.argument("graph_id")
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The picture: .svg, .png or .pdf; default GRAPH_ID.svg.",
)
@click.option("--supernodes", is_flag=True, help="Draw the supernode graph (the supernode-graph query).")
@click.option(
    "--paths",
    nargs=2,
    metavar="SOURCE TARGET",
    help='Draw the strongest paths from token SOURCE to logit TARGET, e.g. " Dallas" " Austin".',
)
@click.option("-k", type=click.IntRange(1), default=5, show_default=True, help="With --paths: how many paths.")
@click.pass_context
def draw(
    ctx: click.Context, graph_id: str, out: Path | None, supernodes: bool, paths: tuple[str, str] | None, k: int
) -> None:
    """Draw GRAPH_ID as in the Circuit Tracing papers: token positions along x, layers up y,
    logits on top, edge width by weight, blue excites, red inhibits."""
    try:
        from circuitstore import drawing
    except ImportError as exc:
        raise CircuitstoreError(
            f"circuitstore draw needs the draw extra ({exc.name} is missing): pip install 'circuitstore[draw]'"
        ) from None
    from circuitstore.queries import run_query
    from circuitstore.store import load_graph

    driver = store(ctx)
    graph = load_graph(driver, graph_id)
    if supernodes:
        picture = drawing.supernode_circuit(graph, run_query(driver, "supernode-graph", graph=graph_id))
    elif paths:
        rows = run_query(driver, "paths", graph=graph_id, source=paths[0], target=paths[1], k=k)
        edges = {(a, b): w for r in rows for a, b, w in zip(r["node_ids"], r["node_ids"][1:], r["weights"])}
        picture = drawing.circuit(graph, [(a, b, w) for (a, b), w in edges.items()])
    else:
        picture = drawing.circuit(graph)
    out = out or Path(f"{graph_id}.svg")
    drawing.render(picture, out)
    click.echo(f"wrote {out} ({picture.number_of_nodes()} nodes, {picture.number_of_edges()} edges)")


COMMANDS = [draw]
