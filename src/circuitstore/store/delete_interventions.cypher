// Delete the interventions on a graph and those that swapped in its latents: what they targeted
// is going. Parameters: $graph_id. Returns how many were deleted.
OPTIONAL MATCH (i:Intervention)
WHERE i.graph_id = $graph_id OR i.swap_from = $graph_id
DETACH DELETE i
RETURN count(i) AS deleted
