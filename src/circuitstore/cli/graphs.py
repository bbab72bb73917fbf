"""Commands over stored graphs: import, graphs, export, delete."""

from __future__ import annotations

import sys

import click

from circuitstore.cli.driver import store
from circuitstore.cli.output import emit


@click.command("import")
@click.argument("paths", nargs=-1, required=True)
@click.option("--replace", is_flag=True, help="Swap a different graph already stored under the same id.")
@click.pass_context
def import_cmd(ctx: click.Context, paths: tuple[str, ...], replace: bool) -> None:
    """Store graph JSON files (PATHS: files, directories, globs), one transaction per graph.

    A file that fails is reported and skipped; the exit status is 1 if any failed."""
    from circuitstore.store.importer import expand_paths, import_files

    files, missing = expand_paths(paths)
    driver = store(ctx)
    with click.progressbar(length=len(files), label="importing", file=sys.stderr) as bar:
        summary = import_files(driver, files, replace=replace, on_done=lambda outcome: bar.update(1))
    summary.outcomes[:0] = missing
    for outcome in summary.failed:
        click.echo(f"error: {outcome.error}", err=True)
    click.echo(summary.line())
    if summary.failed:
        sys.exit(1)


@click.command("graphs")
@click.option("--json", "as_json", is_flag=True, help="Print rows as JSON.")
@click.pass_context
def graphs_cmd(ctx: click.Context, as_json: bool) -> None:
    """List the stored graphs: id, prompt, model, sizes, scores."""
    from circuitstore.store import list_graphs

    emit(list_graphs(store(ctx)), as_json)


@click.command("export")
@click.argument("graph_id")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="The JSON file to write.")
@click.pass_context
def export_cmd(ctx: click.Context, graph_id: str, output: str) -> None:
    """Write stored graph GRAPH_ID as Neuronpedia / circuit-tracer graph JSON."""
    from circuitstore.formats import write_graph
    from circuitstore.store import load_graph

    graph = load_graph(store(ctx), graph_id)
    write_graph(graph, output)
    click.echo(f"wrote {graph_id} ({graph.n_nodes} nodes, {graph.n_edges} edges) to {output}")


@click.command("delete")
@click.argument("graph_id")
@click.pass_context
def delete_cmd(ctx: click.Context, graph_id: str) -> None:
    """Delete stored graph GRAPH_ID, and the shared features and tokens no other graph uses."""
    from circuitstore.store import delete_graph

    delete_graph(store(ctx), graph_id)
    click.echo(f"deleted {graph_id}")


COMMANDS = (import_cmd, graphs_cmd, export_cmd, delete_cmd)
