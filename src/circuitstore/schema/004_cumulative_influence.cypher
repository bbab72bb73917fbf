// Graphs computed by circuitstore before schema version 4 stored each node's raw influence
// (higher is more influential; logits their probability). Since then `influence` is
// circuit-tracer's cumulative score everywhere (lower is more influential; logits have none).
// Such a graph has no file source (source '{}'), and its generation settings count its active
// latents but do not record its conventions. Its raw influence becomes the cumulative score over
// the nodes it kept (the share of the nodes pruned away is not stored, so the values run high:
// the last kept node gets 1.0; the order of the nodes is exact), its logits lose theirs, and it
// records what it is: the conventions circuitstore used then (position-0 latents and errors as
// sources, token nodes writing W_E + W_pos), influence_over 'kept nodes' (on the :Graph and in
// its generation JSON, so exports tell too), no completeness score (then taken over nodes with
// inputs only, so not comparable; nor in the `scores` JSON that stores keep since, so the score
// columns are read) and no fingerprint (its content changed).
// A data migration: once done, no graph matches its WHERE, so applying it twice changes nothing.
MATCH (g:Graph)
WHERE g.source = '{}' AND g.position_0_sources IS NULL AND g.generation CONTAINS '"n_active_latents": '
CALL (g) {
  MATCH (n:Node {graph_id: g.id})
  WHERE n.node_id IS NOT NULL AND NOT n:Logit AND n.influence IS NOT NULL
  WITH n ORDER BY n.influence DESC, n.node_id
  WITH collect(n) AS nodes, collect(n.influence) AS raw
  WITH nodes, reduce(run = [], x IN raw | run + [coalesce(run[-1], 0.0) + x]) AS running
  UNWIND range(0, size(nodes) - 1) AS i
  WITH nodes[i] AS n, CASE WHEN running[-1] > 0 THEN running[i] / running[-1] ELSE 1.0 END AS cumulative
  SET n.influence = cumulative
}
CALL (g) {
  MATCH (o:Logit {graph_id: g.id})
  REMOVE o.influence
}
SET g.position_0_sources = true,
    g.token_vectors = 'resid_pre',
    g.influence_over = 'kept nodes',
    g.completeness_score = null,
    g.scores = null,
    g.fingerprint = null,
    g.generation = left(g.generation, size(g.generation) - 1) +
      ', "position_0_sources": true, "token_vectors": "resid_pre", "influence_over": "kept nodes"}';
