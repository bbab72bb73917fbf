// Write a claimed graph in one statement (see claim_graph.cypher): its properties, the shared
// nodes it uses, its nodes, the first batch of its edges, and its supernodes. One statement
// rather than one per part, because each statement has a fixed cost that small graphs feel.
// Parameters:
//   $graph_id, $props                     the :Graph properties (fingerprint included)
//   $features, $vocab                     shared rows, sorted by id (a fixed lock order for
//                                         concurrent imports); a Feature keeps the first label
//                                         it was given, a later graph only fills a missing one
//   $tokens, $latents, $errors, $logits   [{node_id, position, name, ...: node properties, ref}],
//                                         ref = index into $features / $vocab (null: no Vocab
//                                         entry); an absent property is not stored
//   $s, $t, $w, $share                    edges; endpoints index the nodes in the order
//                                         tokens, latents, errors, logits
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
  FOREACH (_ IN CASE WHEN x.label IS NULL AND f.label IS NOT NULL THEN [1] ELSE [] END |
    SET x.label = f.label, x.name = f.name)
  RETURN collect(x) AS features
}
CALL {
  UNWIND $vocab AS v
  MERGE (x:Vocab {id: v.id})
    ON CREATE SET x += v
  RETURN collect(x) AS vocab
}
CALL (vocab) {
  UNWIND $tokens AS r
  CREATE (n:Node:Token {graph_id: $graph_id, node_id: r.node_id, kind: 'token', position: r.position,
    name: r.name, layer: r.layer, feature: r.feature, feature_id: r.feature_id, token_id: r.token_id,
    text: r.text, activation: r.activation, influence: r.influence, probability: r.probability,
    label: r.label, is_target: r.is_target, feature_ref: r.feature_ref, js_id: r.js_id})
  FOREACH (v IN CASE WHEN r.ref IS NULL THEN [] ELSE [vocab[r.ref]] END | CREATE (n)-[:IS]->(v))
  RETURN collect(n) AS tokens
}
CALL (features) {
  UNWIND $latents AS r
  CREATE (n:Node:Latent {graph_id: $graph_id, node_id: r.node_id, kind: 'latent', position: r.position,
    name: r.name, layer: r.layer, feature: r.feature, feature_id: r.feature_id, token_id: r.token_id,
    text: r.text, activation: r.activation, influence: r.influence, probability: r.probability,
    label: r.label, is_target: r.is_target, feature_ref: r.feature_ref, js_id: r.js_id})
  WITH n, features[r.ref] AS f
  CREATE (n)-[:INSTANCE_OF]->(f)
  RETURN collect(n) AS latents
}
CALL {
  UNWIND $errors AS r
  CREATE (n:Node:Error {graph_id: $graph_id, node_id: r.node_id, kind: 'error', position: r.position,
    name: r.name, layer: r.layer, feature: r.feature, feature_id: r.feature_id, token_id: r.token_id,
    text: r.text, activation: r.activation, influence: r.influence, probability: r.probability,
    label: r.label, is_target: r.is_target, feature_ref: r.feature_ref, js_id: r.js_id})
  RETURN collect(n) AS errors
}
CALL (vocab) {
  UNWIND $logits AS r
  CREATE (n:Node:Logit {graph_id: $graph_id, node_id: r.node_id, kind: 'logit', position: r.position,
    name: r.name, layer: r.layer, feature: r.feature, feature_id: r.feature_id, token_id: r.token_id,
    text: r.text, activation: r.activation, influence: r.influence, probability: r.probability,
    label: r.label, is_target: r.is_target, feature_ref: r.feature_ref, js_id: r.js_id})
  FOREACH (v IN CASE WHEN r.ref IS NULL THEN [] ELSE [vocab[r.ref]] END | CREATE (n)-[:IS]->(v))
  RETURN collect(n) AS logits
}
WITH g, tokens + latents + errors + logits AS nodes
CALL (nodes) {
  UNWIND range(0, size($w) - 1) AS k
  WITH nodes[$s[k]] AS a, nodes[$t[k]] AS b, k
  CREATE (a)-[:ATTRIBUTION {weight: $w[k], share: $share[k]}]->(b)
}
CALL (g, nodes) {
  UNWIND $supernodes AS sn
  CREATE (g)-[:HAS_SUPERNODE]->(s:Supernode {graph_id: $graph_id, name: sn.name})
  WITH s, sn
  UNWIND sn.members AS member
  WITH s, nodes[member] AS n
  CREATE (s)-[:GROUPS]->(n)
}
RETURN [n IN nodes | elementId(n)] AS eids
