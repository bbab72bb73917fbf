// _check_same_transcoders: do all of $graphs use one transcoder set (so their features compare)?
// @param graphs list: graph ids
MATCH (g:Graph) WHERE g.id IN $graphs
WITH g ORDER BY g.id
WITH collect(g.id + " uses " + g.transcoder_set) AS uses, collect(DISTINCT g.transcoder_set) AS sets
WHERE size(sets) > 1
RETURN ["the graphs use different transcoder sets, so their features cannot be compared: ", uses] AS problem
