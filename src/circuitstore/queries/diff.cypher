// diff: what differs between two graphs of the same transcoder set (A = graphs[0], B = graphs[1]).
//
// Four sections, up to k rows each:
//   "only in A" / "only in B": features with latents in one graph only, most influential first;
//   "changed": features in both, by the largest change in influence (b - a);
//   "edge": edges between features present in both graphs, by the largest change in weight
//           (weights summed over positions per feature pair; an edge missing in a graph is 0).
// influence is the stored node property (circuit-tracer's cumulative influence: LOWER is MORE
// influential; a feature at several positions reports its lowest); a and b are the values in
// A and B.
//
// @param graphs list (min 2, max 2): the two graph ids, A then B
// @param k int = 10 (min 1): rows per section
// @check graphs same_transcoders
// @example :params {graphs: ["clt-hp-the-capital-of-201020250035-20251020-003525", "capital_oakland-20251026-163348"], k: 10}
UNWIND $graphs AS graph
MATCH (n:Latent {graph_id: graph})
WITH n.feature_id AS feature,
     count(CASE WHEN graph = $graphs[0] THEN 1 END) > 0 AS in_a,
     count(CASE WHEN graph = $graphs[1] THEN 1 END) > 0 AS in_b,
     min(CASE WHEN graph = $graphs[0] THEN n.influence END) AS a,
     min(CASE WHEN graph = $graphs[1] THEN n.influence END) AS b
WITH collect({feature: feature, in_a: in_a, in_b: in_b, a: a, b: b}) AS features
CALL (features) {
  UNWIND features AS x
  WITH x WHERE NOT x.in_b
  RETURN "only in A" AS section, x.feature AS item, x.a AS a, null AS b, null AS change
  ORDER BY a, item LIMIT $k
UNION ALL
  UNWIND features AS x
  WITH x WHERE NOT x.in_a
  RETURN "only in B" AS section, x.feature AS item, null AS a, x.b AS b, null AS change
  ORDER BY b, item LIMIT $k
UNION ALL
  UNWIND features AS x
  WITH x WHERE x.in_a AND x.in_b
  RETURN "changed" AS section, x.feature AS item, x.a AS a, x.b AS b, x.b - x.a AS change
  ORDER BY coalesce(abs(change), -1.0) DESC, item LIMIT $k
UNION ALL
  WITH [x IN features WHERE x.in_a AND x.in_b | x.feature] AS shared
  UNWIND $graphs AS graph
  MATCH (u:Latent {graph_id: graph})-[r:ATTRIBUTION]->(v:Latent)
  WHERE u.feature_id IN shared AND v.feature_id IN shared
  WITH u.feature_id + " -> " + v.feature_id AS item,
       sum(CASE WHEN graph = $graphs[0] THEN r.weight ELSE 0.0 END) AS a,
       sum(CASE WHEN graph = $graphs[1] THEN r.weight ELSE 0.0 END) AS b
  RETURN "edge" AS section, item, a, b, b - a AS change
  ORDER BY abs(change) DESC, item LIMIT $k
}
OPTIONAL MATCH (f:Feature {id: item})
RETURN section, item, f.label AS label, a, b, change
