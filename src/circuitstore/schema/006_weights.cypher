// Weights-only views (circuitstore weights build): the features of one layer of a transcoder
// set, the per-layer marker that says a layer's weights are stored whole, and search over the
// automatic labels.
CREATE INDEX feature_layer IF NOT EXISTS FOR (f:Feature) ON (f.transcoder_set, f.layer);
CREATE CONSTRAINT weights_layer_id IF NOT EXISTS FOR (w:WeightsLayer) REQUIRE w.id IS UNIQUE;
CREATE FULLTEXT INDEX feature_auto_label IF NOT EXISTS FOR (f:Feature) ON EACH [f.auto_label];
