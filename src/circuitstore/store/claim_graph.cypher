// Claim a graph id at the start of the transaction that stores it.
// MERGE takes the lock on the Graph.id uniqueness entry, so a second import of the same id
// waits here until the first commits, then sees its fingerprint.
// Parameters: $graph_id. Returns fresh (true when this transaction created the node), and the
// stored graph's fingerprint and edge count.
MERGE (g:Graph {id: $graph_id})
  ON CREATE SET g.claimed = true
WITH g, g.claimed IS NOT NULL AS fresh
REMOVE g.claimed
RETURN fresh, g.fingerprint AS fingerprint, g.n_edges AS n_edges
