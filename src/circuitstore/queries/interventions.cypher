// interventions: the interventions stored with each graph, graphs ranked by how well their
// predictions matched the model.
//
// An intervention's `relative_error` is sum |measured - predicted| / sum |measured| over the
// graph's logit nodes, where measured is the change of the logit minus the mean logit on the
// model (`circuitstore intervene`) and predicted what the graph's edges say it is (see
// circuitstore.prediction): 0 when the graph foresaw every change, 1 when it foresaw none, more
// when it was wrong the other way; null when nothing moved. A graph's `graph_error` is the mean
// over its interventions. Graphs come best first (those whose interventions moved nothing
// last), each graph's interventions best first. Free interventions test a graph against the
// real model; frozen ones only what pruning and thresholds cost it.
// `target_measured` and `target_predicted` are the change of the graph's target logit.
//
// @param graph string = null: one graph's interventions; default every graph's
// @param mode string = null: only free or only frozen interventions; default both
// @param k int = 100 (min 1, max 1000): at most this many rows
// @example :param graph => null; :param mode => "free"; :param k => 100
MATCH (i:Intervention)-[:ON]->(g:Graph)
WHERE ($graph IS NULL OR g.id = $graph) AND ($mode IS NULL OR i.mode = $mode)
OPTIONAL MATCH (i)-[c:CHANGED]->(:Logit {graph_id: g.id, is_target: true})
WITH g, avg(i.relative_error) AS graph_error, collect({i: i, c: c}) AS runs
ORDER BY graph_error, g.id
WITH collect({g: g, error: graph_error, runs: runs}) AS ranked
UNWIND range(0, size(ranked) - 1) AS r
WITH r + 1 AS rank, ranked[r] AS x
UNWIND x.runs AS run
WITH rank, x.g AS g, x.error AS graph_error, run.i AS i, run.c AS c
RETURN rank, g.id AS graph, g.prompt AS prompt, graph_error, i.id AS intervention, i.kind AS kind,
       i.mode AS mode, i.scale AS scale, i.targets AS targets, i.swap_from AS swap_from, i.swaps AS swaps,
       i.relative_error AS relative_error, c.measured AS target_measured, c.predicted AS target_predicted,
       i.top_before[0] AS top_before, i.top_after[0] AS top_after, i.created AS created
ORDER BY rank, relative_error, intervention
LIMIT toInteger($k)
