// Set Features' captions (computed by captions.feature_caption from feature_labels.cypher's rows).
// Parameters: $names [{id, name}].
UNWIND $names AS r
MATCH (f:Feature {id: r.id})
SET f.name = r.name
