// Finish one layer: give its features their automatic labels (the caption `name` follows it
// only where no imported label exists) and record the marker that makes the layer count as
// stored. Parameters: $transcoder_set, $labels [{id, auto_label, name}], $marker {id, transcoder_set,
// model, layer, top_k, n_features, kinds, built}.
MATCH (ts:TranscoderSet {id: $transcoder_set})
CALL (ts) {
  UNWIND $labels AS r
  MATCH (f:Feature {id: r.id})
  SET f.auto_label = r.auto_label, f.name = CASE WHEN f.label IS NULL THEN r.name ELSE f.name END
}
MERGE (w:WeightsLayer {id: $marker.id})
SET w = $marker
MERGE (ts)-[:HAS_WEIGHTS]->(w)
