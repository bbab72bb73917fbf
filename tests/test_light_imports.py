"""torch, transformer-lens and sae-lens serve compute/ alone, and the neo4j driver the parts that
talk to Neo4j: the store, the queries and the CLI must import without torch (nor pandas, which
the driver would otherwise load), and the graph type, the file formats and the torch-free parts
of the computation without torch or the driver."""

from __future__ import annotations

import subprocess
import sys

import pytest

_CHECK = """
import sys
{imports}
heavy = sorted(m for m in sys.modules if m.split('.')[0] in {banned!r})
print(' '.join(heavy))
"""
TORCH = ("torch", "transformer_lens", "sae_lens")
DATAFRAMES = ("pandas", "pyarrow")


def loaded(imports: str, banned: tuple[str, ...]) -> list[str]:
    code = _CHECK.format(imports=imports, banned=banned)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return proc.stdout.split()


def test_store_queries_and_cli_do_not_load_torch():
    imports = (
        "import circuitstore.cli, circuitstore.server, circuitstore.schema, circuitstore.records\n"
        "import circuitstore.store, circuitstore.store.importer, circuitstore.queries, circuitstore.formats"
    )
    assert loaded(imports, TORCH + DATAFRAMES) == []


@pytest.mark.parametrize(
    "module",
    ["graph", "formats", "pruning", "identity", "settings", "interventions", "prediction"],
    ids=lambda m: f"circuitstore.{m}",
)
def test_graph_formats_and_torch_free_parts_load_neither_torch_nor_neo4j(module):
    assert loaded(f"import circuitstore.{module}", TORCH + DATAFRAMES + ("neo4j",)) == []


def test_pandas_still_imports_after_the_driver():
    code = "import circuitstore.cli, pandas; print(pandas.__name__)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "pandas"
