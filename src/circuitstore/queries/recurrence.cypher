// recurrence: the Features that most often lie on the strongest paths to a logit, across graphs.
//
// For every stored graph (or those of $model, or whose prompt contains $prompt) that has a
// logit with text $target, finds the `paths` strongest paths from any input token to that
// logit, exactly as the `paths` query does (strength = product of the edges' shares of their
// target's input, positive edges only; the step block below is the same), then counts, for
// each Feature, in how many graphs and on how many of those paths one of its latents lies.
//
// Generated from templates/recurrence.cypher: edit that, then run `python -m circuitstore.queries.generate`.
//
// @param target string: logit token text, e.g. " Austin"
// @param prompt string = null: only graphs whose prompt contains this text
// @param model string = null: only graphs of this model, e.g. "planted-capitals-v1"
// @param paths int = 5 (min 1): strongest paths taken from each graph
// @param max_length int = 6 (min 1, max 8): most edges on a path
// @param k int = 20 (min 1): how many features
// @check any_logit
// @example :params {target: " Austin", prompt: "Dallas", model: null, paths: 5, max_length: 6, k: 20}
MATCH (g:Graph)
WHERE ($prompt IS NULL OR g.prompt CONTAINS $prompt) AND ($model IS NULL OR g.model = $model)
MATCH (t:Logit {graph_id: g.id, text: $target})
CALL (t) {
  MATCH (s:Token {graph_id: t.graph_id})
  RETURN collect({n: s, s: 1.0, w: 1.0, nodes: [s], shares: [], weights: []}) AS frontier
}
CALL (t) {
  MATCH (:Node)-[r:ATTRIBUTION]->(t)
  RETURN max(r.share) AS cap
}
WITH t, cap, frontier, [] AS done, 0.0 AS tau
// step 1: paths of length 1
CALL (t, cap, frontier, tau) {
  UNWIND frontier AS p
  WITH p, p.n AS a
  MATCH (a)-[r:ATTRIBUTION]->(b)
  WHERE r.share > 0
    AND (b = t OR (size(p.nodes) < $max_length AND NOT b:Logit AND b.position <= t.position
                   AND p.s * r.share * cap >= tau))
  WITH b, p, r, p.s * r.share AS s
  ORDER BY s DESC
  WITH b, collect({n: b, s: s, w: p.w * r.weight, nodes: p.nodes + b,
                   shares: p.shares + r.share, weights: p.weights + r.weight})[..$paths] AS best
  RETURN reduce(acc = [], x IN collect(best) | acc + x) AS grown
}
CALL (t, done, grown) {
  UNWIND done + [x IN grown WHERE x.n = t] AS d
  WITH d ORDER BY d.s DESC LIMIT $paths
  RETURN collect(d) AS top
}
WITH t, cap, [x IN grown WHERE x.n <> t] AS frontier, top AS done,
     CASE WHEN size(top) < $paths THEN 0.0 ELSE top[-1].s END AS tau
// step 2: paths of length 2
CALL (t, cap, frontier, tau) {
  UNWIND frontier AS p
  WITH p, p.n AS a
  MATCH (a)-[r:ATTRIBUTION]->(b)
  WHERE r.share > 0
    AND (b = t OR (size(p.nodes) < $max_length AND NOT b:Logit AND b.position <= t.position
                   AND p.s * r.share * cap >= tau))
  WITH b, p, r, p.s * r.share AS s
  ORDER BY s DESC
  WITH b, collect({n: b, s: s, w: p.w * r.weight, nodes: p.nodes + b,
                   shares: p.shares + r.share, weights: p.weights + r.weight})[..$paths] AS best
  RETURN reduce(acc = [], x IN collect(best) | acc + x) AS grown
}
CALL (t, done, grown) {
  UNWIND done + [x IN grown WHERE x.n = t] AS d
  WITH d ORDER BY d.s DESC LIMIT $paths
  RETURN collect(d) AS top
}
WITH t, cap, [x IN grown WHERE x.n <> t] AS frontier, top AS done,
     CASE WHEN size(top) < $paths THEN 0.0 ELSE top[-1].s END AS tau
// step 3: paths of length 3
CALL (t, cap, frontier, tau) {
  UNWIND frontier AS p
  WITH p, p.n AS a
  MATCH (a)-[r:ATTRIBUTION]->(b)
  WHERE r.share > 0
    AND (b = t OR (size(p.nodes) < $max_length AND NOT b:Logit AND b.position <= t.position
                   AND p.s * r.share * cap >= tau))
  WITH b, p, r, p.s * r.share AS s
  ORDER BY s DESC
  WITH b, collect({n: b, s: s, w: p.w * r.weight, nodes: p.nodes + b,
                   shares: p.shares + r.share, weights: p.weights + r.weight})[..$paths] AS best
  RETURN reduce(acc = [], x IN collect(best) | acc + x) AS grown
}
CALL (t, done, grown) {
  UNWIND done + [x IN grown WHERE x.n = t] AS d
  WITH d ORDER BY d.s DESC LIMIT $paths
  RETURN collect(d) AS top
}
WITH t, cap, [x IN grown WHERE x.n <> t] AS frontier, top AS done,
     CASE WHEN size(top) < $paths THEN 0.0 ELSE top[-1].s END AS tau
// step 4: paths of length 4
CALL (t, cap, frontier, tau) {
  UNWIND frontier AS p
  WITH p, p.n AS a
  MATCH (a)-[r:ATTRIBUTION]->(b)
  WHERE r.share > 0
    AND (b = t OR (size(p.nodes) < $max_length AND NOT b:Logit AND b.position <= t.position
                   AND p.s * r.share * cap >= tau))
  WITH b, p, r, p.s * r.share AS s
  ORDER BY s DESC
  WITH b, collect({n: b, s: s, w: p.w * r.weight, nodes: p.nodes + b,
                   shares: p.shares + r.share, weights: p.weights + r.weight})[..$paths] AS best
  RETURN reduce(acc = [], x IN collect(best) | acc + x) AS grown
}
CALL (t, done, grown) {
  UNWIND done + [x IN grown WHERE x.n = t] AS d
  WITH d ORDER BY d.s DESC LIMIT $paths
  RETURN collect(d) AS top
}
WITH t, cap, [x IN grown WHERE x.n <> t] AS frontier, top AS done,
     CASE WHEN size(top) < $paths THEN 0.0 ELSE top[-1].s END AS tau
// step 5: paths of length 5
CALL (t, cap, frontier, tau) {
  UNWIND frontier AS p
  WITH p, p.n AS a
  MATCH (a)-[r:ATTRIBUTION]->(b)
  WHERE r.share > 0
    AND (b = t OR (size(p.nodes) < $max_length AND NOT b:Logit AND b.position <= t.position
                   AND p.s * r.share * cap >= tau))
  WITH b, p, r, p.s * r.share AS s
  ORDER BY s DESC
  WITH b, collect({n: b, s: s, w: p.w * r.weight, nodes: p.nodes + b,
                   shares: p.shares + r.share, weights: p.weights + r.weight})[..$paths] AS best
  RETURN reduce(acc = [], x IN collect(best) | acc + x) AS grown
}
CALL (t, done, grown) {
  UNWIND done + [x IN grown WHERE x.n = t] AS d
  WITH d ORDER BY d.s DESC LIMIT $paths
  RETURN collect(d) AS top
}
WITH t, cap, [x IN grown WHERE x.n <> t] AS frontier, top AS done,
     CASE WHEN size(top) < $paths THEN 0.0 ELSE top[-1].s END AS tau
// step 6: paths of length 6
CALL (t, cap, frontier, tau) {
  UNWIND frontier AS p
  WITH p, p.n AS a
  MATCH (a)-[r:ATTRIBUTION]->(b)
  WHERE r.share > 0
    AND (b = t OR (size(p.nodes) < $max_length AND NOT b:Logit AND b.position <= t.position
                   AND p.s * r.share * cap >= tau))
  WITH b, p, r, p.s * r.share AS s
  ORDER BY s DESC
  WITH b, collect({n: b, s: s, w: p.w * r.weight, nodes: p.nodes + b,
                   shares: p.shares + r.share, weights: p.weights + r.weight})[..$paths] AS best
  RETURN reduce(acc = [], x IN collect(best) | acc + x) AS grown
}
CALL (t, done, grown) {
  UNWIND done + [x IN grown WHERE x.n = t] AS d
  WITH d ORDER BY d.s DESC LIMIT $paths
  RETURN collect(d) AS top
}
WITH t, cap, [x IN grown WHERE x.n <> t] AS frontier, top AS done,
     CASE WHEN size(top) < $paths THEN 0.0 ELSE top[-1].s END AS tau
// step 7: paths of length 7
CALL (t, cap, frontier, tau) {
  UNWIND frontier AS p
  WITH p, p.n AS a
  MATCH (a)-[r:ATTRIBUTION]->(b)
  WHERE r.share > 0
    AND (b = t OR (size(p.nodes) < $max_length AND NOT b:Logit AND b.position <= t.position
                   AND p.s * r.share * cap >= tau))
  WITH b, p, r, p.s * r.share AS s
  ORDER BY s DESC
  WITH b, collect({n: b, s: s, w: p.w * r.weight, nodes: p.nodes + b,
                   shares: p.shares + r.share, weights: p.weights + r.weight})[..$paths] AS best
  RETURN reduce(acc = [], x IN collect(best) | acc + x) AS grown
}
CALL (t, done, grown) {
  UNWIND done + [x IN grown WHERE x.n = t] AS d
  WITH d ORDER BY d.s DESC LIMIT $paths
  RETURN collect(d) AS top
}
WITH t, cap, [x IN grown WHERE x.n <> t] AS frontier, top AS done,
     CASE WHEN size(top) < $paths THEN 0.0 ELSE top[-1].s END AS tau
// step 8: paths of length 8
CALL (t, cap, frontier, tau) {
  UNWIND frontier AS p
  WITH p, p.n AS a
  MATCH (a)-[r:ATTRIBUTION]->(b)
  WHERE r.share > 0
    AND (b = t OR (size(p.nodes) < $max_length AND NOT b:Logit AND b.position <= t.position
                   AND p.s * r.share * cap >= tau))
  WITH b, p, r, p.s * r.share AS s
  ORDER BY s DESC
  WITH b, collect({n: b, s: s, w: p.w * r.weight, nodes: p.nodes + b,
                   shares: p.shares + r.share, weights: p.weights + r.weight})[..$paths] AS best
  RETURN reduce(acc = [], x IN collect(best) | acc + x) AS grown
}
CALL (t, done, grown) {
  UNWIND done + [x IN grown WHERE x.n = t] AS d
  WITH d ORDER BY d.s DESC LIMIT $paths
  RETURN collect(d) AS top
}
WITH t, cap, [x IN grown WHERE x.n <> t] AS frontier, top AS done,
     CASE WHEN size(top) < $paths THEN 0.0 ELSE top[-1].s END AS tau
UNWIND done AS d
UNWIND d.nodes AS n
WITH t.graph_id AS graph, n WHERE n:Latent
WITH n.feature_id AS feature, graph, count(*) AS on_paths
ORDER BY graph
WITH feature, count(graph) AS n_graphs, sum(on_paths) AS n_paths, collect(graph) AS graphs
MATCH (f:Feature {id: feature})
RETURN f.id AS feature, f.label AS label, f.layer AS layer, n_graphs, n_paths, graphs
ORDER BY n_graphs DESC, n_paths DESC, feature
LIMIT $k
