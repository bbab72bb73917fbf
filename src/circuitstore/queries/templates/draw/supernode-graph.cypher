// supernode-graph, drawn: the groups of supernode-graph.cypher (its parameters and :param lines)
// as the Supernode (or FeatureFamily) nodes themselves (ungrouped nodes as they are), one edge
// per pair with the summed weight, thicker when stronger, for Neo4j Browser's graph view.
//
// Generated from templates/draw/supernode-graph.cypher: edit that, then run `python -m circuitstore.queries.generate`.
{{include group-edges}}
WITH a, b, w WHERE a <> b
WITH a, b, sum(w) AS w
WITH collect({a: a, b: b, w: w}) AS edges
{{include draw}}
