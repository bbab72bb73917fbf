// supernode-graph: one graph collapsed to its supernodes, with summed edge weights between groups.
//
// Each node stands for its supernode (a node in several supernodes: the first name in
// alphabetical order). Ungrouped nodes stand for themselves (named by their caption) and are kept
// when they are input tokens or logits, or when their stored influence is at most $influence
// (circuit-tracer's cumulative influence, LOWER is MORE influential: 0.5 keeps the nodes that
// carry the first half of the graph's influence); nodes without a stored influence are kept.
// Edges between two kept groups are summed (weight) and counted (edges); edges within a group
// and edges touching dropped nodes are left out.
//
// @param graph string: graph id
// @param influence float = 0.5 (min 0, max 1): keep ungrouped nodes with stored influence at most this
// @check graph
// @example :param graph => "capital-state-dallas"; :param influence => 0.5
// node_id IS NOT NULL is always true: it makes the lookup a seek on the (graph_id, node_id) key.
MATCH (u:Node {graph_id: $graph})-[r:ATTRIBUTION]->(v)
WHERE u.node_id IS NOT NULL
CALL (u) {
  OPTIONAL MATCH (u)<-[:GROUPS]-(s)
  RETURN min(s.name) AS gu
}
CALL (v) {
  OPTIONAL MATCH (v)<-[:GROUPS]-(s)
  RETURN min(s.name) AS gv
}
WITH r, coalesce(gu, u.name) AS source, gu IS NOT NULL AS source_grouped,
     coalesce(gv, v.name) AS target, gv IS NOT NULL AS target_grouped
WHERE source <> target
  AND (gu IS NOT NULL OR u:Token OR u:Logit OR coalesce(u.influence <= $influence, true))
  AND (gv IS NOT NULL OR v:Token OR v:Logit OR coalesce(v.influence <= $influence, true))
RETURN source, source_grouped, target, target_grouped, sum(r.weight) AS weight, count(r) AS edges
ORDER BY abs(weight) DESC, source, target
