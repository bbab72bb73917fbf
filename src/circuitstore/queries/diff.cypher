// diff: what differs between two graphs of the same transcoder set (A = graphs[0], B = graphs[1]).
//
// Four sections, up to k rows each:
//   "only in A" / "only in B": features with latents in one graph only, most influential first;
//   "changed": features in both, by the largest change in influence (b - a);
//   "edge": edges between features present in both graphs, by the largest change in weight
//           (weights summed over positions per feature pair; an edge missing in a graph is 0).
// influence is the stored node property (circuit-tracer's cumulative influence: LOWER is MORE
// influential; a feature at several positions reports its lowest); a and b are the values in
// A and B. With $families, a latent counts for its Feature's feature family built by that
// method (item: the family's id, label: its name; its influence the lowest of its latents);
// Features in no family count alone.
// caption is the Feature's caption (its imported label, else its automatic one from the weights;
// a family's is its name).
//
// @param graphs list (min 2, max 2): the two graph ids, A then B
// @param k int = 10 (min 1, max 1000): rows per section
// @param families string = null: compare feature families of this method (hand-made, edge-profile, evidence)
// @check graphs same_transcoders
// @example :param graphs => ["clt-hp-the-capital-of-201020250035-20251020-003525", "capital_oakland-20251026-163348"]; :param k => 10; :param families => null
// Each section ranks the rows of an aggregation, not of a collected list: rows that carry a list
// make every ranked row count its whole size (k rows of it at the bound).
CALL () {
  UNWIND $graphs AS graph
  MATCH (n:Latent {graph_id: graph})
  OPTIONAL MATCH (n)-[:INSTANCE_OF]->(:Feature)<-[:INCLUDES]-(x:FeatureFamily {method: $families})
  WITH coalesce(x.id, n.feature_id) AS feature, collect(DISTINCT graph) AS graphs, min(n.influence) AS a
  WHERE graphs = [$graphs[0]]
  RETURN "only in A" AS section, feature AS item, a, null AS b, null AS change
  ORDER BY a, item LIMIT toInteger($k)
UNION ALL
  UNWIND $graphs AS graph
  MATCH (n:Latent {graph_id: graph})
  OPTIONAL MATCH (n)-[:INSTANCE_OF]->(:Feature)<-[:INCLUDES]-(x:FeatureFamily {method: $families})
  WITH coalesce(x.id, n.feature_id) AS feature, collect(DISTINCT graph) AS graphs, min(n.influence) AS b
  WHERE graphs = [$graphs[1]]
  RETURN "only in B" AS section, feature AS item, null AS a, b, null AS change
  ORDER BY b, item LIMIT toInteger($k)
UNION ALL
  UNWIND $graphs AS graph
  MATCH (n:Latent {graph_id: graph})
  OPTIONAL MATCH (n)-[:INSTANCE_OF]->(:Feature)<-[:INCLUDES]-(x:FeatureFamily {method: $families})
  WITH coalesce(x.id, n.feature_id) AS feature,
       count(CASE WHEN graph = $graphs[0] THEN 1 END) > 0 AND count(CASE WHEN graph = $graphs[1] THEN 1 END) > 0 AS both,
       min(CASE WHEN graph = $graphs[0] THEN n.influence END) AS a,
       min(CASE WHEN graph = $graphs[1] THEN n.influence END) AS b
  WHERE both
  RETURN "changed" AS section, feature AS item, a, b, b - a AS change
  ORDER BY coalesce(abs(change), -1.0) DESC, item LIMIT toInteger($k)
UNION ALL
  UNWIND $graphs AS graph
  MATCH (n:Latent {graph_id: graph})
  OPTIONAL MATCH (n)-[:INSTANCE_OF]->(:Feature)<-[:INCLUDES]-(x:FeatureFamily {method: $families})
  WITH coalesce(x.id, n.feature_id) AS feature, count(DISTINCT graph) AS in_graphs
  WITH collect(CASE WHEN in_graphs = 2 THEN feature END) AS shared
  UNWIND $graphs AS graph
  MATCH (u:Latent {graph_id: graph})-[r:ATTRIBUTION]->(v:Latent)
  OPTIONAL MATCH (u)-[:INSTANCE_OF]->(:Feature)<-[:INCLUDES]-(xu:FeatureFamily {method: $families})
  OPTIONAL MATCH (v)-[:INSTANCE_OF]->(:Feature)<-[:INCLUDES]-(xv:FeatureFamily {method: $families})
  WITH graph, r, coalesce(xu.id, u.feature_id) AS fu, coalesce(xv.id, v.feature_id) AS fv, shared
  WHERE fu IN shared AND fv IN shared AND fu <> fv
  WITH fu + " -> " + fv AS item,
       sum(CASE WHEN graph = $graphs[0] THEN r.weight ELSE 0.0 END) AS a,
       sum(CASE WHEN graph = $graphs[1] THEN r.weight ELSE 0.0 END) AS b
  RETURN "edge" AS section, item, a, b, b - a AS change
  ORDER BY abs(change) DESC, item LIMIT toInteger($k)
}
OPTIONAL MATCH (f:Feature {id: item})
OPTIONAL MATCH (x:FeatureFamily {id: item})
RETURN section, item, coalesce(f.label, x.name) AS label, coalesce(f.name, x.name) AS caption, a, b, change
