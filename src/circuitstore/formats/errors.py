"""The one error formats raise."""

from circuitstore.errors import CircuitstoreError


class FormatError(CircuitstoreError, ValueError):
    """A graph file that cannot be read or written: one line, starting with the file's path."""


class NotAGraphFile(FormatError):
    """JSON that is no graph file at all (not an object with metadata, nodes or links): in a
    folder of graphs, something else that lives there, such as a schema."""
