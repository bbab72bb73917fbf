// Interventions (circuitstore intervene): one per request, found by id, by the graph it ran on
// and by the graph it swapped latents in from.
CREATE CONSTRAINT intervention_id IF NOT EXISTS FOR (i:Intervention) REQUIRE i.id IS UNIQUE;
CREATE INDEX intervention_graph IF NOT EXISTS FOR (i:Intervention) ON (i.graph_id);
CREATE INDEX intervention_swap IF NOT EXISTS FOR (i:Intervention) ON (i.swap_from);
