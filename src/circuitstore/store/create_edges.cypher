// Create one batch of ATTRIBUTION edges between nodes created earlier in the same transaction.
// Endpoints are given by elementId (returned by write_graph.cypher), which Neo4j seeks
// directly, without an index lookup.
// Parameters: $s, $t (elementIds), $w (weights), $share (normalised weights), equal lengths.
UNWIND range(0, size($w) - 1) AS k
MATCH (a) WHERE elementId(a) = $s[k]
MATCH (b) WHERE elementId(b) = $t[k]
CREATE (a)-[:ATTRIBUTION {weight: $w[k], share: $share[k]}]->(b)
