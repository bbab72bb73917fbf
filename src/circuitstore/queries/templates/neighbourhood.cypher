// neighbourhood: the subgraph within $depth steps of a node, over edges with |weight| >= $min_weight.
//
// Steps follow ATTRIBUTION edges either way. Returns the centre, the nodes reached and every
// qualifying edge among them, so Neo4j Browser draws the subgraph. The step block below is
// repeated 3 times, the largest depth.
//
// Generated from templates/neighbourhood.cypher: edit that, then run `python -m circuitstore.queries.generate`.
//
// @param graph string: graph id
// @param node string: node id within the graph, e.g. "27_22605_7"
// @param depth int = 1 (min 1, max 3): how many steps
// @param min_weight float = 0.0 (min 0, max 1000000): smallest |weight| followed
// @check graph node
// @example :param graph => "clt-hp-the-capital-of-201020250035-20251020-003525"; :param node => "27_22605_7"; :param depth => 1; :param min_weight => 5.0
{{include neighbourhood-start}}
{{repeat neighbourhood 3}}
{{include neighbourhood-edges}}
RETURN c AS centre, seen AS nodes, relationships
