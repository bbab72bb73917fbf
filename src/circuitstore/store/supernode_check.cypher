// Why adding supernode $name with $members to graph $graph would fail, if it would: whether the
// graph exists, the method of a supernode that already has the name (null: none), and the
// member ids that name no node of the graph.
// Parameters: $graph, $name, $members.
OPTIONAL MATCH (g:Graph {id: $graph})
OPTIONAL MATCH (s:Supernode {graph_id: $graph, name: $name})
CALL () {
  UNWIND $members AS member
  OPTIONAL MATCH (n:Node {graph_id: $graph, node_id: member})
  WITH member WHERE n IS NULL
  RETURN collect(member) AS unknown
}
RETURN g IS NOT NULL AS graph_exists, s.method AS taken_by, unknown
