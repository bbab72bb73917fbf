MATCH (t:Logit {graph_id: $graph})
WHERE CASE WHEN $target IS NULL THEN t.is_target ELSE t.text = $target END
WITH t ORDER BY t.probability DESC LIMIT 1
MATCH (g:Graph {id: $graph})
