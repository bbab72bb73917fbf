"""The `supernode` commands: a stored graph's supernodes by hand (add, remove, list) and
suggested (suggest, by either grouping method, stored with --apply)."""

from __future__ import annotations

import click

from circuitstore.cli.driver import store
from circuitstore.cli.output import emit
from circuitstore.supernodes import METHODS


@click.group("supernode")
def supernode_group() -> None:
    """A graph's supernodes: named groups of its nodes, made by hand or suggested."""


@supernode_group.command("add")
@click.argument("graph_id")
@click.argument("name")
@click.argument("nodes", nargs=-1, required=True)
@click.pass_context
def add_cmd(ctx: click.Context, graph_id: str, name: str, nodes: tuple[str, ...]) -> None:
    """Add supernode NAME to graph GRAPH_ID, grouping NODES (node ids as in the graph's JSON)."""
    from circuitstore.store.supernodes import add_supernode

    n = add_supernode(store(ctx), graph_id, name, nodes)
    click.echo(f"added supernode {name!r} to {graph_id} ({n} member{'' if n == 1 else 's'})")


@supernode_group.command("remove")
@click.argument("graph_id")
@click.argument("name")
@click.pass_context
def remove_cmd(ctx: click.Context, graph_id: str, name: str) -> None:
    """Remove supernode NAME from graph GRAPH_ID (whatever made it; its nodes stay)."""
    from circuitstore.store.supernodes import remove_supernode

    method = remove_supernode(store(ctx), graph_id, name)
    click.echo(f"removed supernode {name!r} ({method}) from {graph_id}")


@supernode_group.command("list")
@click.argument("graph_id")
@click.option("--json", "as_json", is_flag=True, help="Print rows as JSON.")
@click.pass_context
def list_cmd(ctx: click.Context, graph_id: str, as_json: bool) -> None:
    """List graph GRAPH_ID's supernodes: name, method (imported, manual, or the grouping method
    that suggested it), score, members (node ids as in the graph's JSON)."""
    from circuitstore.store.supernodes import list_supernodes

    rows = list_supernodes(store(ctx), graph_id)
    emit(({**r, "n": len(r["members"])} for r in rows) if not as_json else rows, as_json)


@supernode_group.command("suggest")
@click.argument("graph_id")
@click.option(
    "--method",
    type=click.Choice(METHODS),
    default="evidence",
    show_default=True,
    help="edge-profile: Neuronpedia's proposal (similar signed edge profiles, complete-link); "
    "evidence: the graph's edges weighed with what the store knows (labels, the Features in "
    "other graphs, their groupings there, the weights).",
)
@click.option("--apply", is_flag=True, help="Store them, replacing this method's earlier suggestions.")
@click.option(
    "--include-grouped",
    is_flag=True,
    help="Also group latents already in imported or manual supernodes (the suggestions may then overlap those).",
)
@click.option("--json", "as_json", is_flag=True, help="Print rows as JSON.")
@click.pass_context
def suggest_cmd(ctx: click.Context, graph_id: str, method: str, apply: bool, include_grouped: bool, as_json: bool):
    """Suggest supernodes for graph GRAPH_ID: groups of latents that play one role, each named
    from its members' labels and scored by how alike they are (0 to 1). Deterministic. By
    default the latents already in imported or manual supernodes are left out, so that
    suggestions complement them; with --apply they are stored beside them under their method."""
    from circuitstore.store import load_graph
    from circuitstore.store.knowledge import knowledge
    from circuitstore.store.supernodes import list_supernodes, save_suggestions
    from circuitstore.supernodes import HAND_MADE
    from circuitstore.supernodes.evidence import Knowledge
    from circuitstore.supernodes.suggest import suggest

    driver = store(ctx)
    graph = load_graph(driver, graph_id)
    existing = list_supernodes(driver, graph_id)
    exclude = set() if include_grouped else {m for r in existing if r["method"] in HAND_MADE for m in r["members"]}
    taken = {r["name"] for r in existing if r["method"] != method}
    known = knowledge(driver, graph) if method == "evidence" else Knowledge()
    found = suggest(graph, method, known, exclude, taken)
    rows = [{"name": s.name, "score": s.score, "n": len(s.members), "members": list(s.members)} for s in found]
    emit(rows, as_json)
    if apply:
        removed = save_suggestions(driver, graph_id, method, found)
        replaced = f", replacing {removed} earlier" if removed else ""
        click.echo(f"stored {len(found)} {method} suggestion{'' if len(found) == 1 else 's'} in {graph_id}{replaced}")


COMMANDS = (supernode_group,)
