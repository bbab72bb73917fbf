// top-outputs: a node's strongest direct targets in one graph, signed.
//
// The edges out of the node ordered by |weight|; weight keeps its sign (negative = inhibits).
// share is the edge's signed share of its target's input (w / sum |w| into the target).
//
// @param graph string: graph id
// @param node string: node id within the graph, e.g. "E_26865_6"
// @param k int = 10 (min 1, max 1000): how many targets
// @check graph node
// @example :param graph => "clt-hp-the-capital-of-201020250035-20251020-003525"; :param node => "E_26865_6"; :param k => 10
MATCH (n:Node {graph_id: $graph, node_id: $node})-[r:ATTRIBUTION]->(t)
RETURN t.node_id AS node_id, t.name AS name, t.kind AS kind, t.layer AS layer,
       t.position AS position, t.feature_id AS feature, r.weight AS weight, r.share AS share
ORDER BY abs(r.weight) DESC, node_id
LIMIT toInteger($k)
