// _check_node: does graph $graph have a node with id $node? Returns one `problem` with the
// graph's size and its input and output node ids if not.
// @param graph string: graph id
// @param node string: node id within the graph
MATCH (g:Graph {id: $graph})
OPTIONAL MATCH (n:Node {graph_id: $graph, node_id: $node})
WITH g, n WHERE n IS NULL
CALL () {
  MATCH (x:Node {graph_id: $graph})
  WHERE x.node_id IS NOT NULL AND (x:Token OR x:Logit)
  WITH x ORDER BY x.kind DESC, x.position
  RETURN collect(x.node_id + " (" + x.name + ")") AS ends
}
RETURN ["graph \"" + $graph + "\" has no node \"" + $node + "\"; it has " + toString(g.n_nodes)
        + " nodes, among them the tokens and logits: ", ends] AS problem
