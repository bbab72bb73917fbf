// supernode-graph: one graph collapsed to its supernodes, with summed edge weights between groups.
//
// Each node stands for its group: its supernode, or with $families its Feature's feature family
// built by that method (the same names in every graph of the transcoder set: "the Texas group"
// across prompts). $methods picks the supernodes by what made them (imported, manual,
// edge-profile, evidence; default: all); a node in several stands for the first, hand-made
// (imported, manual) before suggested, then by name. Ungrouped nodes stand for themselves
// (named by their caption) and are kept when they are input tokens or logits, or when their
// stored influence is at most $influence (circuit-tracer's cumulative influence, LOWER is MORE
// influential: 0.5 keeps the nodes that carry the first half of the graph's influence); nodes
// without a stored influence are kept. Edges between two kept groups are summed (weight) and
// counted (edges); edges within a group and edges touching dropped nodes are left out.
//
// Generated from templates/supernode-graph.cypher: edit that, then run `python -m circuitstore.queries.generate`.
//
// @param graph string: graph id
// @param influence float = 0.5 (min 0, max 1): keep ungrouped nodes with stored influence at most this
// @param methods list = null (min 1, max 4): only the supernodes of these methods, e.g. imported,manual or evidence
// @param families string = null: group by the feature families this method built (hand-made, edge-profile, evidence)
// @check graph
// @example :param graph => "capital-state-dallas"; :param influence => 0.5; :param methods => null; :param families => null
// The graph's edges between groups: a and b the group (or the ungrouped node) at each end,
// grouped_a and grouped_b whether it is a group, w and n the edges' summed weight and count.
// Ungrouped nodes are kept when they are tokens or logits or their stored influence is at most
// $influence. Each node's group is looked up once, not once per edge: the sources' first, then
// the edges summed per (source group, target), then each target's.
// node_id IS NOT NULL is always true: it makes the lookup a seek on the (graph_id, node_id) key.
MATCH (u:Node {graph_id: $graph})
WHERE u.node_id IS NOT NULL
// the group u stands for: its first supernode of $methods (hand-made before suggested,
// then by name), or with $families its Feature's family built by that method (null: none)
CALL (u) {
  OPTIONAL MATCH (u)<-[:GROUPS]-(s:Supernode)
  WHERE $families IS NULL AND ($methods IS NULL OR s.method IN $methods)
  WITH s ORDER BY CASE WHEN s.method IN ["imported", "manual"] THEN 0 ELSE 1 END, s.name
  WITH head(collect(s)) AS supernode
  OPTIONAL MATCH (u)-[:INSTANCE_OF]->(:Feature)<-[:INCLUDES]-(x:FeatureFamily {method: $families})
  WITH supernode, x ORDER BY x.name
  WITH supernode, head(collect(x)) AS family
  RETURN coalesce(supernode, family) AS gu
}
WITH u, coalesce(gu, u) AS a, gu IS NOT NULL AS grouped_a
WHERE grouped_a OR u:Token OR u:Logit OR coalesce(u.influence <= $influence, true)
MATCH (u)-[r:ATTRIBUTION]->(v)
WITH a, grouped_a, v, sum(r.weight) AS w, count(r) AS n
WITH v, collect({a: a, grouped_a: grouped_a, w: w, n: n}) AS ins
// the group v stands for: its first supernode of $methods (hand-made before suggested,
// then by name), or with $families its Feature's family built by that method (null: none)
CALL (v) {
  OPTIONAL MATCH (v)<-[:GROUPS]-(s:Supernode)
  WHERE $families IS NULL AND ($methods IS NULL OR s.method IN $methods)
  WITH s ORDER BY CASE WHEN s.method IN ["imported", "manual"] THEN 0 ELSE 1 END, s.name
  WITH head(collect(s)) AS supernode
  OPTIONAL MATCH (v)-[:INSTANCE_OF]->(:Feature)<-[:INCLUDES]-(x:FeatureFamily {method: $families})
  WITH supernode, x ORDER BY x.name
  WITH supernode, head(collect(x)) AS family
  RETURN coalesce(supernode, family) AS gv
}
WITH v, ins, coalesce(gv, v) AS b, gv IS NOT NULL AS grouped_b
WHERE grouped_b OR v:Token OR v:Logit OR coalesce(v.influence <= $influence, true)
UNWIND ins AS i
WITH i.a AS a, i.grouped_a AS grouped_a, b, grouped_b, i.w AS w, i.n AS n
WITH a.name AS source, grouped_a AS source_grouped, b.name AS target, grouped_b AS target_grouped, w, n
WHERE source <> target
RETURN source, source_grouped, target, target_grouped, sum(w) AS weight, sum(n) AS edges
ORDER BY abs(weight) DESC, source, target
