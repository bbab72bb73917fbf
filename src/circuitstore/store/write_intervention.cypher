// Store one intervention's result, replacing an earlier result of the same id (the same request
// again): the :Intervention node ON its graph, TARGETS each node or supernode it names, and
// CHANGED on each logit node it reports.
// Parameters:
//   $props     the :Intervention properties (id and graph_id among them)
//   $targets   [{role, graph_id, node_id, supernode}]: what each name is, a node (node_id set)
//              or a supernode (supernode set), of the graph intervened on or the swap graph
//   $changes   [{graph_id, node_id, before, measured, predicted}]: one per logit node reported,
//              the graph's and then the swap graph's of tokens the graph has no logit node for
// Returns the intervention's id.
MATCH (g:Graph {id: $props.graph_id})
OPTIONAL MATCH (old:Intervention {id: $props.id})
DETACH DELETE old
WITH DISTINCT g
CREATE (i:Intervention)-[:ON]->(g)
SET i = $props
WITH i
CALL (i) {
  UNWIND $targets AS t
  OPTIONAL MATCH (n:Node {graph_id: t.graph_id, node_id: t.node_id})
  OPTIONAL MATCH (s:Supernode {graph_id: t.graph_id, name: t.supernode})
  WITH t, coalesce(n, s) AS x
  CREATE (i)-[:TARGETS {role: t.role}]->(x)
}
CALL (i) {
  UNWIND $changes AS c
  MATCH (o:Node {graph_id: c.graph_id, node_id: c.node_id})
  CREATE (i)-[:CHANGED {before: c.before, measured: c.measured, predicted: c.predicted}]->(o)
}
RETURN i.id AS id
