// How many edges a stored graph has (no row: no such graph). Parameters: $graph_id.
MATCH (g:Graph {id: $graph_id})
RETURN g.n_edges AS edges
