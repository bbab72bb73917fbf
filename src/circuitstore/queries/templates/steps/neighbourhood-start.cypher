MATCH (c:Node {graph_id: $graph, node_id: $node})
WITH c, [c] AS seen, [c] AS ring, 0 AS step
