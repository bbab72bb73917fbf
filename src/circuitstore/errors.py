"""The one exception type users see: a one-line message, printed by the CLI without a traceback."""

import re

# Neo4j's code for a transaction that outgrew dbms.memory.transaction.total.max. The driver
# counts it transient and retries it for about a minute; retrying cannot help.
NEO4J_OUT_OF_MEMORY = "Neo.TransientError.General.MemoryPoolOutOfMemoryError"


def memory_limit(message: str | None) -> str | None:
    """The limit a Neo4j out-of-memory message names (`716.8 MiB`), if it names one."""
    found = re.search(r"limit ([\d.]+ ?\w+)", message or "")
    return found[1] if found else None


class CircuitstoreError(Exception):
    """A fault the user can act on (bad input, a missing server, a wrong password)."""


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (Neo4j's syntax errors and library errors span several)."""
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return next((ln.strip() for ln in str(text).splitlines() if ln.strip()), type(exc).__name__)
