// Every ATTRIBUTION edge of one graph, as three parallel lists (one record keeps transfer cheap).
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
MATCH (n)-[r:ATTRIBUTION]->(b)
RETURN collect(n.node_id) AS sources, collect(b.node_id) AS targets, collect(r.weight) AS weights
