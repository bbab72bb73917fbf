// logit-drivers: the latents with the largest total influence on a logit, through all paths.
//
// Influence follows circuit-tracer: with A the normalised adjacency, A[t, s] = |share| of the
// edge s -> t (|w| / sum(|w| of every edge into t)), a node's influence on the logit is the
// sum over all paths from it to the logit of the product of the |share|s along the path, i.e.
// the node's entry in e_logit ((I - A)^-1 - I). Signs are dropped, as circuit-tracer does when
// it ranks and prunes nodes, so this is a magnitude. The column is logit_influence (higher is
// stronger): the stored `influence` of a node is something else, circuit-tracer's cumulative
// score over all logits (lower is stronger). It is computed exactly when the graph is stored
// (circuitstore.derived) and kept on each latent, one value per logit (`logit_index`), so this
// reads one graph's latents; latents without influence on the logit are left out.
// caption is the Feature's caption (its imported label, else its automatic one from the weights).
//
// @param graph string: graph id
// @param target string = null: logit token text, e.g. " Austin"; default: the target logit
// @param k int = 10 (min 1, max 1000): how many latents
// @check graph logit
// @example :param graph => "clt-hp-the-capital-of-201020250035-20251020-003525"; :param target => " Austin"; :param k => 10
MATCH (t:Logit {graph_id: $graph})
WHERE CASE WHEN $target IS NULL THEN t.is_target ELSE t.text = $target END
WITH t ORDER BY t.probability DESC LIMIT 1
MATCH (n:Latent {graph_id: $graph})
WITH n, n.logit_influence[t.logit_index] AS logit_influence
WHERE logit_influence > 0
ORDER BY logit_influence DESC, n.node_id
LIMIT toInteger($k)
OPTIONAL MATCH (n)-[:INSTANCE_OF]->(f:Feature)
RETURN n.node_id AS node_id, n.name AS name, f.id AS feature, f.label AS label, f.name AS caption, n.layer AS layer,
       n.position AS position, n.activation AS activation, logit_influence
ORDER BY logit_influence DESC, node_id
