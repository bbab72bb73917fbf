"""Run the real `circuitstore` console script in a subprocess, as a user would."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import click.testing

SCRIPT = Path(sys.executable).with_name("circuitstore")
# Variables that would point a command at some other server or home than the test means.
_OUTSIDE = (
    "NEO4J_URI",
    "NEO4J_USER",
    "NEO4J_PASSWORD",
    "CIRCUITSTORE_HOME",
    "CIRCUITSTORE_BOLT_PORT",
    "CIRCUITSTORE_HTTP_PORT",
    "CIRCUITSTORE_HEAP",
    "CIRCUITSTORE_PAGECACHE",
)


def clean_env() -> dict[str, str]:
    """This process's environment without the variables that would point a command elsewhere."""
    return {k: v for k, v in os.environ.items() if k not in _OUTSIDE}


def cli(
    *args: str, env: dict[str, str] | None = None, input_text: str | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    base = clean_env()
    return subprocess.run(
        [str(SCRIPT), *args],
        env={**base, **(env or {})},
        input=input_text,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_one_line_error(proc: subprocess.CompletedProcess | click.testing.Result, *fragments: str) -> str:
    """The command (a subprocess, or click's CliRunner result) failed with a single `error: ...`
    line naming each fragment, no traceback."""
    code = proc.returncode if isinstance(proc, subprocess.CompletedProcess) else proc.exit_code
    assert code == 1, (code, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
