// Whether a graph with this id is stored. Parameters: $graph_id.
OPTIONAL MATCH (g:Graph {id: $graph_id})
RETURN g IS NOT NULL AS exists
