"""The `server` commands: a local Neo4j 5.26 Community server (with APOC and Browser)."""

from __future__ import annotations

import json
import subprocess
import sys

import click

from circuitstore.cli.output import emit, say


@click.group("server")
@click.pass_context
def server_group(ctx: click.Context) -> None:
    """Run a local Neo4j 5.26 Community server (with APOC and Browser) on 127.0.0.1; its home is
    `circuitstore --home` (or CIRCUITSTORE_HOME)."""
    from circuitstore.server import LocalServer

    ctx.obj["server"] = LocalServer(ctx.obj["home"])


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
@click.option(
    "--heap",
    envvar="CIRCUITSTORE_HEAP",
    help="JVM heap, e.g. 3g, or auto: an eighth of the machine's memory, 1g to 8g (the default, "
    "then as last started). The largest graph one transaction holds grows with it.",
)
@click.option(
    "--pagecache",
    envvar="CIRCUITSTORE_PAGECACHE",
    help="Page cache, e.g. 2g, or auto: what holds the store whole at this start (1.2 times its files), "
    "at least 512m, at most half the memory the heap leaves (the default, then as last started).",
)
@click.option("--restart", is_flag=True, help="Stop a running server first (new ports or memory take effect only so).")
@click.option("--timeout", type=float, default=180.0, show_default=True, help="Seconds to wait for Bolt.")
@click.option(
    "--warm-up/--no-warm-up",
    default=True,
    show_default=True,
    help="After a start, run every library query once in the background, so the first is fast.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.pass_context
def server_start(
    ctx: click.Context,
    bolt_port: int | None,
    http_port: int | None,
    heap: str | None,
    pagecache: str | None,
    restart: bool,
    timeout: float,
    warm_up: bool,
    as_json: bool,
) -> None:
    """Start the server (if it is not running) and wait until Bolt and Browser answer."""
    srv = ctx.obj["server"]
    started = srv.start(
        timeout=timeout,
        restart=restart,
        on_progress=lambda line: say(line, err=True),
        bolt_port=bolt_port,
        http_port=http_port,
        heap=heap,
        pagecache=pagecache,
    )
    if started and warm_up:
        _warm_up(srv)
    status = {"started": started, **srv.status()}
    if as_json:
        click.echo(json.dumps(status, indent=2))
        return
    say(
        f"Neo4j {status['version']} {'started' if started else 'was already running'} "
        f"(pid {status['pid']}), Bolt {status['bolt']}"
    )
    say(f"Browser: {status['browser']}  (user neo4j, password in {srv.password_file})")


def _warm_up(srv) -> None:
    """circuitstore.server.warmup in a detached process, logging beside the server's logs."""
    with open(srv.home / "logs" / "warm-up.log", "wb") as log:
        subprocess.Popen(
            [sys.executable, "-m", "circuitstore.server.warmup", str(srv.home)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


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
    """Say whether the server runs, on which ports, its version, store and log sizes."""
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
        (
            "memory",
            f"heap {s['heap']}{' (auto)' if s['heap_setting'] == 'auto' else ''}, "
            f"page cache {s['pagecache']}{' (auto)' if s['pagecache_setting'] == 'auto' else ''}",
        ),
        ("store", f"{s['store_bytes'] / 2**20:.1f} MiB in {s['home']}/data"),
        (
            "sizes",
            f"databases {s['database_bytes'] / 2**20:.1f} MiB, transaction logs {s['tx_log_bytes'] / 2**20:.1f} MiB",
        ),
        ("cache", f"a page cache of {s['pagecache_wanted']} holds the store (--pagecache; now {s['pagecache']})"),
    ):
        say(f"{key:8} {value}")


@server_group.command("resolve")
@click.option("--json", "as_json", is_flag=True, help="Print the jar folders as JSON.")
def server_resolve(as_json: bool) -> None:
    """Download the server's jars from Maven Central (start does this when needed)."""
    from circuitstore.server import jars

    found = jars.resolve()
    emit(
        [
            {"part": part, "version": jars.version(part), "jars": str(path)}
            for part, path in zip(jars.PARTS, (found.lib, found.browser, found.plugins.parent))
        ],
        as_json,
    )


COMMANDS = (server_group,)
