"""The errors the store raises, each a one-line CircuitstoreError."""

from circuitstore.errors import CircuitstoreError


class GraphNotFound(CircuitstoreError, LookupError):
    """No graph is stored under the given id."""


class GraphExists(CircuitstoreError):
    """A different graph is already stored under this id (pass replace=True to swap it)."""


class GraphTooBig(CircuitstoreError):
    """Storing, replacing or deleting the graph needs more transaction memory than the server has
    (about 2 KB an edge at the peak, see memory.py: on a 1 GiB heap some 350,000 edges, on 3 GiB
    some 1,100,000)."""


class SupernodeExists(CircuitstoreError):
    """The graph already has a supernode of that name."""


class SupernodeNotFound(CircuitstoreError, LookupError):
    """The graph has no supernode of that name."""


class NodeNotFound(CircuitstoreError, LookupError):
    """A node id that names no node of the graph."""
