// shared-features: the Features active in every one of two or more graphs.
//
// For each Feature with a latent in each of $graphs: per graph (in the order given) its largest
// activation, its stored influence and the positions it is active at (ascending). influence is
// the node property, the same in graphs imported and computed here: circuit-tracer's cumulative
// influence, the share of the graph's total influence carried by nodes at least as
// influential, so LOWER is MORE influential (a feature at several positions reports its
// lowest). Most influential (lowest worst-case influence) first.
// caption is the Feature's caption (its imported label, else its automatic one from the weights).
//
// @param graphs list (min 2, max 100): graph ids, e.g. two prompts to compare
// @param k int = 50 (min 1, max 1000): how many features
// @check graphs
// @example :param graphs => ["clt-hp-the-capital-of-201020250035-20251020-003525", "capital_oakland-20251026-163348"]; :param k => 50
UNWIND $graphs AS graph
MATCH (n:Latent {graph_id: graph})
// positions ascending: collect keeps this order, not the store's
WITH graph, n ORDER BY n.position
WITH n.feature_id AS feature, graph, max(n.activation) AS activation, min(n.influence) AS influence,
     collect(n.position) AS positions
WITH feature, collect({graph: graph, activation: activation, influence: influence, positions: positions}) AS seen
WHERE size(seen) = size($graphs)
WITH feature, [g IN $graphs | [s IN seen WHERE s.graph = g][0]] AS seen
MATCH (f:Feature {id: feature})
RETURN f.id AS feature, f.label AS label, f.name AS caption, f.layer AS layer,
       [s IN seen | s.activation] AS activations, [s IN seen | s.influence] AS influences,
       [s IN seen | s.positions] AS positions
ORDER BY reduce(m = 0.0, s IN seen | CASE WHEN s.influence > m THEN s.influence ELSE m END), feature
LIMIT toInteger($k)
