// Delete the :Graph node itself (its nodes go first, via delete_graph_nodes.cypher).
// Parameters: $graph_id. Returns how many Graph nodes were deleted (0 or 1).
MATCH (g:Graph {id: $graph_id})
DETACH DELETE g
RETURN count(g) AS deleted
