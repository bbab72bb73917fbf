// feature: everything known of one Feature: label, graphs, activation, influence, partners.
//
// One row per latent of the Feature (a graph can have it at several positions), ordered by
// graph and position, a page at a time: rows $skip + 1 to $skip + $limit (a Feature in 10,000
// graphs has as many rows; n_rows says how many there are in all). partners are the latent's k
// strongest edges by |weight|, each {direction: "in" (an input) or "out" (an output),
// node_id, name, weight}, found for the page's rows only. influence is circuit-tracer's
// cumulative influence as stored (LOWER is MORE influential).
//
// @param feature string: Feature id, "<transcoder set>/<layer>/<index>"
// @param k int = 5 (min 1, max 1000): partners per latent
// @param skip int = 0 (min 0, max 100000000): rows to pass over (the page's start)
// @param limit int = 100 (min 1, max 1000): rows at most (the page's size)
// @check feature
// @example :param feature => "mntss/clt-gemma-2-2b-2.5M/20/44686"; :param k => 5; :param skip => 0; :param limit => 100
MATCH (f:Feature {id: $feature})<-[:INSTANCE_OF]-(n:Latent)
WITH f, n ORDER BY n.graph_id, n.position
WITH f, collect(n) AS latents
UNWIND latents[$skip..$skip + $limit] AS n
MATCH (g:Graph {id: n.graph_id})
CALL (n) {
  MATCH (n)-[r:ATTRIBUTION]-(m)
  WITH r, m ORDER BY abs(r.weight) DESC, m.node_id LIMIT toInteger($k)
  RETURN collect({direction: CASE WHEN startNode(r) = n THEN "out" ELSE "in" END,
                  node_id: m.node_id, name: m.name, weight: r.weight}) AS partners
}
RETURN f.id AS feature, f.label AS label, g.id AS graph, g.prompt AS prompt, n.node_id AS node_id,
       n.position AS position, n.activation AS activation, n.influence AS influence, partners,
       size(latents) AS n_rows
ORDER BY graph, position
