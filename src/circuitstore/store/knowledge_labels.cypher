// The label the store knows for each of $features (Feature ids): the imported label, else the
// automatic one from the weights (auto_label, written by `circuitstore weights build`).
// Parameters: $features.
UNWIND $features AS id
MATCH (f:Feature {id: id})
WITH f, coalesce(f.label, f.auto_label) AS label
WHERE label IS NOT NULL
RETURN f.id AS feature, label
