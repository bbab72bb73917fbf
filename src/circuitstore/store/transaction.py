"""Write transactions the store commits itself, so that it decides what is worth retrying.

The driver's managed transactions retry every transient fault for about a minute, running out
of transaction memory included (Neo4j calls it transient), and log each retry to stderr. Here
deadlocks between concurrent imports and lost connections are retried the same way, quietly;
running out of memory is raised at the first try, because trying again cannot help.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from circuitstore.errors import NEO4J_OUT_OF_MEMORY
from circuitstore.neo4j_driver import neo4j

T = TypeVar("T")
# As long as the driver's own managed transactions keep trying.
RETRY_SECONDS = 30.0


def write(driver: neo4j.Driver, work: Callable[..., T], *args: object) -> T:
    """`work(tx, *args)` in one write transaction, committed; retried on transient faults but
    running out of transaction memory (see out_of_memory)."""
    deadline = time.monotonic() + RETRY_SECONDS
    delay = 0.2
    with driver.session() as session:
        while True:
            try:
                with session.begin_transaction() as tx:
                    result = work(tx, *args)
                    tx.commit()
                return result
            except (neo4j.exceptions.Neo4jError, neo4j.exceptions.DriverError) as exc:
                if out_of_memory(exc) or not exc.is_retryable() or time.monotonic() + delay > deadline:
                    raise
            time.sleep(delay * random.uniform(0.8, 1.2))  # concurrent imports: not in lockstep
            delay = min(delay * 2, 5.0)


def out_of_memory(exc: BaseException) -> bool:
    return isinstance(exc, neo4j.exceptions.Neo4jError) and exc.code == NEO4J_OUT_OF_MEMORY
