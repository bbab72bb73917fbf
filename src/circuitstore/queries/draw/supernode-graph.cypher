// supernode-graph, drawn: the groups of supernode-graph.cypher (its parameters and :param lines)
// as the Supernode (or FeatureFamily) nodes themselves (ungrouped nodes as they are), one edge
// per pair with the summed weight, thicker when stronger, for Neo4j Browser's graph view.
//
// Generated from templates/draw/supernode-graph.cypher: edit that, then run `python -m circuitstore.queries.generate`.
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
WITH a, b, w WHERE a <> b
WITH a, b, sum(w) AS w
WITH collect({a: a, b: b, w: w}) AS edges
// One virtual relationship (APOC) per answer edge, typed by sign and by |weight| against the
// answer's largest, in quarters (EXCITES_1..4, INHIBITS_1..4): Browser's style sheet has no
// property selectors, so the type is what makes stronger edges thicker.
WITH edges, reduce(top = 0.0, e IN edges | CASE WHEN abs(e.w) > top THEN abs(e.w) ELSE top END) AS top
UNWIND edges AS e
RETURN e.a AS source, e.b AS target,
       apoc.create.vRelationship(e.a,
         CASE WHEN e.w < 0 THEN "INHIBITS_" ELSE "EXCITES_" END
         + CASE WHEN 4 * abs(e.w) <= top THEN "1" WHEN 2 * abs(e.w) <= top THEN "2"
                WHEN 4 * abs(e.w) <= 3 * top THEN "3" ELSE "4" END,
         {weight: round(e.w, 2)}, e.b) AS edge
