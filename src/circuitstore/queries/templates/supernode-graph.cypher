// supernode-graph: one graph collapsed to its supernodes, with summed edge weights between groups.
//
// Each node stands for its group: its supernode, or with $families its Feature's feature family
// built by that method (the same names in every graph of the transcoder set: "the Texas group"
// across prompts). $methods picks the supernodes by what made them (imported, manual,
// edge-profile, evidence; default: all); a node in several stands for the first, hand-made
// (imported, manual) before suggested, then by name. Ungrouped nodes stand for themselves
// (named by their caption) and are kept when they are input tokens or logits, or when their
// stored influence is at most $influence (circuit-tracer's cumulative influence, LOWER is MORE
// influential: 0.5 keeps the nodes that carry the first half of the graph's influence); nodes
// without a stored influence are kept. Edges between two kept groups are summed (weight) and
// counted (edges); edges within a group and edges touching dropped nodes are left out.
//
// Generated from templates/supernode-graph.cypher: edit that, then run `python -m circuitstore.queries.generate`.
//
// @param graph string: graph id
// @param influence float = 0.5 (min 0, max 1): keep ungrouped nodes with stored influence at most this
// @param methods list = null (min 1, max 4): only the supernodes of these methods, e.g. imported,manual or evidence
// @param families string = null: group by the feature families this method built (hand-made, edge-profile, evidence)
// @check graph
// @example :param graph => "capital-state-dallas"; :param influence => 0.5; :param methods => null; :param families => null
{{include group-edges}}
WITH a.name AS source, grouped_a AS source_grouped, b.name AS target, grouped_b AS target_grouped, w, n
WHERE source <> target
RETURN source, source_grouped, target, target_grouped, sum(w) AS weight, sum(n) AS edges
ORDER BY abs(weight) DESC, source, target
