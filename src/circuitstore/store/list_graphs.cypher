// Every stored graph: id, prompt, model, transcoder set, sizes, scores, creation time.
// Parameters: none.
MATCH (g:Graph)
RETURN g.id AS id, g.prompt AS prompt, g.model AS model, g.transcoder_set AS transcoder_set,
       g.n_nodes AS nodes, g.n_edges AS edges, g.replacement_score AS replacement_score,
       g.completeness_score AS completeness_score, g.created AS created
ORDER BY id
