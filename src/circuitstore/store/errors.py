"""The errors the store raises, each a one-line CircuitstoreError."""

from circuitstore.errors import CircuitstoreError


class GraphNotFound(CircuitstoreError, LookupError):
    """No graph is stored under the given id."""


class GraphExists(CircuitstoreError):
    """A different graph is already stored under this id (pass replace=True to swap it)."""


class GraphTooBig(CircuitstoreError):
    """Storing the graph needs more transaction memory than the server has (on a 1 GiB heap, about
    700 bytes an edge: some 700,000 edges)."""
