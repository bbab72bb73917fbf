// top-inputs, drawn: the sources of top-inputs.cypher (its parameters and :param lines) with
// their edges into the node, thicker when stronger, for Neo4j Browser's graph view.
//
// Generated from templates/draw/top-inputs.cypher: edit that, then run `python -m circuitstore.queries.generate`.
MATCH (n:Node {graph_id: $graph, node_id: $node})<-[r:ATTRIBUTION]-(s)
WITH n, r, s ORDER BY abs(r.weight) DESC, s.node_id LIMIT toInteger($k)
WITH collect({a: s, b: n, w: r.weight}) AS edges
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
