// The feature families, of one transcoder set and method where given (null: all), most
// widespread first, each with its Features (layer, index order) and their labels.
// Parameters: $transcoder_set, $method.
MATCH (x:FeatureFamily)
WHERE ($transcoder_set IS NULL OR x.transcoder_set = $transcoder_set) AND ($method IS NULL OR x.method = $method)
OPTIONAL MATCH (x)-[:INCLUDES]->(f:Feature)
WITH x, f ORDER BY f.layer, f.index
RETURN x.id AS id, x.name AS name, x.method AS method, x.transcoder_set AS transcoder_set, x.score AS score,
       x.n_graphs AS n_graphs, collect(f.id) AS features, [l IN collect(f.label) WHERE l IS NOT NULL] AS labels
ORDER BY transcoder_set, method, n_graphs DESC, size(features) DESC, id
