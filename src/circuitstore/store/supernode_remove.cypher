// Remove one supernode of a graph (its member nodes stay). Parameters: $graph, $name.
// Returns the removed supernode's method, or no row when the graph has no supernode so named.
MATCH (:Graph {id: $graph})-[:HAS_SUPERNODE]->(s:Supernode {name: $name})
WITH s, s.method AS method
DETACH DELETE s
RETURN method
