// Merge the shared nodes a graph refers to: its Model, TranscoderSet, Features and Vocab entries.
// Rows come sorted by id so concurrent imports lock shared nodes in the same order.
// A Feature keeps the first label it was given; a later graph only fills a missing one.
// Parameters: $model, $transcoder_set, $features [{id, transcoder_set, layer, index, label, name}],
//             $vocab [{id, model, token_id, text, name}].
MERGE (m:Model {id: $model})
MERGE (t:TranscoderSet {id: $transcoder_set})
  ON CREATE SET t.model = $model
WITH 1 AS one
CALL {
  UNWIND $features AS f
  MERGE (x:Feature {id: f.id})
    ON CREATE SET x += f
  WITH x, f WHERE x.label IS NULL AND f.label IS NOT NULL
  SET x.label = f.label, x.name = f.name
}
CALL {
  UNWIND $vocab AS v
  MERGE (x:Vocab {id: v.id})
    ON CREATE SET x += v
}
RETURN count(*) AS done
