// recurrence: the Features that most often lie on the strongest paths to a logit, across graphs.
//
// For every stored graph (or those of $model, or whose prompt contains $prompt) that has a
// logit with text $target, finds the `paths` strongest paths from any input token to that
// logit, exactly as the `paths` query does (strength = product of the edges' shares of their
// target's input, positive edges only; the blocks below are the same, so memory is bounded by
// `paths` per graph), then counts, for each Feature, in how many graphs and on how many of those
// paths one of its latents lies.
//
// Generated from templates/recurrence.cypher: edit that, then run `python -m circuitstore.queries.generate`.
//
// @param target string: logit token text, e.g. " Austin"
// @param prompt string = null: only graphs whose prompt contains this text
// @param model string = null: only graphs of this model, e.g. "planted-capitals-v1"
// @param paths int = 5 (min 1, max 1000): strongest paths taken from each graph
// @param max_length int = 6 (min 1, max 8): most edges on a path
// @param k int = 20 (min 1, max 1000): how many features
// @check any_logit
// @example :params {target: " Austin", prompt: "Dallas", model: null, paths: 5, max_length: 6, k: 20}
MATCH (g:Graph)
WHERE ($prompt IS NULL OR g.prompt CONTAINS $prompt) AND ($model IS NULL OR g.model = $model)
MATCH (t:Logit {graph_id: g.id, text: $target})
WITH t, g, [[i IN range(0, g.n_nodes - 1) | CASE WHEN i = t.slot THEN 1.0 ELSE 0.0 END]] AS bound
// bound 1: each node's strongest completion in at most 1 edges (positive shares),
// a list indexed by slot: every node's value from its out-edges and the previous list
WITH t, g, CASE WHEN size(bound) >= $max_length THEN bound ELSE bound + [[i IN range(0, g.n_nodes - 1) |
  CASE WHEN i = t.slot THEN 1.0 ELSE reduce(m = 0.0, v IN [(x:Node {graph_id: t.graph_id, slot: i})-[r:ATTRIBUTION]->(y)
    WHERE r.share > 0 AND (y = t OR (NOT y:Logit AND y.position <= t.position)) | r.share * bound[-1][y.slot]] |
    CASE WHEN v > m THEN v ELSE m END) END]] END AS bound
// bound 2: each node's strongest completion in at most 2 edges (positive shares),
// a list indexed by slot: every node's value from its out-edges and the previous list
WITH t, g, CASE WHEN size(bound) >= $max_length THEN bound ELSE bound + [[i IN range(0, g.n_nodes - 1) |
  CASE WHEN i = t.slot THEN 1.0 ELSE reduce(m = 0.0, v IN [(x:Node {graph_id: t.graph_id, slot: i})-[r:ATTRIBUTION]->(y)
    WHERE r.share > 0 AND (y = t OR (NOT y:Logit AND y.position <= t.position)) | r.share * bound[-1][y.slot]] |
    CASE WHEN v > m THEN v ELSE m END) END]] END AS bound
// bound 3: each node's strongest completion in at most 3 edges (positive shares),
// a list indexed by slot: every node's value from its out-edges and the previous list
WITH t, g, CASE WHEN size(bound) >= $max_length THEN bound ELSE bound + [[i IN range(0, g.n_nodes - 1) |
  CASE WHEN i = t.slot THEN 1.0 ELSE reduce(m = 0.0, v IN [(x:Node {graph_id: t.graph_id, slot: i})-[r:ATTRIBUTION]->(y)
    WHERE r.share > 0 AND (y = t OR (NOT y:Logit AND y.position <= t.position)) | r.share * bound[-1][y.slot]] |
    CASE WHEN v > m THEN v ELSE m END) END]] END AS bound
// bound 4: each node's strongest completion in at most 4 edges (positive shares),
// a list indexed by slot: every node's value from its out-edges and the previous list
WITH t, g, CASE WHEN size(bound) >= $max_length THEN bound ELSE bound + [[i IN range(0, g.n_nodes - 1) |
  CASE WHEN i = t.slot THEN 1.0 ELSE reduce(m = 0.0, v IN [(x:Node {graph_id: t.graph_id, slot: i})-[r:ATTRIBUTION]->(y)
    WHERE r.share > 0 AND (y = t OR (NOT y:Logit AND y.position <= t.position)) | r.share * bound[-1][y.slot]] |
    CASE WHEN v > m THEN v ELSE m END) END]] END AS bound
// bound 5: each node's strongest completion in at most 5 edges (positive shares),
// a list indexed by slot: every node's value from its out-edges and the previous list
WITH t, g, CASE WHEN size(bound) >= $max_length THEN bound ELSE bound + [[i IN range(0, g.n_nodes - 1) |
  CASE WHEN i = t.slot THEN 1.0 ELSE reduce(m = 0.0, v IN [(x:Node {graph_id: t.graph_id, slot: i})-[r:ATTRIBUTION]->(y)
    WHERE r.share > 0 AND (y = t OR (NOT y:Logit AND y.position <= t.position)) | r.share * bound[-1][y.slot]] |
    CASE WHEN v > m THEN v ELSE m END) END]] END AS bound
// bound 6: each node's strongest completion in at most 6 edges (positive shares),
// a list indexed by slot: every node's value from its out-edges and the previous list
WITH t, g, CASE WHEN size(bound) >= $max_length THEN bound ELSE bound + [[i IN range(0, g.n_nodes - 1) |
  CASE WHEN i = t.slot THEN 1.0 ELSE reduce(m = 0.0, v IN [(x:Node {graph_id: t.graph_id, slot: i})-[r:ATTRIBUTION]->(y)
    WHERE r.share > 0 AND (y = t OR (NOT y:Logit AND y.position <= t.position)) | r.share * bound[-1][y.slot]] |
    CASE WHEN v > m THEN v ELSE m END) END]] END AS bound
// bound 7: each node's strongest completion in at most 7 edges (positive shares),
// a list indexed by slot: every node's value from its out-edges and the previous list
WITH t, g, CASE WHEN size(bound) >= $max_length THEN bound ELSE bound + [[i IN range(0, g.n_nodes - 1) |
  CASE WHEN i = t.slot THEN 1.0 ELSE reduce(m = 0.0, v IN [(x:Node {graph_id: t.graph_id, slot: i})-[r:ATTRIBUTION]->(y)
    WHERE r.share > 0 AND (y = t OR (NOT y:Logit AND y.position <= t.position)) | r.share * bound[-1][y.slot]] |
    CASE WHEN v > m THEN v ELSE m END) END]] END AS bound
CALL (t) {
  MATCH (s:Token {graph_id: t.graph_id})
  RETURN collect({n: s, s: 1.0, u: 1.0, w: 1.0, nodes: [s], shares: [], weights: []}) AS frontier
}
WITH t, g, bound, frontier, [] AS done, 0.0 AS theta
// step 1: paths of length 1. Of them and the complete ones, the $paths best by u
// (strength times best completion) are kept; theta, the worst u kept, only grows, so a path
// below it is never made. No ORDER BY: it would hold every row with all these lists.
CALL (t, bound, frontier, theta) {
  UNWIND range(0, size(frontier) - 1) AS i
  WITH i, frontier[i] AS p
  WITH i, p, p.n AS a
  MATCH (a)-[r:ATTRIBUTION]->(b)
  WHERE r.share > 0
    AND (b = t OR (size(p.nodes) < $max_length AND NOT b:Logit AND b.position <= t.position))
  WITH i, r, b, p.s * r.share AS s, size(p.nodes) AS n
  WITH i, r, b, s, CASE WHEN b = t THEN s ELSE s * bound[$max_length - n][b.slot] END AS u
  WHERE u > 0 AND u >= theta
  RETURN collect({i: i, r: r, b: b, s: s, u: u}) AS cands
}
WITH t, g, bound, frontier, done, cands, [d IN done | d.u] + [c IN cands | c.u] AS us
CALL (us) {
  UNWIND us AS u
  // the limit-th largest u: percentileDisc at (n - limit + 0.5) / n is exactly that one
  RETURN percentileDisc(u, CASE WHEN size(us) > $paths THEN (size(us) - $paths + 0.5) / size(us) ELSE 0.0 END) AS kth
}
WITH t, g, bound, frontier, done, cands, CASE WHEN size(us) > $paths THEN kth ELSE 0.0 END AS theta
WITH t, g, bound, frontier, theta, [d IN done WHERE d.u > theta] AS done_above, [d IN done WHERE d.u = theta] AS done_at,
     [c IN cands WHERE c.u > theta] AS above, [c IN cands WHERE c.u = theta] AS at
WITH t, g, bound, frontier, theta, above, at, done_above + done_at[..$paths - size(done_above) - size(above)] AS done
WITH t, g, bound, frontier, theta, done, above + at[..$paths - size(done) - size(above)] AS kept
WITH t, g, bound, theta, done, [c IN kept | {n: c.b, s: c.s, u: c.u, w: frontier[c.i].w * c.r.weight,
     nodes: frontier[c.i].nodes + c.b, shares: frontier[c.i].shares + c.r.share,
     weights: frontier[c.i].weights + c.r.weight}] AS grown
WITH t, g, bound, theta, done + [x IN grown WHERE x.n = t] AS done, [x IN grown WHERE x.n <> t] AS frontier
// step 2: paths of length 2. Of them and the complete ones, the $paths best by u
// (strength times best completion) are kept; theta, the worst u kept, only grows, so a path
// below it is never made. No ORDER BY: it would hold every row with all these lists.
CALL (t, bound, frontier, theta) {
  UNWIND range(0, size(frontier) - 1) AS i
  WITH i, frontier[i] AS p
  WITH i, p, p.n AS a
  MATCH (a)-[r:ATTRIBUTION]->(b)
  WHERE r.share > 0
    AND (b = t OR (size(p.nodes) < $max_length AND NOT b:Logit AND b.position <= t.position))
  WITH i, r, b, p.s * r.share AS s, size(p.nodes) AS n
  WITH i, r, b, s, CASE WHEN b = t THEN s ELSE s * bound[$max_length - n][b.slot] END AS u
  WHERE u > 0 AND u >= theta
  RETURN collect({i: i, r: r, b: b, s: s, u: u}) AS cands
}
WITH t, g, bound, frontier, done, cands, [d IN done | d.u] + [c IN cands | c.u] AS us
CALL (us) {
  UNWIND us AS u
  // the limit-th largest u: percentileDisc at (n - limit + 0.5) / n is exactly that one
  RETURN percentileDisc(u, CASE WHEN size(us) > $paths THEN (size(us) - $paths + 0.5) / size(us) ELSE 0.0 END) AS kth
}
WITH t, g, bound, frontier, done, cands, CASE WHEN size(us) > $paths THEN kth ELSE 0.0 END AS theta
WITH t, g, bound, frontier, theta, [d IN done WHERE d.u > theta] AS done_above, [d IN done WHERE d.u = theta] AS done_at,
     [c IN cands WHERE c.u > theta] AS above, [c IN cands WHERE c.u = theta] AS at
WITH t, g, bound, frontier, theta, above, at, done_above + done_at[..$paths - size(done_above) - size(above)] AS done
WITH t, g, bound, frontier, theta, done, above + at[..$paths - size(done) - size(above)] AS kept
WITH t, g, bound, theta, done, [c IN kept | {n: c.b, s: c.s, u: c.u, w: frontier[c.i].w * c.r.weight,
     nodes: frontier[c.i].nodes + c.b, shares: frontier[c.i].shares + c.r.share,
     weights: frontier[c.i].weights + c.r.weight}] AS grown
WITH t, g, bound, theta, done + [x IN grown WHERE x.n = t] AS done, [x IN grown WHERE x.n <> t] AS frontier
// step 3: paths of length 3. Of them and the complete ones, the $paths best by u
// (strength times best completion) are kept; theta, the worst u kept, only grows, so a path
// below it is never made. No ORDER BY: it would hold every row with all these lists.
CALL (t, bound, frontier, theta) {
  UNWIND range(0, size(frontier) - 1) AS i
  WITH i, frontier[i] AS p
  WITH i, p, p.n AS a
  MATCH (a)-[r:ATTRIBUTION]->(b)
  WHERE r.share > 0
    AND (b = t OR (size(p.nodes) < $max_length AND NOT b:Logit AND b.position <= t.position))
  WITH i, r, b, p.s * r.share AS s, size(p.nodes) AS n
  WITH i, r, b, s, CASE WHEN b = t THEN s ELSE s * bound[$max_length - n][b.slot] END AS u
  WHERE u > 0 AND u >= theta
  RETURN collect({i: i, r: r, b: b, s: s, u: u}) AS cands
}
WITH t, g, bound, frontier, done, cands, [d IN done | d.u] + [c IN cands | c.u] AS us
CALL (us) {
  UNWIND us AS u
  // the limit-th largest u: percentileDisc at (n - limit + 0.5) / n is exactly that one
  RETURN percentileDisc(u, CASE WHEN size(us) > $paths THEN (size(us) - $paths + 0.5) / size(us) ELSE 0.0 END) AS kth
}
WITH t, g, bound, frontier, done, cands, CASE WHEN size(us) > $paths THEN kth ELSE 0.0 END AS theta
WITH t, g, bound, frontier, theta, [d IN done WHERE d.u > theta] AS done_above, [d IN done WHERE d.u = theta] AS done_at,
     [c IN cands WHERE c.u > theta] AS above, [c IN cands WHERE c.u = theta] AS at
WITH t, g, bound, frontier, theta, above, at, done_above + done_at[..$paths - size(done_above) - size(above)] AS done
WITH t, g, bound, frontier, theta, done, above + at[..$paths - size(done) - size(above)] AS kept
WITH t, g, bound, theta, done, [c IN kept | {n: c.b, s: c.s, u: c.u, w: frontier[c.i].w * c.r.weight,
     nodes: frontier[c.i].nodes + c.b, shares: frontier[c.i].shares + c.r.share,
     weights: frontier[c.i].weights + c.r.weight}] AS grown
WITH t, g, bound, theta, done + [x IN grown WHERE x.n = t] AS done, [x IN grown WHERE x.n <> t] AS frontier
// step 4: paths of length 4. Of them and the complete ones, the $paths best by u
// (strength times best completion) are kept; theta, the worst u kept, only grows, so a path
// below it is never made. No ORDER BY: it would hold every row with all these lists.
CALL (t, bound, frontier, theta) {
  UNWIND range(0, size(frontier) - 1) AS i
  WITH i, frontier[i] AS p
  WITH i, p, p.n AS a
  MATCH (a)-[r:ATTRIBUTION]->(b)
  WHERE r.share > 0
    AND (b = t OR (size(p.nodes) < $max_length AND NOT b:Logit AND b.position <= t.position))
  WITH i, r, b, p.s * r.share AS s, size(p.nodes) AS n
  WITH i, r, b, s, CASE WHEN b = t THEN s ELSE s * bound[$max_length - n][b.slot] END AS u
  WHERE u > 0 AND u >= theta
  RETURN collect({i: i, r: r, b: b, s: s, u: u}) AS cands
}
WITH t, g, bound, frontier, done, cands, [d IN done | d.u] + [c IN cands | c.u] AS us
CALL (us) {
  UNWIND us AS u
  // the limit-th largest u: percentileDisc at (n - limit + 0.5) / n is exactly that one
  RETURN percentileDisc(u, CASE WHEN size(us) > $paths THEN (size(us) - $paths + 0.5) / size(us) ELSE 0.0 END) AS kth
}
WITH t, g, bound, frontier, done, cands, CASE WHEN size(us) > $paths THEN kth ELSE 0.0 END AS theta
WITH t, g, bound, frontier, theta, [d IN done WHERE d.u > theta] AS done_above, [d IN done WHERE d.u = theta] AS done_at,
     [c IN cands WHERE c.u > theta] AS above, [c IN cands WHERE c.u = theta] AS at
WITH t, g, bound, frontier, theta, above, at, done_above + done_at[..$paths - size(done_above) - size(above)] AS done
WITH t, g, bound, frontier, theta, done, above + at[..$paths - size(done) - size(above)] AS kept
WITH t, g, bound, theta, done, [c IN kept | {n: c.b, s: c.s, u: c.u, w: frontier[c.i].w * c.r.weight,
     nodes: frontier[c.i].nodes + c.b, shares: frontier[c.i].shares + c.r.share,
     weights: frontier[c.i].weights + c.r.weight}] AS grown
WITH t, g, bound, theta, done + [x IN grown WHERE x.n = t] AS done, [x IN grown WHERE x.n <> t] AS frontier
// step 5: paths of length 5. Of them and the complete ones, the $paths best by u
// (strength times best completion) are kept; theta, the worst u kept, only grows, so a path
// below it is never made. No ORDER BY: it would hold every row with all these lists.
CALL (t, bound, frontier, theta) {
  UNWIND range(0, size(frontier) - 1) AS i
  WITH i, frontier[i] AS p
  WITH i, p, p.n AS a
  MATCH (a)-[r:ATTRIBUTION]->(b)
  WHERE r.share > 0
    AND (b = t OR (size(p.nodes) < $max_length AND NOT b:Logit AND b.position <= t.position))
  WITH i, r, b, p.s * r.share AS s, size(p.nodes) AS n
  WITH i, r, b, s, CASE WHEN b = t THEN s ELSE s * bound[$max_length - n][b.slot] END AS u
  WHERE u > 0 AND u >= theta
  RETURN collect({i: i, r: r, b: b, s: s, u: u}) AS cands
}
WITH t, g, bound, frontier, done, cands, [d IN done | d.u] + [c IN cands | c.u] AS us
CALL (us) {
  UNWIND us AS u
  // the limit-th largest u: percentileDisc at (n - limit + 0.5) / n is exactly that one
  RETURN percentileDisc(u, CASE WHEN size(us) > $paths THEN (size(us) - $paths + 0.5) / size(us) ELSE 0.0 END) AS kth
}
WITH t, g, bound, frontier, done, cands, CASE WHEN size(us) > $paths THEN kth ELSE 0.0 END AS theta
WITH t, g, bound, frontier, theta, [d IN done WHERE d.u > theta] AS done_above, [d IN done WHERE d.u = theta] AS done_at,
     [c IN cands WHERE c.u > theta] AS above, [c IN cands WHERE c.u = theta] AS at
WITH t, g, bound, frontier, theta, above, at, done_above + done_at[..$paths - size(done_above) - size(above)] AS done
WITH t, g, bound, frontier, theta, done, above + at[..$paths - size(done) - size(above)] AS kept
WITH t, g, bound, theta, done, [c IN kept | {n: c.b, s: c.s, u: c.u, w: frontier[c.i].w * c.r.weight,
     nodes: frontier[c.i].nodes + c.b, shares: frontier[c.i].shares + c.r.share,
     weights: frontier[c.i].weights + c.r.weight}] AS grown
WITH t, g, bound, theta, done + [x IN grown WHERE x.n = t] AS done, [x IN grown WHERE x.n <> t] AS frontier
// step 6: paths of length 6. Of them and the complete ones, the $paths best by u
// (strength times best completion) are kept; theta, the worst u kept, only grows, so a path
// below it is never made. No ORDER BY: it would hold every row with all these lists.
CALL (t, bound, frontier, theta) {
  UNWIND range(0, size(frontier) - 1) AS i
  WITH i, frontier[i] AS p
  WITH i, p, p.n AS a
  MATCH (a)-[r:ATTRIBUTION]->(b)
  WHERE r.share > 0
    AND (b = t OR (size(p.nodes) < $max_length AND NOT b:Logit AND b.position <= t.position))
  WITH i, r, b, p.s * r.share AS s, size(p.nodes) AS n
  WITH i, r, b, s, CASE WHEN b = t THEN s ELSE s * bound[$max_length - n][b.slot] END AS u
  WHERE u > 0 AND u >= theta
  RETURN collect({i: i, r: r, b: b, s: s, u: u}) AS cands
}
WITH t, g, bound, frontier, done, cands, [d IN done | d.u] + [c IN cands | c.u] AS us
CALL (us) {
  UNWIND us AS u
  // the limit-th largest u: percentileDisc at (n - limit + 0.5) / n is exactly that one
  RETURN percentileDisc(u, CASE WHEN size(us) > $paths THEN (size(us) - $paths + 0.5) / size(us) ELSE 0.0 END) AS kth
}
WITH t, g, bound, frontier, done, cands, CASE WHEN size(us) > $paths THEN kth ELSE 0.0 END AS theta
WITH t, g, bound, frontier, theta, [d IN done WHERE d.u > theta] AS done_above, [d IN done WHERE d.u = theta] AS done_at,
     [c IN cands WHERE c.u > theta] AS above, [c IN cands WHERE c.u = theta] AS at
WITH t, g, bound, frontier, theta, above, at, done_above + done_at[..$paths - size(done_above) - size(above)] AS done
WITH t, g, bound, frontier, theta, done, above + at[..$paths - size(done) - size(above)] AS kept
WITH t, g, bound, theta, done, [c IN kept | {n: c.b, s: c.s, u: c.u, w: frontier[c.i].w * c.r.weight,
     nodes: frontier[c.i].nodes + c.b, shares: frontier[c.i].shares + c.r.share,
     weights: frontier[c.i].weights + c.r.weight}] AS grown
WITH t, g, bound, theta, done + [x IN grown WHERE x.n = t] AS done, [x IN grown WHERE x.n <> t] AS frontier
// step 7: paths of length 7. Of them and the complete ones, the $paths best by u
// (strength times best completion) are kept; theta, the worst u kept, only grows, so a path
// below it is never made. No ORDER BY: it would hold every row with all these lists.
CALL (t, bound, frontier, theta) {
  UNWIND range(0, size(frontier) - 1) AS i
  WITH i, frontier[i] AS p
  WITH i, p, p.n AS a
  MATCH (a)-[r:ATTRIBUTION]->(b)
  WHERE r.share > 0
    AND (b = t OR (size(p.nodes) < $max_length AND NOT b:Logit AND b.position <= t.position))
  WITH i, r, b, p.s * r.share AS s, size(p.nodes) AS n
  WITH i, r, b, s, CASE WHEN b = t THEN s ELSE s * bound[$max_length - n][b.slot] END AS u
  WHERE u > 0 AND u >= theta
  RETURN collect({i: i, r: r, b: b, s: s, u: u}) AS cands
}
WITH t, g, bound, frontier, done, cands, [d IN done | d.u] + [c IN cands | c.u] AS us
CALL (us) {
  UNWIND us AS u
  // the limit-th largest u: percentileDisc at (n - limit + 0.5) / n is exactly that one
  RETURN percentileDisc(u, CASE WHEN size(us) > $paths THEN (size(us) - $paths + 0.5) / size(us) ELSE 0.0 END) AS kth
}
WITH t, g, bound, frontier, done, cands, CASE WHEN size(us) > $paths THEN kth ELSE 0.0 END AS theta
WITH t, g, bound, frontier, theta, [d IN done WHERE d.u > theta] AS done_above, [d IN done WHERE d.u = theta] AS done_at,
     [c IN cands WHERE c.u > theta] AS above, [c IN cands WHERE c.u = theta] AS at
WITH t, g, bound, frontier, theta, above, at, done_above + done_at[..$paths - size(done_above) - size(above)] AS done
WITH t, g, bound, frontier, theta, done, above + at[..$paths - size(done) - size(above)] AS kept
WITH t, g, bound, theta, done, [c IN kept | {n: c.b, s: c.s, u: c.u, w: frontier[c.i].w * c.r.weight,
     nodes: frontier[c.i].nodes + c.b, shares: frontier[c.i].shares + c.r.share,
     weights: frontier[c.i].weights + c.r.weight}] AS grown
WITH t, g, bound, theta, done + [x IN grown WHERE x.n = t] AS done, [x IN grown WHERE x.n <> t] AS frontier
// step 8: paths of length 8. Of them and the complete ones, the $paths best by u
// (strength times best completion) are kept; theta, the worst u kept, only grows, so a path
// below it is never made. No ORDER BY: it would hold every row with all these lists.
CALL (t, bound, frontier, theta) {
  UNWIND range(0, size(frontier) - 1) AS i
  WITH i, frontier[i] AS p
  WITH i, p, p.n AS a
  MATCH (a)-[r:ATTRIBUTION]->(b)
  WHERE r.share > 0
    AND (b = t OR (size(p.nodes) < $max_length AND NOT b:Logit AND b.position <= t.position))
  WITH i, r, b, p.s * r.share AS s, size(p.nodes) AS n
  WITH i, r, b, s, CASE WHEN b = t THEN s ELSE s * bound[$max_length - n][b.slot] END AS u
  WHERE u > 0 AND u >= theta
  RETURN collect({i: i, r: r, b: b, s: s, u: u}) AS cands
}
WITH t, g, bound, frontier, done, cands, [d IN done | d.u] + [c IN cands | c.u] AS us
CALL (us) {
  UNWIND us AS u
  // the limit-th largest u: percentileDisc at (n - limit + 0.5) / n is exactly that one
  RETURN percentileDisc(u, CASE WHEN size(us) > $paths THEN (size(us) - $paths + 0.5) / size(us) ELSE 0.0 END) AS kth
}
WITH t, g, bound, frontier, done, cands, CASE WHEN size(us) > $paths THEN kth ELSE 0.0 END AS theta
WITH t, g, bound, frontier, theta, [d IN done WHERE d.u > theta] AS done_above, [d IN done WHERE d.u = theta] AS done_at,
     [c IN cands WHERE c.u > theta] AS above, [c IN cands WHERE c.u = theta] AS at
WITH t, g, bound, frontier, theta, above, at, done_above + done_at[..$paths - size(done_above) - size(above)] AS done
WITH t, g, bound, frontier, theta, done, above + at[..$paths - size(done) - size(above)] AS kept
WITH t, g, bound, theta, done, [c IN kept | {n: c.b, s: c.s, u: c.u, w: frontier[c.i].w * c.r.weight,
     nodes: frontier[c.i].nodes + c.b, shares: frontier[c.i].shares + c.r.share,
     weights: frontier[c.i].weights + c.r.weight}] AS grown
WITH t, g, bound, theta, done + [x IN grown WHERE x.n = t] AS done, [x IN grown WHERE x.n <> t] AS frontier
UNWIND done AS d
UNWIND d.nodes AS n
WITH t.graph_id AS graph, n WHERE n:Latent
WITH n.feature_id AS feature, graph, count(*) AS on_paths
// (sorting on an aggregate's result: a plain ORDER BY graph is planned before the UNWINDs,
// holding every graph's path lists at once)
ORDER BY CASE WHEN on_paths > 0 THEN graph END
WITH feature, count(graph) AS n_graphs, sum(on_paths) AS n_paths, collect(graph) AS graphs
MATCH (f:Feature {id: feature})
RETURN f.id AS feature, f.label AS label, f.layer AS layer, n_graphs, n_paths, graphs
ORDER BY n_graphs DESC, n_paths DESC, feature
LIMIT $k
