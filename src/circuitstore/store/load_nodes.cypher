// Every per-graph node of one graph, with all its properties.
// Parameters: $graph_id.
MATCH (n:Node {graph_id: $graph_id})
WHERE n.node_id IS NOT NULL  // always true: makes this a seek on the (graph_id, node_id) key
RETURN properties(n) AS props
