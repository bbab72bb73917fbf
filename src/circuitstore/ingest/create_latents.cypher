// Create a graph's :Latent nodes, each an instance of its shared :Feature.
// Parameters: $rows [{i, props, ref}] (ref: the Feature id).
// Returns the row index and elementId of each node, for the edge batches.
UNWIND $rows AS r
CREATE (n:Node:Latent)
SET n = r.props
WITH n, r
MATCH (f:Feature {id: r.ref})
CREATE (n)-[:INSTANCE_OF]->(f)
RETURN r.i AS i, elementId(n) AS eid
