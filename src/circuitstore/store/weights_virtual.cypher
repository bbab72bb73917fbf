// A batch of VIRTUAL_WEIGHT relationships, (earlier:Feature)-[:VIRTUAL_WEIGHT {weight, rank}]->(later:Feature),
// ranked per later feature. Parameters: $rows [{f: later feature id, e: [earlier feature ids], w, rank}].
UNWIND $rows AS row
MATCH (g:Feature {id: row.f})
UNWIND range(0, size(row.w) - 1) AS k
MATCH (e:Feature {id: row.e[k]})
CREATE (e)-[:VIRTUAL_WEIGHT {weight: row.w[k], rank: row.rank[k]}]->(g)
