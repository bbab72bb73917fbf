// paths, drawn: the answer of paths.cypher (its parameters and :param lines), given as the
// paths' nodes and one edge per step, thicker when stronger, for Neo4j Browser's graph view.
//
// Generated from templates/draw/paths.cypher: edit that, then run `python -m circuitstore.queries.generate`.
{{include paths-search}}
UNWIND done AS d
UNWIND range(0, size(d.nodes) - 2) AS j
WITH DISTINCT d.nodes[j] AS a, d.nodes[j + 1] AS b, d.weights[j] AS w
WITH collect({a: a, b: b, w: w}) AS edges
{{include draw}}
