// One graph's ATTRIBUTION edges out of the nodes with slots in [$lo, $hi), as three parallel
// lists (one record keeps transfer cheap; slot ranges let a big graph come back in parts).
// Parameters: $graph_id, $lo, $hi.
// The hint: a cost-based planner that thinks the store small would rather scan the whole index.
MATCH (n:Node {graph_id: $graph_id})
USING INDEX SEEK n:Node(graph_id, slot)
WHERE n.slot >= $lo AND n.slot < $hi
MATCH (n)-[r:ATTRIBUTION]->(b)
RETURN collect(n.node_id) AS sources, collect(b.node_id) AS targets, collect(r.weight) AS weights
