// neighbourhood, drawn: the subgraph of neighbourhood.cypher (its parameters and :param lines),
// each edge thicker when stronger, for Neo4j Browser's graph view.
//
// Generated from templates/draw/neighbourhood.cypher: edit that, then run `python -m circuitstore.queries.generate`.
MATCH (c:Node {graph_id: $graph, node_id: $node})
WITH c, [c] AS seen, [c] AS ring, 0 AS step
// step 1
CALL (seen, ring, step) {
  UNWIND ring AS a
  MATCH (a)-[r:ATTRIBUTION]-(b)
  WHERE step < $depth AND abs(r.weight) >= $min_weight AND NOT b IN seen
  RETURN collect(DISTINCT b) AS next
}
WITH c, seen + next AS seen, next AS ring, step + 1 AS step
// step 2
CALL (seen, ring, step) {
  UNWIND ring AS a
  MATCH (a)-[r:ATTRIBUTION]-(b)
  WHERE step < $depth AND abs(r.weight) >= $min_weight AND NOT b IN seen
  RETURN collect(DISTINCT b) AS next
}
WITH c, seen + next AS seen, next AS ring, step + 1 AS step
// step 3
CALL (seen, ring, step) {
  UNWIND ring AS a
  MATCH (a)-[r:ATTRIBUTION]-(b)
  WHERE step < $depth AND abs(r.weight) >= $min_weight AND NOT b IN seen
  RETURN collect(DISTINCT b) AS next
}
WITH c, seen + next AS seen, next AS ring, step + 1 AS step
CALL (seen) {
  UNWIND seen AS a
  MATCH (a)-[r:ATTRIBUTION]->(b)
  WHERE abs(r.weight) >= $min_weight AND b IN seen
  RETURN collect(r) AS relationships
}
WITH [r IN relationships | {a: startNode(r), b: endNode(r), w: r.weight}] AS edges
// One virtual relationship (APOC) per answer edge, typed by sign and by |weight| against the
// answer's largest, in quarters (EXCITES_1..4, INHIBITS_1..4): Browser's style sheet has no
// property selectors, so the type is what makes stronger edges thicker.
WITH edges, reduce(top = 0.0, e IN edges | CASE WHEN abs(e.w) > top THEN abs(e.w) ELSE top END) AS top
UNWIND edges AS e
RETURN e.a AS source, e.b AS target,
       apoc.create.vRelationship(e.a,
         CASE WHEN e.w < 0 THEN "INHIBITS_" ELSE "EXCITES_" END
         + CASE WHEN 4 * abs(e.w) <= top THEN "1" WHEN 2 * abs(e.w) <= top THEN "2"
                WHEN 4 * abs(e.w) <= 3 * top THEN "3" ELSE "4" END,
         {weight: round(e.w, 2)}, e.b) AS edge
