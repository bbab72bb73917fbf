// What the stored weights say about each of $features (Feature ids), as lists keyed by the
// other end: the tokens that most excite it (DE_EMBEDDING, per kind), the tokens it most
// promotes (LOGIT_LENS), the earlier features whose output it reads most (VIRTUAL_WEIGHT in)
// and the later features that read it most (VIRTUAL_WEIGHT out), top lists only (rank > 0).
// Features whose weights are not stored get no row. Parameters: $features.
UNWIND $features AS id
MATCH (f:Feature {id: id})
CALL (f) {
  MATCH (v:Vocab)-[r:DE_EMBEDDING]->(f) WHERE r.rank > 0
  RETURN "de-embedding " + coalesce(r.kind, "raw") AS list, v.id AS key, r.weight AS weight
UNION ALL
  MATCH (f)-[r:LOGIT_LENS]->(v:Vocab) WHERE r.rank > 0
  RETURN "logit-lens" AS list, v.id AS key, r.weight AS weight
UNION ALL
  MATCH (e:Feature)-[r:VIRTUAL_WEIGHT]->(f) WHERE r.rank > 0
  RETURN "reads" AS list, e.id AS key, r.weight AS weight
UNION ALL
  MATCH (f)-[r:VIRTUAL_WEIGHT]->(l:Feature) WHERE r.rank > 0
  RETURN "feeds" AS list, l.id AS key, r.weight AS weight
}
RETURN f.id AS feature, list, collect([key, weight]) AS entries
