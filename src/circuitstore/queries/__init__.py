"""The Cypher query library: named questions over stored attribution graphs.

Each question is one `.cypher` file in this package, runnable as-is in Neo4j Browser; its
header declares the parameters. `list_queries()` describes them, `run_query()` runs one.
"""

from circuitstore.queries.library import Param, QueryInfo, get_query, list_queries
from circuitstore.queries.runner import parse_cli_params, run_query

__all__ = ["Param", "QueryInfo", "get_query", "list_queries", "parse_cli_params", "run_query"]
