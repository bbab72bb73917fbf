"""circuitstore: keep, query and compare attribution graphs in Neo4j."""

import sys
from importlib.metadata import version as _v

__version__ = _v("circuitstore")


def _load_driver_without_dataframes() -> None:
    """The neo4j driver imports pandas and pyarrow at start-up when they are installed (the compute
    extra brings them), only to support DataFrame results we never ask for; that costs every CLI
    command about a second. Hide them while the driver loads; later imports of pandas still work."""
    if "neo4j" in sys.modules:
        return
    hidden = [name for name in ("pandas", "pyarrow") if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # makes `import name` raise ImportError
    try:
        import neo4j  # noqa: F401
    finally:
        for name in hidden:
            del sys.modules[name]


_load_driver_without_dataframes()
