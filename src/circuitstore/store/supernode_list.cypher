// A graph's supernodes: name, method (imported, manual, or the method that suggested it),
// score (suggestions only) and member node ids in position, layer, id order.
// Parameters: $graph.
MATCH (:Graph {id: $graph})-[:HAS_SUPERNODE]->(s:Supernode)
OPTIONAL MATCH (s)-[:GROUPS]->(n)
WITH s, n ORDER BY n.position, n.layer, n.node_id
RETURN s.name AS name, s.method AS method, s.score AS score, collect(n.node_id) AS members
ORDER BY name
