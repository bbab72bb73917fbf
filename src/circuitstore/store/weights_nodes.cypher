// Create the shared nodes one layer's weights link, where the store has not seen them yet: the
// set's Model and TranscoderSet, the layer's Features and the Vocab entries its lists name. An
// existing node keeps its properties.
// Parameters: $model, $transcoder_set, $features [{id, transcoder_set, layer, index, name}],
// $vocab [{id, model, token_id, text, name}].
MERGE (m:Model {id: $model})
MERGE (ts:TranscoderSet {id: $transcoder_set})
  ON CREATE SET ts.model = $model
WITH count(*) AS _
CALL {
  UNWIND $features AS f
  MERGE (x:Feature {id: f.id})
    ON CREATE SET x += f
}
CALL {
  UNWIND $vocab AS v
  MERGE (x:Vocab {id: v.id})
    ON CREATE SET x += v
}
