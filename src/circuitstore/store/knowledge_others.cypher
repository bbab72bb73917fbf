// The other stored graphs that hold the most of $features (Feature ids of graph $graph), at
// most $k, most shared first. Parameters: $graph, $features, $k.
UNWIND $features AS id
MATCH (:Feature {id: id})<-[:INSTANCE_OF]-(n:Latent)
WHERE n.graph_id <> $graph
WITH n.graph_id AS other, count(DISTINCT id) AS shared
WHERE shared >= 2
RETURN other
ORDER BY shared DESC, other
LIMIT $k
