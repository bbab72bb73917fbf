// One stored graph's :Graph properties, or no row when the id is unknown.
// Parameters: $graph_id.
MATCH (g:Graph {id: $graph_id})
RETURN properties(g) AS graph
