// Create a graph's :Token nodes and link each to its :Vocab entry.
// Parameters: $rows [{i, props, ref}] (ref: the Vocab id, or null when the token id is unknown).
// Returns the row index and elementId of each node, for the edge batches.
UNWIND $rows AS r
CREATE (n:Node:Token)
SET n = r.props
WITH n, r
OPTIONAL MATCH (v:Vocab {id: r.ref})
FOREACH (_ IN CASE WHEN v IS NULL THEN [] ELSE [1] END | CREATE (n)-[:IS]->(v))
RETURN r.i AS i, elementId(n) AS eid
