// A batch of PULLBACK relationships, (:Vocab)-[:PULLBACK {weight, rank, via}]->(later:Feature),
// `via` the id of the earlier Feature the token acts through, ranked per later feature.
// Parameters: $rows [{f: later feature id, v: [vocab ids], via: [earlier feature ids], w, rank}].
UNWIND $rows AS row
MATCH (g:Feature {id: row.f})
UNWIND range(0, size(row.w) - 1) AS k
MATCH (v:Vocab {id: row.v[k]})
CREATE (v)-[:PULLBACK {weight: row.w[k], rank: row.rank[k], via: row.via[k]}]->(g)
