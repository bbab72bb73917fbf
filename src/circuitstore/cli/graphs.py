"""Commands over stored graphs: import, graphs, export, delete."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from circuitstore.cli.driver import store
from circuitstore.cli.output import emit, items_bar, say
from circuitstore.errors import CircuitstoreError


@click.command("import")
@click.argument("paths", nargs=-1, required=True)
@click.option("--replace", is_flag=True, help="Swap a different graph already stored under the same id.")
@click.option(
    "--bulk",
    is_flag=True,
    help="Load a new, empty local store with Neo4j's offline importer, several times faster: "
    "stops the server while it runs, refuses a store that holds data.",
)
@click.pass_context
def import_cmd(ctx: click.Context, paths: tuple[str, ...], replace: bool, bulk: bool) -> None:
    """Store graph JSON files (PATHS: files, directories, globs), one transaction per graph.

    Each file's line says which graph id it became. In a directory, JSON that is no graph file
    (a schema, say) is skipped with a note. A file that fails is reported and skipped; the exit
    status is 1 if any failed.

    With --bulk, a corpus goes into an empty local store at once: every file is read and checked
    first (one bad file stops it before anything changes), then the server is stopped, Neo4j's
    offline importer writes the store, and the server is started again with the schema built. The
    store ends up as the transactional import would leave it. Add to a store that holds data
    without --bulk."""
    from circuitstore.store.importer import expand_paths, import_files

    files, missing = expand_paths(paths)
    if bulk:
        _bulk(ctx, files, missing, replace)
        return
    driver = store(ctx)
    with items_bar("importing", len(files)) as bar:

        def within(i: int, done: int, total: int) -> None:
            where = "committing" if done == total else f"{done:,}/{total:,} edges"
            bar.at(i, done, total, f"{i + 1}/{len(files)} {files[i].path.name}: {where}")

        finished = []

        def done(outcome) -> None:
            bar.finished(len(finished))
            finished.append(outcome)

        summary = import_files(driver, files, replace=replace, on_progress=within, on_done=done)
    summary.outcomes[:0] = missing
    for outcome in summary.outcomes:
        if outcome.status == "failed":
            say(f"error: {outcome.error}", err=True)
        elif outcome.status == "skipped":
            say(f"skipped {outcome.path}: {outcome.error}")
        else:
            say(f"{outcome.status} {outcome.graph_id}  {outcome.path}")
    click.echo(summary.line())
    if summary.failed:
        sys.exit(1)


def _bulk(ctx: click.Context, files: list, missing: list, replace: bool) -> None:
    from circuitstore.server import LocalServer
    from circuitstore.store.bulk import bulk_import

    root = ctx.find_root().obj
    if root["uri"]:
        raise CircuitstoreError(
            f"import --bulk writes the local server's store files, not {root['uri']}'s; "
            "import into another Neo4j without --bulk (or unset NEO4J_URI)"
        )
    if missing:
        raise CircuitstoreError(f"{missing[0].error}; nothing was imported")
    if replace:
        raise CircuitstoreError("--replace has no meaning with --bulk, which loads an empty store")
    summary = bulk_import(LocalServer(root["home"]), files, on_progress=lambda line: say(line, err=True))
    for line in summary.skipped:
        say(f"skipped {line}")
    click.echo(summary.line())


@click.command("graphs")
@click.option("--json", "as_json", is_flag=True, help="Print rows as JSON.")
@click.pass_context
def graphs_cmd(ctx: click.Context, as_json: bool) -> None:
    """List the stored graphs: id, prompt, model, sizes, scores."""
    from circuitstore.store import list_graphs

    emit(list_graphs(store(ctx)), as_json)


@click.command("export")
@click.argument("graph_id")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, allow_dash=True),
    help="The JSON file to write; - writes it to stdout.",
)
@click.option("--force", is_flag=True, help="Overwrite OUTPUT if it exists.")
@click.pass_context
def export_cmd(ctx: click.Context, graph_id: str, output: str, force: bool) -> None:
    """Write stored graph GRAPH_ID as Neuronpedia / circuit-tracer graph JSON."""
    from circuitstore.formats import dumps_graph
    from circuitstore.store import load_graph

    to_stdout = output == "-"
    if not to_stdout and Path(output).exists() and not force:
        raise CircuitstoreError(f"{output} exists; pass --force to overwrite it")
    driver = store(ctx)
    with click.progressbar(length=1, label="exporting", file=sys.stderr) as bar:

        def read(done: int, total: int) -> None:
            bar.length = max(total, 1)
            bar.update(done - bar.pos)

        graph = load_graph(driver, graph_id, progress=read)
    data = dumps_graph(graph, origin=output)
    if to_stdout:
        sys.stdout.buffer.write(data + b"\n")
        sys.stdout.flush()
    else:
        try:
            Path(output).write_bytes(data)
        except OSError as exc:
            raise CircuitstoreError(f"{output}: cannot write ({exc.strerror or exc})") from None
    say(f"wrote {graph_id} ({graph.n_nodes} nodes, {graph.n_edges} edges) to {output}", err=to_stdout)


@click.command("delete")
@click.argument("graph_id")
@click.pass_context
def delete_cmd(ctx: click.Context, graph_id: str) -> None:
    """Delete stored graph GRAPH_ID, and the shared features and tokens no other graph uses."""
    from circuitstore.store import delete_graph

    delete_graph(store(ctx), graph_id)
    say(f"deleted {graph_id}")


COMMANDS = (import_cmd, graphs_cmd, export_cmd, delete_cmd)
