// Every ATTRIBUTION edge of one graph, as three parallel lists (one record keeps transfer cheap).
// Parameters: $graph_id.
MATCH (n:Node {graph_id: $graph_id})
WHERE n.node_id IS NOT NULL  // always true: makes this a seek on the (graph_id, node_id) key
MATCH (n)-[r:ATTRIBUTION]->(b)
RETURN collect(n.node_id) AS sources, collect(b.node_id) AS targets, collect(r.weight) AS weights
