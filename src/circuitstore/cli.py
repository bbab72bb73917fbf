"""The `circuitstore` command line. Heavy imports (torch, the compute layer) happen inside the
commands that need them, so `import`, `query` and `export` start fast."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from typing import Any

import click
import neo4j
from neo4j.exceptions import DriverError, Neo4jError

from circuitstore.errors import CircuitstoreError, one_line


class Cli(click.Group):
    """Turns CircuitstoreError, and Neo4j's own errors, into a one-line message and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CircuitstoreError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        except Neo4jError as exc:
            click.echo(f"error: Neo4j: {one_line(exc)} ({exc.code})", err=True)
            sys.exit(1)
        except DriverError as exc:
            click.echo(f"error: Neo4j driver: {one_line(exc)}", err=True)
            sys.exit(1)


def store(ctx: click.Context) -> neo4j.Driver:
    """A connected driver with the schema migrated, opened once per command and closed after it.

    The target is ctx.obj["uri"] (--uri or NEO4J_URI), else the local server."""
    from circuitstore.schema import migrate
    from circuitstore.server import connect

    root = ctx.find_root()
    driver = root.obj.get("driver")
    if driver is None:
        driver = connect(root.obj["uri"])
        root.call_on_close(driver.close)
        migrate(driver)
        root.obj["driver"] = driver
    return driver


def emit(rows: Iterable[Mapping[str, Any]], as_json: bool) -> None:
    """Print result rows: JSON (one array) for scripts, an aligned table for people."""
    rows = [dict(r) for r in rows]
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str, ensure_ascii=False))
        return
    if not rows:
        click.echo("(no rows)")
        return
    cols = list(dict.fromkeys(k for r in rows for k in r))
    cells = [[_cell(r.get(c)) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    click.echo("  ".join(c.ljust(w) for c, w in zip(cols, widths)).rstrip())
    for row in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, dict)):
        return json.dumps(value, default=str, ensure_ascii=False)
    return "" if value is None else str(value)


@click.group(cls=Cli)
@click.option(
    "--uri",
    envvar="NEO4J_URI",
    default=None,
    metavar="URI",
    help="Bolt URI of another Neo4j (Docker, Aura, a cluster); default: the local server. "
    "NEO4J_USER and NEO4J_PASSWORD give its credentials.",
)
@click.version_option(package_name="circuitstore")
@click.pass_context
def main(ctx: click.Context, uri: str | None) -> None:
    """Keep, query and compare attribution graphs (circuits) in Neo4j."""
    ctx.obj = {"uri": uri}


@main.command("import")
@click.argument("paths", nargs=-1, required=True)
@click.option("--replace", is_flag=True, help="Swap a different graph already stored under the same id.")
@click.pass_context
def import_cmd(ctx: click.Context, paths: tuple[str, ...], replace: bool) -> None:
    """Store graph JSON files (PATHS: files, directories, globs), one transaction per graph.

    A file that fails is reported and skipped; the exit status is 1 if any failed."""
    from circuitstore.ingest.importer import expand_paths, import_files

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


@main.command("ingest")
@click.argument("prompts", nargs=-1)
@click.option(
    "--prompts",
    "prompts_file",
    type=click.Path(exists=True, dir_okay=False),
    help="A text file of prompts, one per line (blank lines skipped).",
)
@click.option(
    "--model",
    help="A TransformerLens model name, a local model directory, a .gguf file, or "
    "gemma-3-270m-gguf (offline, from its PyPI package). [default: gemma-3-270m]",
)
@click.option(
    "--transcoders",
    help="A named set, RELEASE:ID_TEMPLATE with {layer}, or a directory of saved "
    "transcoders. [default: gemma-scope-2-270m-pt-transcoders-all]",
)
@click.option("--device", default="cpu", show_default=True, help="Torch device, e.g. cuda.")
@click.option("--dtype", type=click.Choice(["float32", "bfloat16"]), default="float32", show_default=True)
@click.option(
    "--max-feature-nodes",
    type=click.IntRange(min=0),
    default=8192,
    show_default=True,
    help="Latents to attribute, most influential on the logits first.",
)
@click.option(
    "--max-n-logits",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="At most this many logit nodes ...",
)
@click.option(
    "--desired-logit-prob",
    type=float,
    default=0.95,
    show_default=True,
    help="... or fewer, once their probabilities add up to this.",
)
@click.option(
    "--batch-size", type=click.IntRange(min=1), default=64, show_default=True, help="Targets per backward pass."
)
@click.option(
    "--node-threshold",
    type=float,
    default=0.8,
    show_default=True,
    help="Keep latents and errors holding this share of influence.",
)
@click.option(
    "--edge-threshold",
    type=float,
    default=0.98,
    show_default=True,
    help="Keep edges holding this share of edge influence.",
)
@click.option("--out", type=click.Path(file_okay=False), help="Also write each graph as graph JSON into this folder.")
@click.pass_context
def ingest_cmd(
    ctx: click.Context,
    prompts: tuple[str, ...],
    prompts_file: str | None,
    model: str | None,
    transcoders: str | None,
    device: str,
    dtype: str,
    out: str | None,
    **settings: Any,
) -> None:
    """Compute, prune and store the attribution graph of each PROMPT.

    A prompt already stored with the same model, transcoders and settings is skipped, so an
    interrupted batch resumes. A prompt that cannot be attributed is reported and the rest go
    on; the exit status is then 1."""
    from pathlib import Path

    from circuitstore import compute
    from circuitstore.formats import write_graph
    from circuitstore.ingest import graph_exists, store_graph

    texts = list(prompts)
    if prompts_file:
        texts += [line for line in Path(prompts_file).read_text(encoding="utf-8").splitlines() if line.strip()]
    if not texts:
        raise click.UsageError("give PROMPT arguments or --prompts FILE")
    config = compute.AttributionSettings(**settings)
    lm = compute.load_model(model or compute.DEFAULT_MODEL, device=device, dtype=dtype)
    tcs = compute.load_transcoders(transcoders or compute.DEFAULT_TRANSCODERS, lm, device=device, dtype=dtype)
    driver = store(ctx)
    out_dir = Path(out) if out else None
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)
    counts = {"stored": 0, "skipped": 0, "failed": 0}
    done: list[str] = []
    # One bar: overall progress across prompts; the text after it tracks the current prompt.
    per_prompt = 1000
    status = {"text": ""}
    with click.progressbar(
        length=len(texts) * per_prompt, label="ingest", file=sys.stderr, item_show_func=lambda _: status["text"]
    ) as bar:
        for i, text in enumerate(texts):
            where = f"prompt {i + 1}/{len(texts)}"
            start = bar.pos

            def advance(done: int, total: int, start: int = start, where: str = where) -> None:
                status["text"] = f"{where}: {done}/{total} targets"
                bar.update(start + per_prompt * done // max(total, 1) - bar.pos)

            try:
                gid = compute.graph_id(lm, tcs, text, config)
                if graph_exists(driver, gid):
                    outcome = "skipped"
                else:
                    graph = compute.compute_graph(lm, tcs, text, config, progress=advance)
                    store_graph(driver, graph)
                    if out_dir:
                        write_graph(graph, out_dir / f"{gid}.json")
                    outcome = "stored"
                done.append(f"{outcome} {gid} {text[:60]!r}")
            except compute.PromptError as exc:
                outcome = "failed"
                click.echo(f"\nerror: {where} ({text[:40]!r}): {exc}", err=True)
            counts[outcome] += 1
            bar.update(start + per_prompt - bar.pos)
    for line in done:
        click.echo(line)
    click.echo(", ".join(f"{n} {k}" for k, n in counts.items()))
    if counts["failed"]:
        sys.exit(1)


@main.command("graphs")
@click.option("--json", "as_json", is_flag=True, help="Print rows as JSON.")
@click.pass_context
def graphs_cmd(ctx: click.Context, as_json: bool) -> None:
    """List the stored graphs: id, prompt, model, sizes, scores."""
    from circuitstore.ingest import list_graphs

    emit(list_graphs(store(ctx)), as_json)


@main.command("export")
@click.argument("graph_id")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="The JSON file to write.")
@click.pass_context
def export_cmd(ctx: click.Context, graph_id: str, output: str) -> None:
    """Write stored graph GRAPH_ID as Neuronpedia / circuit-tracer graph JSON."""
    from circuitstore.formats import write_graph
    from circuitstore.ingest import load_graph

    graph = load_graph(store(ctx), graph_id)
    write_graph(graph, output)
    click.echo(f"wrote {graph_id} ({graph.n_nodes} nodes, {graph.n_edges} edges) to {output}")


@main.command("delete")
@click.argument("graph_id")
@click.pass_context
def delete_cmd(ctx: click.Context, graph_id: str) -> None:
    """Delete stored graph GRAPH_ID, and the shared features and tokens no other graph uses."""
    from circuitstore.ingest import delete_graph

    delete_graph(store(ctx), graph_id)
    click.echo(f"deleted {graph_id}")


# -- the local server ------------------------------------------------------------------------


@main.group("server")
@click.option(
    "--home",
    envvar="CIRCUITSTORE_HOME",
    type=click.Path(file_okay=False),
    default=None,
    help="The server's directory (config, data, logs, password); default: "
    "neo4j/ in the user data directory. Env: CIRCUITSTORE_HOME.",
)
@click.pass_context
def server_group(ctx: click.Context, home: str | None) -> None:
    """Run a local Neo4j 5.26 Community server (with APOC and Browser) on 127.0.0.1."""
    from circuitstore.server import LocalServer

    ctx.obj["server"] = LocalServer(home)


@server_group.command("start")
@click.option(
    "--bolt-port",
    type=click.IntRange(1, 65535),
    envvar="CIRCUITSTORE_BOLT_PORT",
    help="Default 7687, then as last started.",
)
@click.option(
    "--http-port",
    type=click.IntRange(1, 65535),
    envvar="CIRCUITSTORE_HTTP_PORT",
    help="Default 7474, then as last started.",
)
@click.option("--heap", envvar="CIRCUITSTORE_HEAP", help="JVM heap, e.g. 1g (the default).")
@click.option("--pagecache", envvar="CIRCUITSTORE_PAGECACHE", help="Page cache, e.g. 512m (the default).")
@click.option("--timeout", type=float, default=180.0, show_default=True, help="Seconds to wait for Bolt.")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.pass_context
def server_start(
    ctx: click.Context,
    bolt_port: int | None,
    http_port: int | None,
    heap: str | None,
    pagecache: str | None,
    timeout: float,
    as_json: bool,
) -> None:
    """Start the server (if it is not running) and wait until Bolt answers."""
    srv = ctx.obj["server"]
    started = srv.start(timeout=timeout, bolt_port=bolt_port, http_port=http_port, heap=heap, pagecache=pagecache)
    status = {"started": started, **srv.status()}
    if as_json:
        click.echo(json.dumps(status, indent=2))
        return
    click.echo(
        f"Neo4j {status['version']} {'started' if started else 'was already running'} "
        f"(pid {status['pid']}), Bolt {status['bolt']}"
    )
    click.echo(f"Browser: {status['browser']}  (user neo4j, password in {srv.password_file})")


@server_group.command("stop")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@click.pass_context
def server_stop(ctx: click.Context, as_json: bool) -> None:
    """Shut the server down cleanly; its data stays for the next start."""
    stopped = ctx.obj["server"].stop()
    if as_json:
        click.echo(json.dumps({"stopped": stopped}))
    else:
        click.echo("stopped" if stopped else "not running")


@server_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.pass_context
def server_status(ctx: click.Context, as_json: bool) -> None:
    """Say whether the server runs, on which ports, its version and store size."""
    s = ctx.obj["server"].status()
    if as_json:
        click.echo(json.dumps(s, indent=2))
        return
    state = f"{s['state']} (pid {s['pid']})" if s["pid"] else s["state"]
    for key, value in (
        ("state", state),
        ("bolt", s["bolt"]),
        ("browser", s["browser"]),
        ("version", f"Neo4j {s['version']} Community, APOC {s['apoc']}"),
        ("memory", f"heap {s['heap']}, page cache {s['pagecache']}"),
        ("store", f"{s['store_bytes'] / 2**20:.1f} MiB in {s['home']}/data"),
    ):
        click.echo(f"{key:8} {value}")


@server_group.command("resolve")
@click.option("--json", "as_json", is_flag=True, help="Print the jar folders as JSON.")
def server_resolve(as_json: bool) -> None:
    """Download the server's jars from Maven Central (start does this when needed)."""
    from circuitstore.server import jars

    found = jars.resolve()
    emit(
        [
            {"part": part, "version": jars.version(part), "jars": str(path)}
            for part, path in zip(jars.PARTS, (found.lib, found.browser, found.plugins))
        ],
        as_json,
    )


# -- the database ----------------------------------------------------------------------------


@main.group("db")
def db_group() -> None:
    """Manage the database's schema."""


@db_group.command("migrate")
@click.option("--json", "as_json", is_flag=True, help="Print the version as JSON.")
@click.pass_context
def db_migrate(ctx: click.Context, as_json: bool) -> None:
    """Apply the schema migrations (every command also does this on first use)."""
    from circuitstore.schema import applied

    version = applied(store(ctx))
    if as_json:
        click.echo(json.dumps({"schema_version": version}))
    else:
        click.echo(f"schema version {version}")


@main.command("cypher")
@click.argument("query")
@click.option(
    "--param",
    "-p",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    help="A parameter ($KEY in the query); VALUE is read as JSON when it parses "
    '(5, 0.5, true, [1,2], "5"), else taken as a string.',
)
@click.option("--json", "as_json", is_flag=True, help="Print rows as JSON.")
@click.pass_context
def cypher_cmd(ctx: click.Context, query: str, params: tuple[str, ...], as_json: bool) -> None:
    """Run any Cypher QUERY ('-' reads it from stdin), like cypher-shell."""
    from circuitstore.records import rows

    if query == "-":
        query = sys.stdin.read()
    values = {}
    for item in params:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise CircuitstoreError(f"--param expects KEY=VALUE, got {item!r}")
        try:
            values[key] = json.loads(text)
        except ValueError:
            values[key] = text
    with store(ctx).session() as session:
        result = session.run(query, values)
        found = rows(result)
        counters = result.consume().counters
    emit(found, as_json)
    changes = [f"{getattr(counters, name)} {name.replace('_', ' ')}" for name in _COUNTERS if getattr(counters, name)]
    if changes and not as_json:
        click.echo(", ".join(changes))


_COUNTERS = (
    "nodes_created",
    "nodes_deleted",
    "relationships_created",
    "relationships_deleted",
    "properties_set",
    "labels_added",
    "labels_removed",
    "indexes_added",
    "indexes_removed",
    "constraints_added",
    "constraints_removed",
    "system_updates",
)


@main.command("query")
@click.argument("name", required=False)
@click.option(
    "--param",
    "-p",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    help="A query parameter; typed by the query's header (int, float, list: a,b,c).",
)
@click.option("--json", "as_json", is_flag=True, help="Print rows as JSON.")
@click.option("--list", "list_all", is_flag=True, help="List the queries and their parameters.")
@click.pass_context
def query_cmd(ctx: click.Context, name: str | None, params: tuple[str, ...], as_json: bool, list_all: bool) -> None:
    """Run the named question NAME over the stored graphs (see --list; NAME --list: its parameters)."""
    from circuitstore.queries import get_query, list_queries, parse_cli_params, run_query

    if list_all and name is not None:
        emit(
            (
                {
                    "parameter": p.name,
                    "type": p.type,
                    "default": "(required)" if p.required else json.dumps(p.default),
                    "description": p.doc,
                }
                for p in get_query(name).params
            ),
            as_json,
        )
        return
    if list_all or name is None:
        emit(
            (
                {
                    "query": q.name,
                    "purpose": q.purpose,
                    "parameters": ", ".join(
                        p.name if p.required else f"{p.name}={json.dumps(p.default)}" for p in q.params
                    ),
                }
                for q in list_queries()
            ),
            as_json,
        )
        return
    values = parse_cli_params(name, params)
    emit(run_query(store(ctx), name, **values), as_json)
