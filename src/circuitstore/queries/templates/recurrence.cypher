// recurrence: the Features that most often lie on the strongest paths to a logit, across graphs.
//
// For every stored graph (or those of $model, or whose prompt contains $prompt) that has a
// logit with text $target, finds the `paths` strongest paths from any input token to that
// logit, exactly as the `paths` query does (strength = product of the edges' shares of their
// target's input, positive edges only; the blocks below are the same, so memory is bounded by
// `paths` per graph), then counts, for each Feature, in how many graphs and on how many of those
// paths one of its latents lies.
//
// Generated from templates/recurrence.cypher: edit that, then run `python -m circuitstore.queries.generate`.
//
// @param target string: logit token text, e.g. " Austin"
// @param prompt string = null: only graphs whose prompt contains this text
// @param model string = null: only graphs of this model, e.g. "planted-capitals-v1"
// @param paths int = 5 (min 1, max 1000): strongest paths taken from each graph
// @param max_length int = 6 (min 1, max 8): most edges on a path
// @param k int = 20 (min 1, max 1000): how many features
// @check any_logit
// @example :params {target: " Austin", prompt: "Dallas", model: null, paths: 5, max_length: 6, k: 20}
MATCH (g:Graph)
WHERE ($prompt IS NULL OR g.prompt CONTAINS $prompt) AND ($model IS NULL OR g.model = $model)
MATCH (t:Logit {graph_id: g.id, text: $target})
WITH t, g, [[i IN range(0, g.n_nodes - 1) | CASE WHEN i = t.slot THEN 1.0 ELSE 0.0 END]] AS bound
{{repeat bound 7 graph=t.graph_id}}
CALL (t) {
  MATCH (s:Token {graph_id: t.graph_id})
  RETURN collect({n: s, s: 1.0, u: 1.0, w: 1.0, nodes: [s], shares: [], weights: []}) AS frontier
}
WITH t, g, bound, frontier, [] AS done, 0.0 AS theta
{{repeat paths 8 limit=$paths}}
UNWIND done AS d
UNWIND d.nodes AS n
WITH t.graph_id AS graph, n WHERE n:Latent
WITH n.feature_id AS feature, graph, count(*) AS on_paths
// (sorting on an aggregate's result: a plain ORDER BY graph is planned before the UNWINDs,
// holding every graph's path lists at once)
ORDER BY CASE WHEN on_paths > 0 THEN graph END
WITH feature, count(graph) AS n_graphs, sum(on_paths) AS n_paths, collect(graph) AS graphs
MATCH (f:Feature {id: feature})
RETURN f.id AS feature, f.label AS label, f.layer AS layer, n_graphs, n_paths, graphs
ORDER BY n_graphs DESC, n_paths DESC, feature
LIMIT $k
