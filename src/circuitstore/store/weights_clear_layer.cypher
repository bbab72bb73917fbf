// Remove one layer's marker, then its weights relationships (what an interrupted or replaced
// build left): the de-embeddings and pullbacks into its features, the virtual weights into
// them, the logit lens out of them. Virtual weights *from* them (into later layers) stay. The
// marker goes first, in its own transaction, so a layer is never marked while it is incomplete;
// the rest in batches, so it needs an auto-commit session. Parameters: $transcoder_set, $layer.
CALL () {
  MATCH (w:WeightsLayer {transcoder_set: $transcoder_set, layer: $layer})
  DETACH DELETE w
} IN TRANSACTIONS
MATCH (f:Feature {transcoder_set: $transcoder_set, layer: $layer})
CALL (f) {
  OPTIONAL MATCH (f)<-[r:DE_EMBEDDING|VIRTUAL_WEIGHT|PULLBACK]-()
  DELETE r
  WITH count(*) AS _
  OPTIONAL MATCH (f)-[l:LOGIT_LENS]->()
  DELETE l
} IN TRANSACTIONS OF 200 ROWS
