// supernode-diff: how two graphs' supernode graphs differ (A = graphs[0], B = graphs[1]).
//
// Each graph is collapsed as `supernode-graph` collapses it ($methods, $families: the same
// choice of groups), keeping its groups, its input tokens (named by their text, `" Dallas"`)
// and its logits (`→ " Austin"`), so that pieces of the two graphs match by name; with
// $families they are the same groups in every graph of the transcoder set. Four sections, up
// to k rows each:
//   "only in A" / "only in B": groups one graph has and the other lacks (a, b: their members);
//   "in both": groups both have, by the largest change in members (b - a);
//   "edge": "<source> -> <target>" weights between groups, tokens and logits, summed over the
//           edges between their nodes, by the largest change (b - a; a pair one graph lacks
//           weighs 0 there). Edges within a group, and edges touching other nodes, are left out.
//
// Generated from templates/supernode-diff.cypher: edit that, then run `python -m circuitstore.queries.generate`.
//
// @param graphs list (min 2, max 2): the two graph ids, A then B
// @param methods list = null (min 1, max 4): only the supernodes of these methods, e.g. imported,manual or evidence
// @param families string = null: group by the feature families this method built (hand-made, edge-profile, evidence)
// @param k int = 20 (min 1, max 1000): rows per section
// @check graphs
// @example :param graphs => ["capital-state-dallas", "opposite_of_small"]; :param methods => null; :param families => null; :param k => 20
UNWIND [0, 1] AS side
MATCH (u:Node {graph_id: $graphs[side]})-[r:ATTRIBUTION]->(v)
WHERE u.node_id IS NOT NULL  // always true: makes this a seek on the (graph_id, node_id) key
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
WITH side, r,
     coalesce(gu.name, CASE WHEN u:Token THEN "\"" + u.text + "\"" END) AS source,
     coalesce(gv.name, CASE WHEN v:Logit THEN "→ \"" + v.text + "\"" END) AS target
WHERE source IS NOT NULL AND target IS NOT NULL AND source <> target
WITH source + " -> " + target AS item,
     sum(CASE side WHEN 0 THEN r.weight ELSE 0.0 END) AS a, sum(CASE side WHEN 1 THEN r.weight ELSE 0.0 END) AS b
WITH collect({item: item, a: a, b: b}) AS edges
UNWIND [0, 1] AS side
MATCH (n:Node {graph_id: $graphs[side]})
WHERE n.node_id IS NOT NULL
// the group n stands for: its first supernode of $methods (hand-made before suggested,
// then by name), or with $families its Feature's family built by that method (null: none)
CALL (n) {
  OPTIONAL MATCH (n)<-[:GROUPS]-(s:Supernode)
  WHERE $families IS NULL AND ($methods IS NULL OR s.method IN $methods)
  WITH s ORDER BY CASE WHEN s.method IN ["imported", "manual"] THEN 0 ELSE 1 END, s.name
  WITH head(collect(s)) AS supernode
  OPTIONAL MATCH (n)-[:INSTANCE_OF]->(:Feature)<-[:INCLUDES]-(x:FeatureFamily {method: $families})
  WITH supernode, x ORDER BY x.name
  WITH supernode, head(collect(x)) AS family
  RETURN coalesce(supernode, family) AS group
}
WITH edges, group.name AS group, count(CASE side WHEN 0 THEN 1 END) AS a, count(CASE side WHEN 1 THEN 1 END) AS b
WITH edges, collect(CASE WHEN group IS NOT NULL THEN {item: group, a: a, b: b} END) AS groups
CALL (groups, edges) {
  UNWIND groups AS x
  WITH x WHERE x.b = 0
  RETURN "only in A" AS section, x.item AS item, x.a AS a, null AS b, null AS change
  ORDER BY a DESC, item LIMIT toInteger($k)
UNION ALL
  UNWIND groups AS x
  WITH x WHERE x.a = 0
  RETURN "only in B" AS section, x.item AS item, null AS a, x.b AS b, null AS change
  ORDER BY b DESC, item LIMIT toInteger($k)
UNION ALL
  UNWIND groups AS x
  WITH x WHERE x.a > 0 AND x.b > 0
  RETURN "in both" AS section, x.item AS item, x.a AS a, x.b AS b, x.b - x.a AS change
  ORDER BY abs(change) DESC, item LIMIT toInteger($k)
UNION ALL
  UNWIND edges AS x
  RETURN "edge" AS section, x.item AS item, x.a AS a, x.b AS b, x.b - x.a AS change
  ORDER BY abs(change) DESC, item LIMIT toInteger($k)
}
RETURN section, item, a, b, change
