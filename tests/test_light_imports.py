"""torch, transformer-lens and sae-lens serve compute/ alone: the store, the queries and the CLI
must import without them (nor pandas, which the neo4j driver would otherwise load)."""

from __future__ import annotations

import subprocess
import sys

_CHECK = """
import sys
import circuitstore.cli, circuitstore.server, circuitstore.schema, circuitstore.records
import circuitstore.ingest, circuitstore.queries, circuitstore.formats
heavy = sorted(
    m for m in sys.modules if m.split('.')[0] in ('torch', 'transformer_lens', 'sae_lens', 'pandas', 'pyarrow')
)
print(' '.join(heavy))
"""


def test_store_queries_and_cli_do_not_load_torch():
    proc = subprocess.run([sys.executable, "-c", _CHECK], capture_output=True, text=True, check=True)
    assert proc.stdout.split() == []


def test_pandas_still_imports_after_the_driver():
    code = "import circuitstore.cli, pandas; print(pandas.__name__)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "pandas"
