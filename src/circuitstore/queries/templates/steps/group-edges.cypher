// The graph's edges between groups: a and b the group (or the ungrouped node) at each end,
// grouped_a and grouped_b whether it is a group, w and n the edges' summed weight and count.
// Ungrouped nodes are kept when they are tokens or logits or their stored influence is at most
// $influence. Each node's group is looked up once, not once per edge: the sources' first, then
// the edges summed per (source group, target), then each target's.
// node_id IS NOT NULL is always true: it makes the lookup a seek on the (graph_id, node_id) key.
MATCH (u:Node {graph_id: $graph})
WHERE u.node_id IS NOT NULL
{{include group node=u group=gu}}
WITH u, coalesce(gu, u) AS a, gu IS NOT NULL AS grouped_a
WHERE grouped_a OR u:Token OR u:Logit OR coalesce(u.influence <= $influence, true)
MATCH (u)-[r:ATTRIBUTION]->(v)
WITH a, grouped_a, v, sum(r.weight) AS w, count(r) AS n
WITH v, collect({a: a, grouped_a: grouped_a, w: w, n: n}) AS ins
{{include group node=v group=gv}}
WITH v, ins, coalesce(gv, v) AS b, gv IS NOT NULL AS grouped_b
WHERE grouped_b OR v:Token OR v:Logit OR coalesce(v.influence <= $influence, true)
UNWIND ins AS i
WITH i.a AS a, i.grouped_a AS grouped_a, b, grouped_b, i.w AS w, i.n AS n
