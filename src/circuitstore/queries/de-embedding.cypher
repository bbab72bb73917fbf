// de-embedding: the vocabulary tokens whose embedding most excites one Feature (or most inhibits it).
//
// From `circuitstore weights build` (no prompt): weight is the token's embedding, read as the
// feature's transcoder reads its input, dotted with the feature's encoder column. kind "raw" is
// the embedding itself; "extended" (the default) is the embedding plus block 0's MLP applied to
// it, more telling where embeddings are tied (GPT-2, Gemma); layer 0 has only raw, which it then
// uses. bottom false gives the k largest weights (what excites the feature), true the k
// smallest (what inhibits it). rank counts from 1 in that order.
//
// @param feature string: Feature id, "<transcoder set>/<layer>/<index>"
// @param kind string = "extended": "extended" or "raw"
// @param bottom bool = false: false: the top list (excites); true: the bottom list (inhibits)
// @param k int = 10 (min 1, max 1000): how many tokens
// @check feature weights
// @example :param feature => "gemma-scope-2-270m-pt-transcoders-all/6/1234"; :param kind => "extended"; :param bottom => false; :param k => 10
MATCH (f:Feature {id: $feature})
WITH f, CASE WHEN EXISTS { (:Vocab)-[:DE_EMBEDDING {kind: $kind}]->(f) } THEN $kind ELSE "raw" END AS kind
MATCH (v:Vocab)-[r:DE_EMBEDDING {kind: kind}]->(f)
WHERE (r.rank < 0) = $bottom AND abs(r.rank) <= $k
RETURN abs(r.rank) AS rank, v.text AS text, v.token_id AS token_id, r.weight AS weight, kind
ORDER BY rank
