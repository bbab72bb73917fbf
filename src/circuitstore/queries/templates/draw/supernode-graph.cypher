// supernode-graph, drawn: the groups of supernode-graph.cypher (its parameters and :param lines)
// as the Supernode (or FeatureFamily) nodes themselves (ungrouped nodes as they are), one edge
// per pair with the summed weight, thicker when stronger, for Neo4j Browser's graph view.
//
// Generated from templates/draw/supernode-graph.cypher: edit that, then run `python -m circuitstore.queries.generate`.
MATCH (u:Node {graph_id: $graph})-[r:ATTRIBUTION]->(v)
WHERE u.node_id IS NOT NULL
{{include group node=u group=gu}}
{{include group node=v group=gv}}
WITH r, coalesce(gu, u) AS a, coalesce(gv, v) AS b
WHERE a <> b
  AND (gu IS NOT NULL OR u:Token OR u:Logit OR coalesce(u.influence <= $influence, true))
  AND (gv IS NOT NULL OR v:Token OR v:Logit OR coalesce(v.influence <= $influence, true))
WITH a, b, sum(r.weight) AS w
WITH collect({a: a, b: b, w: w}) AS edges
{{include draw}}
