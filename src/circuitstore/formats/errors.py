"""The one error formats raise."""

from circuitstore.errors import CircuitstoreError


class FormatError(CircuitstoreError, ValueError):
    """A graph file that cannot be read or written: one line, starting with the file's path."""
