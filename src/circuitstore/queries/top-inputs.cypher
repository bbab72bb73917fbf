// top-inputs: a node's strongest direct sources in one graph, signed.
//
// The edges into the node ordered by |weight|; weight keeps its sign (negative = inhibits).
// share is the edge's signed share of all the node's input (w / sum |w| into the node).
//
// @param graph string: graph id
// @param node string: node id within the graph, e.g. "27_22605_7"
// @param k int = 10 (min 1, max 1000): how many sources
// @check graph node
// @example :param graph => "clt-hp-the-capital-of-201020250035-20251020-003525"; :param node => "27_22605_7"; :param k => 10
MATCH (n:Node {graph_id: $graph, node_id: $node})<-[r:ATTRIBUTION]-(s)
RETURN s.node_id AS node_id, s.name AS name, s.kind AS kind, s.layer AS layer,
       s.position AS position, s.feature_id AS feature, r.weight AS weight, r.share AS share
ORDER BY abs(r.weight) DESC, node_id
LIMIT toInteger($k)
