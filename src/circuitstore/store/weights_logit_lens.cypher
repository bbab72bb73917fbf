// A batch of LOGIT_LENS relationships, (:Feature)-[:LOGIT_LENS {weight, rank}]->(:Vocab).
// Parameters: $rows [{f: feature id, v: [vocab ids], w: [weights], rank: [ranks]}].
UNWIND $rows AS row
MATCH (f:Feature {id: row.f})
UNWIND range(0, size(row.w) - 1) AS k
MATCH (v:Vocab {id: row.v[k]})
CREATE (f)-[:LOGIT_LENS {weight: row.w[k], rank: row.rank[k]}]->(v)
