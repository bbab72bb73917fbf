// logit-lens: the tokens one Feature's output promotes most (or suppresses most).
//
// From `circuitstore weights build` (no prompt): weight is the feature's decoder row, through
// the final norm (its scale frozen), dotted with the token's unembedding column, demeaned over
// the vocabulary. bottom false gives the k largest (promoted), true the k smallest (suppressed).
//
// @param feature string: Feature id, "<transcoder set>/<layer>/<index>"
// @param bottom bool = false: false: the top list (promotes); true: the bottom list (suppresses)
// @param k int = 10 (min 1, max 1000): how many tokens
// @check feature weights
// @example :param feature => "gemma-scope-2-270m-pt-transcoders-all/6/1234"; :param bottom => false; :param k => 10
MATCH (f:Feature {id: $feature})-[r:LOGIT_LENS]->(v:Vocab)
WHERE (r.rank < 0) = $bottom AND abs(r.rank) <= $k
RETURN abs(r.rank) AS rank, v.text AS text, v.token_id AS token_id, r.weight AS weight
ORDER BY rank
