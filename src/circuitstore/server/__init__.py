"""The local Neo4j server (resolve, start, stop, status) and connection settings."""

from circuitstore.server.connection import connect
from circuitstore.server.local import LocalServer, NeedsRestart

__all__ = ["LocalServer", "NeedsRestart", "connect"]
