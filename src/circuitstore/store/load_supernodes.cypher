// One graph's supernodes with their member node ids.
// Parameters: $graph_id.
MATCH (:Graph {id: $graph_id})-[:HAS_SUPERNODE]->(s:Supernode)
OPTIONAL MATCH (s)-[:GROUPS]->(m)
RETURN s.name AS name, collect(m.node_id) AS members
