"""AttributionGraph → Neo4j and back (the data model: schema/data-model.md).

    store_graph(driver, graph, *, replace=False) -> 'created' | 'unchanged' | 'replaced'
    load_graph(driver, graph_id) -> AttributionGraph      delete_graph(driver, graph_id)
    list_graphs(driver) -> [dict]                          graph_exists(driver, graph_id) -> bool

One transaction per graph: a graph is stored whole or not at all, and replacing one swaps old for
new in that same transaction. The same content again (by fingerprint) changes nothing; different
content under a stored id raises GraphExists unless replace=True. Shared Feature and Vocab nodes
are MERGEd on their uniqueness constraints, so concurrent imports never duplicate them (deadlocks
between them are retried by the driver). Every statement is a parameterised .cypher file here.
"""

from circuitstore.ingest.delete import GraphNotFound, delete_graph
from circuitstore.ingest.load import graph_exists, list_graphs, load_graph
from circuitstore.ingest.store import GraphExists, GraphTooBig, store_graph

__all__ = [
    "GraphExists",
    "GraphNotFound",
    "GraphTooBig",
    "delete_graph",
    "graph_exists",
    "list_graphs",
    "load_graph",
    "store_graph",
]
