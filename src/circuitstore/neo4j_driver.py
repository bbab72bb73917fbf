"""The neo4j driver, loaded without pandas and without log noise. Every module that talks to
Neo4j imports it from here (`from circuitstore.neo4j_driver import neo4j`), never directly: the
first import decides.

The driver logs each retry of a transaction ("Transaction failed and will be retried in ...")
and each dropped connection as warnings, which Python prints to stderr when nothing configures
logging; what finally fails reaches the user once, as an exception. A NullHandler on the
`neo4j` logger keeps them quiet, as libraries should, and an application that configures
logging still gets them.

The driver imports pandas and pyarrow at start-up when they are installed (the compute extra
brings them), only to support DataFrame results we never ask for; that costs every CLI command
about a second. They are hidden while the driver loads; later imports of pandas still work.
"""

import logging
import sys


def _load_without_dataframes() -> None:
    hidden = [name for name in ("pandas", "pyarrow") if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # makes `import name` raise ImportError
    try:
        import neo4j.exceptions  # noqa: F401  (the package, and the submodules used as neo4j.x)
        import neo4j.graph  # noqa: F401
    finally:
        for name in hidden:
            del sys.modules[name]


if "neo4j" not in sys.modules:
    _load_without_dataframes()
    logging.getLogger("neo4j").addHandler(logging.NullHandler())

import neo4j

__all__ = ["neo4j"]
