"""The real attribution graphs shared beside the repository (../shared/graphs), for tests and
benchmarks: one place that says where they are.

A clone made somewhere else (`git clone /work/main /tmp/x`) has no ../shared of its own; it then
reads the folder beside the repository it was cloned from. $CIRCUITSTORE_SHARED names another."""

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _shared() -> Path:
    beside = REPO.parent / "shared"
    if os.environ.get("CIRCUITSTORE_SHARED"):
        return Path(os.environ["CIRCUITSTORE_SHARED"])
    if beside.is_dir():
        return beside
    origin = subprocess.run(
        ["git", "-C", str(REPO), "config", "--get", "remote.origin.url"], capture_output=True, text=True
    ).stdout.strip()
    if origin and Path(origin).is_absolute() and (Path(origin).parent / "shared").is_dir():
        return Path(origin).parent / "shared"
    return beside  # missing: reads then name the place the files were expected


SHARED = _shared()
GRAPHS_DIR = SHARED / "graphs"
GRAPH_FILES = sorted(GRAPHS_DIR.glob("*/*.json"))
SCHEMA_FILE = GRAPHS_DIR / "neuronpedia-graph-schema.json"
