"""docker-compose.yml, read as Docker Compose would: the same Neo4j as the local server, a
password Neo4j accepts, a healthcheck that runs a query. (No Docker engine is needed: the
password check is its own shell script, run here with bash.)"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml

from circuitstore.server import jars

COMPOSE = Path(__file__).resolve().parents[1] / "docker-compose.yml"
SERVICE = yaml.safe_load(COMPOSE.read_text())["services"]["neo4j"]


def test_the_image_is_the_local_servers_neo4j():
    assert SERVICE["image"] == f"neo4j:{jars.version('neo4j')}-community"
    env = SERVICE["environment"]
    assert env["NEO4J_PLUGINS"] == '["apoc"]' and env["NEO4J_client_allow__telemetry"] == "false"
    assert all(port.startswith("127.0.0.1:") for port in SERVICE["ports"])


def test_the_healthcheck_runs_a_query():
    test = SERVICE["healthcheck"]["test"]
    assert test[:2] == ["CMD", "cypher-shell"] and test[-1] == "RETURN 1"
    assert SERVICE["environment"]["NEO4J_USERNAME"] == "neo4j"  # cypher-shell takes NEO4J_PASSWORD too


def run_entrypoint(tmp_path: Path, password: str) -> subprocess.CompletedProcess:
    """The entrypoint's script with Compose's $$ unescaped, `tini` a stub that says it ran."""
    shell, flag, script = SERVICE["entrypoint"]
    (tmp_path / "tini").write_text('#!/bin/sh\necho started "$@"\n')
    (tmp_path / "tini").chmod(0o755)
    env = {"PATH": f"{tmp_path}:{os.environ['PATH']}", "NEO4J_PASSWORD": password}
    return subprocess.run([shell, flag, script.replace("$$", "$")], env=env, capture_output=True, text=True)


def test_a_password_shorter_than_8_characters_is_refused_with_a_message(tmp_path):
    short = run_entrypoint(tmp_path, "secret7")
    assert short.returncode == 64 and short.stdout == ""
    assert short.stderr.strip() == "NEO4J_PASSWORD has 7 characters; Neo4j needs at least 8"
    ok = run_entrypoint(tmp_path, "secret-8")
    assert ok.returncode == 0 and ok.stdout.strip() == "started -g -- /startup/docker-entrypoint.sh neo4j"
