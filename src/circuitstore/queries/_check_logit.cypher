// _check_logit: does graph $graph have a logit with text $target (or, with no $target, a target
// logit)? Returns one `problem` listing the graph's logits if not.
// @param graph string: graph id
// @param target string = null: logit token text
MATCH (g:Graph {id: $graph})
OPTIONAL MATCH (l:Logit {graph_id: $graph})
WITH l ORDER BY l.probability DESC
WITH collect(l) AS logits
WHERE NOT any(l IN logits WHERE CASE WHEN $target IS NULL THEN l.is_target ELSE l.text = $target END)
RETURN [CASE WHEN $target IS NULL THEN "graph \"" + $graph + "\" marks no target logit, so give target"
         ELSE "graph \"" + $graph + "\" has no logit \"" + $target + "\"" END + "; its logits are: ",
        [l IN logits | "\"" + coalesce(l.text, "?") + "\""]] AS problem
