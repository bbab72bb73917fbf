// Add a stored graph's derived facts (store/params.py derived_properties) to its nodes.
// Parameters: $graph_id, $rows [{node_id, props}], $stored_paths (paths kept per logit and length).
MATCH (g:Graph {id: $graph_id})
CALL (g) {
  UNWIND $rows AS r
  MATCH (n:Node {graph_id: $graph_id, node_id: r.node_id})
  SET n += r.props
}
SET g.stored_paths = $stored_paths
