"""The Neo4j store: AttributionGraph → Neo4j and back (the data model: schema/data-model.md).

    store_graph(driver, graph, *, replace=False) -> 'created' | 'unchanged' | 'replaced'
    load_graph(driver, graph_id) -> AttributionGraph      delete_graph(driver, graph_id)
    list_graphs(driver) -> [dict]                          graph_exists(driver, graph_id) -> bool
    store_intervention(driver, result) -> intervention id  (circuitstore.interventions.Result)

importer.py stores many graph files at once (what `circuitstore import` runs); errors.py holds
the errors the store raises.

One transaction per graph: a graph is stored whole or not at all, and replacing one swaps old for
new in that same transaction. The same content again (by fingerprint) changes nothing; different
content under a stored id raises GraphExists unless replace=True. Shared Feature and Vocab nodes
are MERGEd on their uniqueness constraints, so concurrent imports never duplicate them (deadlocks
between them are retried by the driver); the labels of the Features a graph touches are derived
again, in the same transaction, from every graph that carries them (labels.py). Every statement
is a parameterised .cypher file here.
"""

from circuitstore.store.delete import delete_graph
from circuitstore.store.errors import GraphExists, GraphNotFound, GraphTooBig
from circuitstore.store.interventions import store_intervention
from circuitstore.store.load import graph_exists, list_graphs, load_graph
from circuitstore.store.write import store_graph

__all__ = [
    "GraphExists",
    "GraphNotFound",
    "GraphTooBig",
    "delete_graph",
    "graph_exists",
    "list_graphs",
    "load_graph",
    "store_graph",
    "store_intervention",
]
