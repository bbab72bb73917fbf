// The layers of a transcoder set whose weights are stored whole (each has its marker), with the
// settings they were built with. Parameters: $transcoder_set.
MATCH (w:WeightsLayer {transcoder_set: $transcoder_set})
RETURN w.layer AS layer, w.top_k AS top_k, w.model AS model
ORDER BY layer
