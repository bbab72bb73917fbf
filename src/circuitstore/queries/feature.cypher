// feature: everything known of one Feature: caption and labels, what its weights say, graphs, activation, influence, partners.
//
// One row per latent of the Feature (a graph can have it at several positions), ordered by
// graph and position, a page at a time: rows $skip + 1 to $skip + $limit (a Feature in 10,000
// graphs has as many rows; n_rows says how many there are in all), or one row with graph null
// (n_rows 0) when no graph has it. caption (the Feature's `name`) shows its imported label
// where it has one (label), else its automatic label from the weights (auto_label).
// de_embedding lists the tokens that excite it most (extended kind where stored, else raw) and
// logit_lens those it promotes most, best first, each up to k and only those of positive weight
// (empty until `circuitstore weights build` has run), as the automatic label names them.
// partners are the latent's k strongest edges by |weight|, each {direction: "in" (an input) or
// "out" (an output), node_id, name, weight}, found for the page's rows only. influence is
// circuit-tracer's cumulative influence as stored (LOWER is MORE influential).
//
// @param feature string: Feature id, "<transcoder set>/<layer>/<index>"
// @param k int = 5 (min 1, max 1000): partners per latent, tokens per list
// @param skip int = 0 (min 0, max 100000000): rows to pass over (the page's start)
// @param limit int = 100 (min 1, max 1000): rows at most (the page's size)
// @check feature
// @example :param feature => "mntss/clt-gemma-2-2b-2.5M/20/44686"; :param k => 5; :param skip => 0; :param limit => 100
MATCH (f:Feature {id: $feature})
CALL (f) {
  OPTIONAL MATCH (v:Vocab)-[r:DE_EMBEDDING]->(f)
  WHERE 0 < r.rank <= $k AND r.weight > 0
  WITH r.kind AS kind, v.text AS text ORDER BY r.rank
  WITH kind, collect(text) AS texts
  WITH collect({kind: kind, texts: texts}) AS lists
  RETURN coalesce([l IN lists WHERE l.kind = "extended" | l.texts][0], [l IN lists WHERE l.kind = "raw" | l.texts][0],
                  []) AS de_embedding
}
CALL (f) {
  OPTIONAL MATCH (f)-[r:LOGIT_LENS]->(v:Vocab)
  WHERE 0 < r.rank <= $k AND r.weight > 0
  WITH v.text AS text ORDER BY r.rank
  RETURN collect(text) AS logit_lens
}
OPTIONAL MATCH (f)<-[:INSTANCE_OF]-(n:Latent)
WITH f, de_embedding, logit_lens, n ORDER BY n.graph_id, n.position
WITH f, de_embedding, logit_lens, collect(n) AS latents
UNWIND CASE WHEN latents = [] THEN [null] ELSE latents[$skip..$skip + $limit] END AS n
OPTIONAL MATCH (g:Graph {id: n.graph_id})
CALL (n) {
  OPTIONAL MATCH (n)-[r:ATTRIBUTION]-(m)
  WITH n, r, m ORDER BY abs(r.weight) DESC, m.node_id LIMIT toInteger($k)
  RETURN collect(CASE WHEN r IS NOT NULL THEN {direction: CASE WHEN startNode(r) = n THEN "out" ELSE "in" END,
                  node_id: m.node_id, name: m.name, weight: r.weight} END) AS partners
}
RETURN f.id AS feature, f.name AS caption, f.label AS label, f.auto_label AS auto_label, de_embedding, logit_lens,
       g.id AS graph, g.prompt AS prompt, n.node_id AS node_id, n.position AS position, n.activation AS activation,
       n.influence AS influence, partners, size(latents) AS n_rows
ORDER BY graph, position
