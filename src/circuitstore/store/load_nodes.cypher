// Every per-graph node of one graph, with all its properties.
// Parameters: $graph_id.
CALL {
  MATCH (n:Token {graph_id: $graph_id}) RETURN n
  UNION ALL
  MATCH (n:Latent {graph_id: $graph_id}) RETURN n
  UNION ALL
  MATCH (n:Error {graph_id: $graph_id}) RETURN n
  UNION ALL
  MATCH (n:Logit {graph_id: $graph_id}) RETURN n
}
RETURN properties(n) AS props
