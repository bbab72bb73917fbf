"""The real attribution graphs shared beside the repository (../shared/graphs), for tests."""

from pathlib import Path

GRAPHS_DIR = Path(__file__).parents[1].parent / "shared" / "graphs"
GRAPH_FILES = sorted(GRAPHS_DIR.glob("*/*.json"))
SCHEMA_FILE = GRAPHS_DIR / "neuronpedia-graph-schema.json"
