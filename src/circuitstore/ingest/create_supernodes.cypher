// Create a graph's supernodes and their GROUPS links.
// Parameters: $graph_id, $supernodes [{name, members: [elementId]}].
MATCH (g:Graph {id: $graph_id})
UNWIND $supernodes AS sn
CREATE (g)-[:HAS_SUPERNODE]->(s:Supernode {graph_id: $graph_id, name: sn.name})
WITH s, sn
UNWIND sn.members AS m
MATCH (n) WHERE elementId(n) = m
CREATE (s)-[:GROUPS]->(n)
