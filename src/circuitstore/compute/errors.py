"""Faults of the compute layer: each names what is wrong and what to change."""

from circuitstore.errors import CircuitstoreError


class ComputeError(CircuitstoreError, ValueError):
    """A model or transcoder set that cannot be loaded or does not fit together."""


class PromptError(ComputeError):
    """A prompt that cannot be attributed (empty, longer than the context); others may go on."""
