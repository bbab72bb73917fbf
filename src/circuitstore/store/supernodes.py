"""A stored graph's supernodes: adding and removing them by hand, listing them, and storing a
method's suggestions beside them.

Every supernode has a `method`: "imported" (it came with the graph's file), "manual" (added
here or with the data model's Browser statement) or the name of the method that suggested it;
suggestions also have a `score`. Storing a method's suggestions replaces that method's earlier
ones and nothing else, and takes no name another supernode of the graph has (the caller makes
names unique, naming.unique_names), so suggestions never clobber imported or manual
supernodes. Each call is one transaction: on any error nothing is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from circuitstore.errors import CircuitstoreError
from circuitstore.graph import check_text
from circuitstore.neo4j_driver import neo4j
from circuitstore.store.cypher import cypher
from circuitstore.store.errors import GraphNotFound, NodeNotFound, SupernodeExists, SupernodeNotFound
from circuitstore.store.load import graph_exists
from circuitstore.supernodes import HAND_MADE
from circuitstore.supernodes.suggest import Suggestion


def _quoted(ids: Sequence[str]) -> str:
    return ", ".join(repr(i) for i in ids)


def add_supernode(driver: neo4j.Driver, graph_id: str, name: str, members: Sequence[str]) -> int:
    """Add a manual supernode; return how many members it has. Raises GraphNotFound,
    SupernodeExists or NodeNotFound (nothing written) when the graph, the name or a member is
    wrong, and a one-line error for a blank name or one with a control character."""
    if not name.strip():
        raise CircuitstoreError("a supernode needs a name that is not blank")
    check_text(name, "supernode name", trimmed=False)  # as a graph file's supernode names
    members = list(dict.fromkeys(members))
    if not members:
        raise CircuitstoreError(f"supernode {name!r} needs at least one member node")

    def work(tx: neo4j.ManagedTransaction) -> int:
        check = tx.run(cypher("supernode_check"), graph=graph_id, name=name, members=members).single(strict=True)
        if not check["graph_exists"]:
            raise GraphNotFound(f"no graph {graph_id!r} is stored")
        if check["taken_by"] is not None:
            raise SupernodeExists(
                f"graph {graph_id!r} already has a supernode named {name!r} ({check['taken_by']}); "
                "remove it first or choose another name"
            )
        if check["unknown"]:
            unknown = check["unknown"]
            raise NodeNotFound(
                f"graph {graph_id!r} has no node{'s' if len(unknown) > 1 else ''} {_quoted(unknown)} "
                "(give node ids as in the graph's JSON)"
            )
        return tx.run(cypher("supernode_add"), graph=graph_id, name=name, members=members).single(strict=True)[
            "members"
        ]

    with driver.session() as session:
        return session.execute_write(work)


def remove_supernode(driver: neo4j.Driver, graph_id: str, name: str) -> str:
    """Remove one supernode (of any method); return its method."""

    def work(tx: neo4j.ManagedTransaction) -> str:
        row = tx.run(cypher("supernode_remove"), graph=graph_id, name=name).single()
        if row is not None:
            return row["method"]
        names = [r["name"] for r in tx.run(cypher("supernode_list"), graph=graph_id)]
        if not names and not tx.run(cypher("graph_exists"), graph_id=graph_id).single(strict=True)["exists"]:
            raise GraphNotFound(f"no graph {graph_id!r} is stored")
        has = f"its supernodes are: {', '.join(names)}" if names else "it has no supernodes"
        raise SupernodeNotFound(f"graph {graph_id!r} has no supernode named {name!r}; {has}")

    with driver.session() as session:
        return session.execute_write(work)


def list_supernodes(driver: neo4j.Driver, graph_id: str) -> list[dict[str, Any]]:
    """One row per supernode: name, method, score, members (node ids)."""
    records, _, _ = driver.execute_query(cypher("supernode_list"), graph=graph_id, routing_=neo4j.RoutingControl.READ)
    if not records and not graph_exists(driver, graph_id):
        raise GraphNotFound(f"no graph {graph_id!r} is stored")
    return [r.data() for r in records]


def save_suggestions(driver: neo4j.Driver, graph_id: str, method: str, suggestions: Sequence[Suggestion]) -> int:
    """Replace method `method`'s stored suggestions for the graph with `suggestions`; return how
    many were removed. Raises SupernodeExists when a name is another supernode's."""
    if method in HAND_MADE:
        raise CircuitstoreError(f"{method!r} names hand-made supernodes, not a grouping method")
    groups = [{"name": s.name, "members": list(s.members), "score": s.score} for s in suggestions]

    def work(tx: neo4j.ManagedTransaction) -> int:
        if not tx.run(cypher("graph_exists"), graph_id=graph_id).single(strict=True)["exists"]:
            raise GraphNotFound(f"no graph {graph_id!r} is stored")
        removed = tx.run(cypher("supernodes_clear"), graph=graph_id, method=method).single(strict=True)["removed"]
        others = {r["name"]: r["method"] for r in tx.run(cypher("supernode_list"), graph=graph_id)}
        clash = [g["name"] for g in groups if g["name"] in others]
        if clash:
            raise SupernodeExists(
                f"graph {graph_id!r} already has supernodes named {_quoted(clash)} "
                f"({', '.join(sorted({others[n] for n in clash}))})"
            )
        written = tx.run(cypher("supernodes_create"), graph=graph_id, method=method, groups=groups).single(strict=True)[
            "members"
        ]
        expected = sum(len(g["members"]) for g in groups)
        if written != expected:
            raise NodeNotFound(f"graph {graph_id!r} changed while its supernodes were suggested; suggest again")
        return removed

    with driver.session() as session:
        return session.execute_write(work)
