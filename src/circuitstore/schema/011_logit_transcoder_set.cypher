// `recurrence` reads thousands of logits' stored paths and names each path's Feature
// `<transcoder set>/<layer>/<index>`: each logit with stored paths keeps its graph's
// `transcoder_set`, so that no :Graph is looked up per logit unless a prompt or model is asked
// for. And its `@check stored_paths` finds the graphs that keep fewer paths through an index
// instead of reading every :Graph.
CREATE INDEX graph_stored_paths IF NOT EXISTS FOR (g:Graph) ON (g.stored_paths);
// A data migration: it sets only what is missing (a graph without a transcoder set leaves its
// logits without one, as the look-up gave null before), so applying it twice changes nothing.
MATCH (t:Logit)
WHERE t.paths_length IS NOT NULL AND t.transcoder_set IS NULL
CALL (t) {
  MATCH (g:Graph {id: t.graph_id})
  SET t.transcoder_set = g.transcoder_set
} IN TRANSACTIONS OF 1000 ROWS;
