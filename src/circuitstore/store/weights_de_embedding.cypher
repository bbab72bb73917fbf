// A batch of DE_EMBEDDING relationships, (:Vocab)-[:DE_EMBEDDING {weight, rank, kind}]->(:Feature).
// Parameters: $rows [{f: feature id, kind, v: [vocab ids], w: [weights], rank: [ranks]}].
UNWIND $rows AS row
MATCH (f:Feature {id: row.f})
UNWIND range(0, size(row.w) - 1) AS k
MATCH (v:Vocab {id: row.v[k]})
CREATE (v)-[:DE_EMBEDDING {weight: row.w[k], rank: row.rank[k], kind: row.kind}]->(f)
