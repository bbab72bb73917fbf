MATCH (s:Token {graph_id: $graph})
WHERE ($source IS NULL OR s.text = $source) AND ($position IS NULL OR s.position = $position)
WITH t, g, bound, collect({n: s, s: 1.0, u: 1.0, w: 1.0, nodes: [s], shares: [], weights: []}) AS frontier
WITH t, g, bound, frontier, [] AS done, 0.0 AS theta
