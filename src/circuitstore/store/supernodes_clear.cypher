// Remove every supernode of graph $graph that method $method suggested (the store never asks
// this of "imported" or "manual"). Returns how many went.
// Parameters: $graph, $method.
MATCH (:Graph {id: $graph})-[:HAS_SUPERNODE]->(s:Supernode {method: $method})
DETACH DELETE s
RETURN count(*) AS removed
