// Finish one layer: give its features their automatic labels (the caption `name` follows it
// only where no imported label exists), append them to the captions of the graphs' latents
// that carry no label of their own (after the first word, `L<layer>/<index>@<position>`, which
// has no space), and record the marker that makes the layer count as stored. Parameters: $transcoder_set, $labels [{id, auto_label, name}], $marker {id, transcoder_set,
// model, layer, top_k, n_features, kinds, built}.
MATCH (ts:TranscoderSet {id: $transcoder_set})
CALL (ts) {
  UNWIND $labels AS r
  MATCH (f:Feature {id: r.id})
  SET f.auto_label = r.auto_label, f.name = CASE WHEN f.label IS NULL THEN r.name ELSE f.name END
  WITH f, r
  MATCH (f)<-[:INSTANCE_OF]-(l:Latent)
  WHERE l.label IS NULL
  SET l.name = head(split(l.name, ' ')) + coalesce(' ' + r.auto_label, '')
}
MERGE (w:WeightsLayer {id: $marker.id})
SET w = $marker
MERGE (ts)-[:HAS_WEIGHTS]->(w)
