// bound {{step}}: each node's strongest completion in at most {{step}} edges (positive shares),
// a list indexed by slot: every node's value from its out-edges and the previous list
WITH t, g, CASE WHEN size(bound) >= $max_length THEN bound ELSE bound + [[i IN range(0, g.n_nodes - 1) |
  CASE WHEN i = t.slot THEN 1.0 ELSE reduce(m = 0.0, v IN [(x:Node {graph_id: {{graph}}, slot: i})-[r:ATTRIBUTION]->(y)
    WHERE r.share > 0 AND (y = t OR (NOT y:Logit AND y.position <= t.position)) | r.share * bound[-1][y.slot]] |
    CASE WHEN v > m THEN v ELSE m END) END]] END AS bound
