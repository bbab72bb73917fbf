"""Which Neo4j to talk to, with what credentials, and a verified driver to it."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from circuitstore.errors import CircuitstoreError, one_line
from circuitstore.neo4j_driver import neo4j
from circuitstore.server.local import LocalServer

_SCHEMES = ("bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc")


def connect(
    uri: str | None = None, *, user: str | None = None, password: str | None = None, home: str | None = None
) -> neo4j.Driver:
    """A driver whose connectivity and credentials have been checked.

    The target is `uri`, else $NEO4J_URI, else the local server in `home` (else
    $CIRCUITSTORE_HOME, else the default home), at its saved Bolt port. The user
    is `user`, else $NEO4J_USER, else `neo4j`; the password is `password`, else $NEO4J_PASSWORD,
    else the local server's password file (only when the target is the local server, so its
    password is never sent elsewhere). Faults become one-line CircuitstoreErrors.
    """
    local = LocalServer(home)
    uri = uri or os.environ.get("NEO4J_URI") or local.bolt_uri
    parts = urlsplit(uri)
    if parts.scheme not in _SCHEMES:
        raise CircuitstoreError(f"bad Neo4j URI {uri!r}: expected one of {', '.join(s + '://' for s in _SCHEMES)}")
    try:
        is_local = parts.hostname in ("127.0.0.1", "localhost") and parts.port == local.settings().bolt_port
    except ValueError:
        raise CircuitstoreError(f"bad Neo4j URI {uri!r}: bad port") from None
    user = user or os.environ.get("NEO4J_USER") or "neo4j"
    password = password or os.environ.get("NEO4J_PASSWORD") or (local.password() if is_local else None)
    if password is None:
        if is_local:
            raise CircuitstoreError(
                f"the local Neo4j server has no password yet ({local.password_file} is missing); "
                "start it with `circuitstore server start`, or set NEO4J_URI and NEO4J_PASSWORD"
            )
        raise CircuitstoreError(f"no password for {uri}: set NEO4J_PASSWORD")
    try:
        # Notifications off: the driver would log every "unknown label" hint to stderr.
        driver = neo4j.GraphDatabase.driver(
            uri, auth=(user, password), connection_timeout=10, notifications_min_severity="OFF"
        )
    except (neo4j.exceptions.ConfigurationError, ValueError) as exc:
        raise CircuitstoreError(f"bad Neo4j URI {uri!r}: {exc}") from None
    try:
        driver.verify_connectivity()
    except neo4j.exceptions.AuthError:
        driver.close()
        raise CircuitstoreError(
            f"Neo4j at {uri} refused user {user!r}: wrong password "
            "(NEO4J_PASSWORD, or the local server's password file)"
        ) from None
    except neo4j.exceptions.ServiceUnavailable:
        driver.close()
        hint = "start it with `circuitstore server start`" if is_local else "is it running?"
        raise CircuitstoreError(f"cannot reach Neo4j at {uri}; {hint}") from None
    except (neo4j.exceptions.Neo4jError, neo4j.exceptions.DriverError, OSError) as exc:
        driver.close()
        raise CircuitstoreError(f"cannot connect to Neo4j at {uri}: {one_line(exc)}") from None
    return driver
