// pullback: which tokens drive one Feature through which earlier Features, from the weights alone.
//
// The blind case study's view (no prompt): for each (token, earlier feature) pair, weight is the
// earlier feature's activation on that token's embedding alone times its virtual weight into
// this feature (its decoder row read by this feature's encoder column). bottom false gives the
// k largest (the tokens that excite this feature through an earlier one), true the k smallest
// (that inhibit it). via is the earlier Feature; virtual_weight its virtual weight into this
// one (null where it is not among this feature's stored top or bottom virtual weights).
// Layer-0 features have no pullback.
//
// @param feature string: Feature id, "<transcoder set>/<layer>/<index>"
// @param bottom bool = false: false: the top list (excites); true: the bottom list (inhibits)
// @param k int = 10 (min 1, max 1000): how many pairs
// @check feature weights
// @example :param feature => "gemma-scope-2-270m-pt-transcoders-all/6/1234"; :param bottom => false; :param k => 10
MATCH (v:Vocab)-[r:PULLBACK]->(f:Feature {id: $feature})
WHERE (r.rank < 0) = $bottom AND abs(r.rank) <= $k
MATCH (e:Feature {id: r.via})
OPTIONAL MATCH (e)-[w:VIRTUAL_WEIGHT]->(f)
RETURN abs(r.rank) AS rank, v.text AS text, v.token_id AS token_id, e.id AS via, e.name AS via_name,
       r.weight AS weight, w.weight AS virtual_weight
ORDER BY rank
