// One layer's stored top de-embeddings of one kind (rank > 0), for building later layers'
// pullbacks without recomputing it. Parameters: $transcoder_set, $layer, $kind.
MATCH (f:Feature {transcoder_set: $transcoder_set, layer: $layer})<-[r:DE_EMBEDDING {kind: $kind}]-(v:Vocab)
WHERE r.rank > 0
RETURN f.index AS index, r.rank AS rank, v.token_id AS token, r.weight AS weight
