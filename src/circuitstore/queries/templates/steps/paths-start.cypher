MATCH (t:Logit {graph_id: $graph})
WHERE CASE WHEN $target IS NULL THEN t.is_target ELSE t.text = $target END
WITH t ORDER BY t.probability DESC LIMIT 1
MATCH (g:Graph {id: $graph})
WITH t, g, [[i IN range(0, g.n_nodes - 1) | CASE WHEN i = t.slot THEN 1.0 ELSE 0.0 END]] AS bound
