// neighbourhood, drawn: the subgraph of neighbourhood.cypher (its parameters and :param lines),
// each edge thicker when stronger, for Neo4j Browser's graph view.
//
// Generated from templates/draw/neighbourhood.cypher: edit that, then run `python -m circuitstore.queries.generate`.
{{include neighbourhood-start}}
{{repeat neighbourhood 3}}
{{include neighbourhood-edges}}
WITH [r IN relationships | {a: startNode(r), b: endNode(r), w: r.weight}] AS edges
{{include draw}}
