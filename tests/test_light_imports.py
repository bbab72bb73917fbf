"""torch, transformer-lens and sae-lens serve compute/ alone: the store, the queries and the CLI
must import without them."""

from __future__ import annotations

import subprocess
import sys

_CHECK = """
import sys
import circuitstore.cli, circuitstore.server, circuitstore.schema, circuitstore.records
import circuitstore.ingest, circuitstore.queries, circuitstore.formats
heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformer_lens', 'sae_lens'))
print(' '.join(heavy))
"""


def test_store_queries_and_cli_do_not_load_torch():
    proc = subprocess.run([sys.executable, "-c", _CHECK], capture_output=True, text=True, check=True)
    assert proc.stdout.split() == []

