// Delete one graph's per-graph nodes (with their edges) and supernodes, keeping the :Graph node.
// Returns the elementIds of the shared Feature/Vocab nodes they pointed to, so the caller can
// remove those no longer used (prune_shared.cypher) once the transaction's writes are done, and
// the ids of those Features, whose labels the caller re-derives (feature_labels.cypher).
// Parameters: $graph_id.
OPTIONAL MATCH (:Graph {id: $graph_id})-[:HAS_SUPERNODE]->(s:Supernode)
DETACH DELETE s
WITH count(*) AS _
MATCH (n:Node {graph_id: $graph_id})
WHERE n.node_id IS NOT NULL  // always true: makes this a seek on the (graph_id, node_id) key
OPTIONAL MATCH (n)-[:INSTANCE_OF|IS]->(shared)
WITH n, collect({ref: elementId(shared), feature: CASE WHEN shared:Feature THEN shared.id END}) AS refs
DETACH DELETE n
WITH refs
UNWIND refs AS ref
RETURN collect(DISTINCT ref.ref) AS shared, collect(DISTINCT ref.feature) AS features
