// top-inputs, drawn: the sources of top-inputs.cypher (its parameters and :param lines) with
// their edges into the node, thicker when stronger, for Neo4j Browser's graph view.
//
// Generated from templates/draw/top-inputs.cypher: edit that, then run `python -m circuitstore.queries.generate`.
MATCH (n:Node {graph_id: $graph, node_id: $node})<-[r:ATTRIBUTION]-(s)
WITH n, r, s ORDER BY abs(r.weight) DESC, s.node_id LIMIT toInteger($k)
WITH collect({a: s, b: n, w: r.weight}) AS edges
{{include draw}}
