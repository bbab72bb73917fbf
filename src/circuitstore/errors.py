"""The one exception type users see: a one-line message, printed by the CLI without a traceback."""


class CircuitstoreError(Exception):
    """A fault the user can act on (bad input, a missing server, a wrong password)."""
