// Create suggested supernodes of graph $graph: $groups is [{name, members: [node id], score}],
// all of method $method. Returns how many memberships were written (the caller checks it).
// Parameters: $graph, $method, $groups.
MATCH (g:Graph {id: $graph})
UNWIND $groups AS group
CREATE (g)-[:HAS_SUPERNODE]->(s:Supernode {graph_id: $graph, name: group.name, method: $method, score: group.score})
WITH s, group
MATCH (n:Node {graph_id: $graph}) WHERE n.node_id IN group.members
CREATE (s)-[:GROUPS]->(n)
RETURN count(*) AS members
