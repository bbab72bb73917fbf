// The graphs stored without the facts derived at ingest (before schema version 9).
// Parameters: none.
MATCH (g:Graph)
WHERE g.stored_paths IS NULL
RETURN g.id AS id
ORDER BY id
