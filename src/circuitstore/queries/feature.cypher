// feature: everything known of one Feature: label, graphs, activation, influence, partners.
//
// One row per latent of the Feature (a graph can have it at several positions). partners are
// the latent's k strongest edges by |weight|, each {direction: "in" (an input) or "out" (an
// output), node_id, name, weight}. influence is circuit-tracer's cumulative influence as
// stored (LOWER is MORE influential).
//
// @param feature string: Feature id, "<transcoder set>/<layer>/<index>"
// @param k int = 5 (min 1, max 1000): partners per latent
// @check feature
// @example :params {feature: "mntss/clt-gemma-2-2b-2.5M/20/44686", k: 5}
MATCH (f:Feature {id: $feature})<-[:INSTANCE_OF]-(n:Latent)
MATCH (g:Graph {id: n.graph_id})
CALL (n) {
  MATCH (n)-[r:ATTRIBUTION]-(m)
  WITH r, m ORDER BY abs(r.weight) DESC, m.node_id LIMIT $k
  RETURN collect({direction: CASE WHEN startNode(r) = n THEN "out" ELSE "in" END,
                  node_id: m.node_id, name: m.name, weight: r.weight}) AS partners
}
RETURN f.id AS feature, f.label AS label, g.id AS graph, g.prompt AS prompt, n.node_id AS node_id,
       n.position AS position, n.activation AS activation, n.influence AS influence, partners
ORDER BY graph, position
