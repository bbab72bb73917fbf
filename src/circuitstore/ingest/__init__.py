"""AttributionGraph → Neo4j and back, one transaction per graph (see schema/data-model.md)."""

from circuitstore.ingest.delete import GraphNotFound, delete_graph
from circuitstore.ingest.load import graph_exists, list_graphs, load_graph
from circuitstore.ingest.store import GraphExists, store_graph

__all__ = ["GraphExists", "GraphNotFound", "delete_graph", "graph_exists", "list_graphs", "load_graph",
           "store_graph"]
