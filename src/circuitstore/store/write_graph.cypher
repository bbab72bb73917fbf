// Write a claimed graph in one statement (see claim_graph.cypher): its properties, the shared
// nodes it uses, its nodes, the first batch of its edges, and its supernodes. One statement
// rather than one per part, because each statement has a fixed cost that small graphs feel.
// Parameters:
//   $graph_id, $props                     the :Graph properties (fingerprint included)
//   $features, $vocab                     shared rows, sorted by id (a fixed lock order for
//                                         concurrent imports); a Feature's label and name are
//                                         derived afterwards (feature_labels.cypher); a Vocab
//                                         entry keeps its first text, a later graph only fills
//                                         a missing one
//   $nodes                                [{label, props, feature, vocab}]: kind label, node
//                                         properties (an absent one is not stored), index into
//                                         $features / $vocab of the shared node (null: none);
//                                         tokens, then latents, errors, logits
//   $s, $t, $w, $share                    edges; endpoints index $nodes
//   $supernodes                           [{name, members: [node index]}]
// Returns the nodes' elementIds in that order, for any further edge batches.
MATCH (g:Graph {id: $graph_id})
SET g = $props
MERGE (m:Model {id: $props.model})
MERGE (ts:TranscoderSet {id: $props.transcoder_set})
  ON CREATE SET ts.model = $props.model
CREATE (g)-[:OF_MODEL]->(m), (g)-[:USES]->(ts)
WITH g
CALL {
  UNWIND $features AS f
  MERGE (x:Feature {id: f.id})
    ON CREATE SET x += f
  RETURN collect(x) AS features
}
CALL {
  UNWIND $vocab AS v
  MERGE (x:Vocab {id: v.id})
    ON CREATE SET x += v
  // an entry first met as a logit whose clerp told no text learns it from a later graph
  FOREACH (_ IN CASE WHEN x.text IS NULL AND v.text IS NOT NULL THEN [1] ELSE [] END | SET x.text = v.text, x.name = v.name)
  RETURN collect(x) AS vocab
}
CALL (features, vocab) {
  UNWIND $nodes AS r
  CREATE (n:Node:$(r.label) {graph_id: $graph_id})
  SET n += r.props
  // a latent without a label of its own shows its Feature's automatic one (weights build)
  FOREACH (f IN CASE WHEN r.feature IS NULL THEN [] ELSE [features[r.feature]] END |
    CREATE (n)-[:INSTANCE_OF]->(f)
    SET n.name = n.name + CASE WHEN n.label IS NULL THEN coalesce(' ' + f.auto_label, '') ELSE '' END)
  FOREACH (v IN CASE WHEN r.vocab IS NULL THEN [] ELSE [vocab[r.vocab]] END | CREATE (n)-[:IS]->(v))
  RETURN collect(n) AS nodes
}
WITH g, nodes
CALL (nodes) {
  UNWIND range(0, size($w) - 1) AS k
  WITH nodes[$s[k]] AS a, nodes[$t[k]] AS b, k
  CREATE (a)-[:ATTRIBUTION {weight: $w[k], share: $share[k]}]->(b)
}
CALL (g, nodes) {
  UNWIND $supernodes AS sn
  CREATE (g)-[:HAS_SUPERNODE]->(s:Supernode {graph_id: $graph_id, name: sn.name, method: "imported"})
  WITH s, sn
  UNWIND sn.members AS member
  WITH s, nodes[member] AS n
  CREATE (s)-[:GROUPS]->(n)
}
RETURN [n IN nodes | elementId(n)] AS eids
