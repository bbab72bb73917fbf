"""How much of Neo4j's transaction memory a write needs, and how much the server gives: a graph
too big for one transaction is refused before anything is sent, in one line.

Neo4j holds a transaction's whole state in the pool `dbms.memory.transaction.total.max` (70% of
the heap unless set) until it commits, and committing roughly doubles it. Peak per edge,
measured on Neo4j 5.26 with this store's statements (SHOW TRANSACTIONS' estimatedUsedHeapMemory
sampled through the commit, synthetic graphs of 100k-500k edges): storing a graph 1.8-1.9 KB,
deleting one 2.05-2.13 KB, so 2 KB and 2.2 KB here; replacing does both in one transaction.
"""

from __future__ import annotations

import math
import re
import weakref

from circuitstore.neo4j_driver import neo4j
from circuitstore.store.cypher import cypher
from circuitstore.store.errors import GraphTooBig

STORE_BYTES_PER_EDGE = 2000
DELETE_BYTES_PER_EDGE = 2200
_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
_pools: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def transaction_pool(driver: neo4j.Driver) -> int | None:
    """The server's transaction memory pool in bytes (asked once per driver); None if it has
    no limit or does not say."""
    if driver not in _pools:
        try:
            records, _, _ = driver.execute_query(cypher("transaction_pool"), routing_=neo4j.RoutingControl.READ)
            _pools[driver] = parse_bytes(records[0]["value"]) if records else None
        except neo4j.exceptions.Neo4jError:  # not allowed to look: no check
            _pools[driver] = None
    return _pools[driver]


def parse_bytes(text: str) -> int | None:
    """`716.80MiB` → bytes; `0B` (no limit) → None."""
    found = re.fullmatch(r"\s*([\d.]+)\s*([KMGT]?)i?B\s*", text or "")
    if not found:
        return None
    size = round(float(found[1]) * _UNITS[found[2]])
    return size or None


def check_fits(pool: int | None, graph_id: str, what: str, needed: int) -> None:
    """Raise GraphTooBig if a transaction needing `needed` bytes cannot fit a pool of `pool`."""
    if pool is None or needed <= pool:
        return
    raise GraphTooBig(
        f"graph {graph_id!r}: {what} needs about {needed / 2**20:,.0f} MiB of Neo4j's transaction memory, "
        f"more than the server's {pool / 2**20:,.0f} MiB; {more_heap(needed)}"
    )


def more_heap(needed: int | None = None) -> str:
    """What to do about it: a heap whose pool (70% of it) holds `needed` bytes."""
    heap = f"{math.ceil(needed / 0.7 / 2**30) + 1}g" if needed else "8g"
    return f"give the server more heap (circuitstore server start --heap {heap} --restart)"
