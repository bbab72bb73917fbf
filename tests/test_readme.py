"""The README's tour is run as written: every shell command (against the test server, from a
scratch directory), the Cypher blocks the way Browser runs them, and the Python example."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from tests.clirun import SCRIPT, clean_env
from tests.conftest import REPO, TEST_HOME
from tests.data import SHARED

TOUR = re.search(r"^## A five-minute tour$(.*?)^## ", (REPO / "README.md").read_text(), re.M | re.S)[1]
BLOCKS = re.findall(r"^```(sh|cypher|python)\n(.*?)^```$", TOUR, re.M | re.S)


def commands(block: str) -> list[str]:
    """The block's commands, continuation lines joined, comments left to the shell."""
    return [c.strip() for c in block.replace("\\\n", " ").splitlines() if c.strip()]


@pytest.fixture
def env(store):
    """The tour's commands find the test server as their local server (its home holds the
    password and ports), or the test database NEO4J_URI names; no desktop, so `browser` only
    prints."""
    base = {k: v for k, v in clean_env().items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    outside = {k: os.environ[k] for k in ("NEO4J_URI", "NEO4J_USER", "NEO4J_PASSWORD") if k in os.environ}
    return {**base, **outside, "CIRCUITSTORE_HOME": str(TEST_HOME)}


@pytest.mark.slow
def test_every_command_of_the_tour_runs(env, store, tmp_path):
    kinds = [kind for kind, _ in BLOCKS]
    assert kinds.count("sh") >= 4 and "cypher" in kinds and "python" in kinds
    params = {}
    for kind, block in BLOCKS:
        if kind == "sh":
            for command in commands(block):
                # As from the repository root, but writing into a scratch directory.
                line = command.replace(".venv/bin/", f"{SCRIPT.parent}/").replace("../shared/", f"{SHARED}/")
                proc = subprocess.run(
                    line, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900
                )
                assert proc.returncode == 0, (command, proc.stdout[-2000:], proc.stderr[-2000:])
                assert "error" not in proc.stderr.lower(), (command, proc.stderr)
        elif kind == "cypher":
            # Browser runs `:param NAME => VALUE` as `RETURN VALUE AS NAME`, and the rest as it is.
            set_param = re.fullmatch(r":param (\w+) => (.*)", block.strip())
            if set_param:
                name, value = set_param.groups()
                params[name] = store.execute_query(f"RETURN {value} AS v").records[0]["v"]
            else:
                assert store.execute_query(block, params).records, block
        else:
            proc = subprocess.run(
                [str(SCRIPT.with_name("python")), "-c", block + "\nprint(len(rows))"],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert proc.returncode == 0 and int(proc.stdout.split()[-1]) > 0, proc.stderr
    assert (tmp_path / "dallas-austin-paths.svg").stat().st_size > 1000
