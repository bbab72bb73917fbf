// Add a supernode to a stored graph by hand: $name, and $members, the node ids (as in the
// graph's JSON) of the nodes it groups, each once. Creates nothing, and returns no row, when
// the graph or any member is unknown; a name the graph already has fails on the supernode key.
// Parameters: $graph, $name, $members. Returns the supernode's name and how many members it has.
MATCH (g:Graph {id: $graph})
OPTIONAL MATCH (n:Node {graph_id: $graph}) WHERE n.node_id IN $members
WITH g, collect(n) AS nodes
WHERE size(nodes) = size($members)
CREATE (g)-[:HAS_SUPERNODE]->(s:Supernode {graph_id: $graph, name: $name, method: 'manual'})
FOREACH (n IN nodes | CREATE (s)-[:GROUPS]->(n))
RETURN s.name AS supernode, size(nodes) AS members
