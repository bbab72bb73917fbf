// How $features (Feature ids of graph $graph) were grouped by hand in other graphs: per other
// graph, the Feature ids of each of its supernodes of the $hand_made methods that holds some.
// Parameters: $graph, $features, $hand_made. Returns one row {groups: [[feature id]]} a graph.
UNWIND $features AS id
MATCH (f:Feature {id: id})<-[:INSTANCE_OF]-(:Latent)<-[:GROUPS]-(s:Supernode)
WHERE s.graph_id <> $graph AND s.method IN $hand_made
WITH s.graph_id AS graph, s.name AS name, collect(DISTINCT f.id) AS features
WITH graph, collect(features) AS groups
RETURN groups ORDER BY graph
