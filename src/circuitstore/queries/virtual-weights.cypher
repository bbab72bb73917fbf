// virtual-weights: the earlier Features whose output most excites one Feature (or most inhibits it).
//
// From `circuitstore weights build` (no prompt): weight is the earlier feature's decoder row, read
// as this feature's transcoder reads its input (norm scale frozen), dotted with this feature's
// encoder column: its direct effect, per unit activation, on this feature's pre-activation,
// through the residual stream alone. bottom false gives the k largest, true the k smallest.
// Layer-0 features have none.
//
// @param feature string: Feature id, "<transcoder set>/<layer>/<index>"
// @param bottom bool = false: false: the top list (excites); true: the bottom list (inhibits)
// @param k int = 10 (min 1, max 1000): how many features
// @check feature weights
// @example :param feature => "gemma-scope-2-270m-pt-transcoders-all/6/1234"; :param bottom => false; :param k => 10
MATCH (e:Feature)-[r:VIRTUAL_WEIGHT]->(f:Feature {id: $feature})
WHERE (r.rank < 0) = $bottom AND abs(r.rank) <= $k
RETURN abs(r.rank) AS rank, e.id AS feature, e.name AS name, e.layer AS layer, r.weight AS weight
ORDER BY rank
