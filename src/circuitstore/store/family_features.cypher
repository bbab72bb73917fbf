// Layer and known label (imported, else automatic) of each of $features (Feature ids), for
// naming families. Parameters: $features.
UNWIND $features AS id
MATCH (f:Feature {id: id})
RETURN f.id AS feature, f.layer AS layer, coalesce(f.label, f.auto_label) AS label
