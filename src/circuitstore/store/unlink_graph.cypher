// Drop a graph's links to Model and TranscoderSet before write_graph.cypher writes them anew.
// Parameters: $graph_id.
MATCH (:Graph {id: $graph_id})-[r:OF_MODEL|USES]->()
DELETE r
