// Create a graph's :Error nodes (reconstruction error of one layer at one position).
// Parameters: $rows [{i, props}]. Returns the row index and elementId of each node.
UNWIND $rows AS r
CREATE (n:Node:Error)
SET n = r.props
RETURN r.i AS i, elementId(n) AS eid
