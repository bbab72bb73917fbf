"""`circuitstore browser`: where Neo4j Browser is and how to log in, opening it where a desktop is.

The local server applies circuitstore's style and guide at login by itself (server/browser.py);
for another Neo4j (--uri / NEO4J_URI) the command prints the two Browser commands to paste.
"""

from __future__ import annotations

import os
import sys
import webbrowser

import click

from circuitstore.errors import CircuitstoreError


def _desktop() -> bool:
    return sys.platform in ("darwin", "win32") or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


@click.command("browser")
@click.option("--no-open", is_flag=True, help="Only print; do not open a web browser.")
@click.pass_context
def browser(ctx: click.Context, no_open: bool) -> None:
    """Print Neo4j Browser's URL, user and password file, and open it where a desktop exists."""
    from circuitstore.server import LocalServer
    from circuitstore.server.browser import GUIDE, STYLE, style_text

    uri, home = ctx.find_root().obj["uri"], ctx.find_root().obj["home"]
    srv = LocalServer(home)
    base = f"http://127.0.0.1:{srv.settings().http_port}"
    if uri:
        click.echo(f"In the Neo4j Browser of {uri}, run these two commands (the first is the style sheet):")
        click.echo(":style " + " ".join(style_text().split()))
        # Browser plays guides from localhost by default, so the local server's guide works while it runs.
        click.echo(f":play {base.replace('127.0.0.1', 'localhost')}{GUIDE}")
        return
    if not srv.status()["running"]:
        raise CircuitstoreError(
            f"the local server in {srv.home} is not running; start it with `circuitstore server start`"
        )
    url = f"{srv.browser_url}?dbms={srv.bolt_uri}"
    click.echo(f"Browser: {url}")
    click.echo("user: neo4j")
    click.echo(f"password: in {srv.password_file}")
    click.echo(f"At login Browser applies the style {base}{STYLE} and opens the guide {base}{GUIDE}.")
    if not no_open and _desktop():
        webbrowser.open(url)


COMMANDS = [browser]
