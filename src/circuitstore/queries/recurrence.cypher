// recurrence: the Features that most often lie on the strongest paths to a logit, across graphs.
//
// For every stored graph (or those of $model, or whose prompt contains $prompt) that has a
// logit with text $target, takes the `paths` strongest paths from any input token to that
// logit, as the `paths` query defines them (strength = product of the edges' shares of their
// target's input, positive edges only), then counts, for each Feature, in how many graphs and
// on how many of those paths one of its latents lies. The paths are found when a graph is
// stored (circuitstore.derived: the strongest of each length, kept on the logit, strongest
// first), so this reads them rather than searching every graph: the first `paths` of at most
// `max_length` edges are the strongest `paths` of at most that length. With $families, a
// latent counts for its Feature's feature family built by that method (the row's feature is
// then the family's id, its label the family's name, its layer null, and n_paths counts the
// family's latents on those paths); Features in no family count alone.
// caption is the Feature's caption (its imported label, else its automatic one from the weights;
// a family's is its name).
//
// @param target string: logit token text, e.g. " Austin"
// @param prompt string = null: only graphs whose prompt contains this text
// @param model string = null: only graphs of this model, e.g. "planted-capitals-v1"
// @param paths int = 5 (min 1, max 1000): strongest paths taken from each graph (at most the graphs' stored_paths)
// @param max_length int = 6 (min 1, max 8): most edges on a path
// @param k int = 20 (min 1, max 1000): how many features
// @param families string = null: count feature families of this method (hand-made, edge-profile, evidence)
// @check any_logit stored_paths
// @example :param target => " Austin"; :param prompt => "Dallas"; :param model => null; :param paths => 5; :param max_length => 6; :param k => 20; :param families => null
// The logit keeps its graph's id and transcoder set: the :Graph is looked up only to filter.
MATCH (t:Logit {text: $target})
WHERE ($prompt IS NULL AND $model IS NULL)
   OR EXISTS { MATCH (g:Graph {id: t.graph_id})
               WHERE ($prompt IS NULL OR g.prompt CONTAINS $prompt) AND ($model IS NULL OR g.model = $model) }
// Each list is read once per logit; a path's latents are counted by (layer, index) in one row
// per latent, and the Feature id built once per Feature and graph. Without $families no family
// is looked up (the CASE skips its subquery); a Feature is in at most one family of a method.
WITH t.graph_id AS graph, t.transcoder_set AS set, t.paths_length AS lengths, t.paths_feature_start AS starts,
     t.paths_feature_layer AS layers, t.paths_feature_index AS indices
WITH graph, set, starts, layers, indices,
     [i IN range(0, size(lengths) - 1) WHERE lengths[i] <= $max_length][..$paths] AS chosen
UNWIND reduce(js = [], i IN chosen | js + range(starts[i], starts[i + 1] - 1)) AS j
WITH graph, set, layers[j] AS layer, indices[j] AS index, count(*) AS on_paths
WITH set + "/" + layer + "/" + index AS feature, graph, on_paths
WITH CASE WHEN $families IS NULL THEN feature ELSE coalesce(head(COLLECT {
       MATCH (:Feature {id: feature})<-[:INCLUDES]-(x:FeatureFamily {method: $families}) RETURN x.id }), feature) END AS feature,
     graph, sum(on_paths) AS on_paths
ORDER BY graph
WITH feature, count(graph) AS n_graphs, sum(on_paths) AS n_paths, collect(graph) AS graphs
ORDER BY n_graphs DESC, n_paths DESC, feature
LIMIT toInteger($k)
OPTIONAL MATCH (f:Feature {id: feature})
OPTIONAL MATCH (x:FeatureFamily {id: feature})
RETURN feature, coalesce(f.label, x.name) AS label, coalesce(f.name, x.name) AS caption, f.layer AS layer, n_graphs, n_paths,
       graphs
ORDER BY n_graphs DESC, n_paths DESC, feature
