// _check_weights: are the weights of $feature's layer stored whole (its :WeightsLayer marker)?
// Returns one `problem` saying how to build them if not.
// @param feature string: Feature id, "<transcoder set>/<layer>/<index>"
MATCH (f:Feature {id: $feature})
WHERE NOT EXISTS { (:WeightsLayer {transcoder_set: f.transcoder_set, layer: f.layer}) }
RETURN ["the weights of layer " + toString(f.layer) + " of \"" + f.transcoder_set + "\" are not stored; run ",
        "`circuitstore weights build --transcoders " + f.transcoder_set + " --layers " + toString(f.layer) + "`"]
       AS problem
