// paths: the strongest paths in one graph from an input token to a logit.
//
// Path strength is the product over the path's edges of each edge's share of its target's
// input, `share = w / sum(|w| of every edge into the target)` (stored on ATTRIBUTION with
// the graph). Only paths whose edges are all positive count, so strength is in (0, 1]; the raw
// product of the weights comes back too. With no source or position, paths start at any input
// token; with no target, they end at the graph's target logit.
//
// Most answers are read, not searched: each logit keeps the strongest paths of each length
// found at ingest (circuitstore.derived), and when they provably hold the exact top k (the
// block paths-stored says when), the answer is those, with their edges looked up. Else the
// search below runs; both give the same rows.
//
// The search, exact top-k in memory bounded by k, not by the graph: first, for every node and every number
// of edges r, the strongest completion to the target in at most r edges (`bound`, one list per r
// indexed by the node's `slot`; the block `bound` is repeated up to max_length - 1 times). Then
// the search goes one edge per step (the block `paths`, repeated 8 times, the largest max_length)
// and ranks each partial path by its strength times its best completion (`u`): a path that can
// actually be had. So the k best by u, complete or not, are k distinct paths at least as strong
// as the k-th of them, and anything ranked below can be dropped: at most k paths are kept at any
// step, however many nodes the graph has.
//
// Generated from templates/paths.cypher: edit that, then run `python -m circuitstore.queries.generate`.
//
// @param graph string: graph id
// @param source string = null: input token text, e.g. " Dallas" (mind the leading space)
// @param position int = null (min 0, max 1000000): input token position (0 = first token)
// @param target string = null: logit token text, e.g. " Austin"; default: the target logit
// @param max_length int = 6 (min 1, max 8): most edges on a path
// @param k int = 5 (min 1, max 1000): how many paths
// @check graph token logit
// @example :param graph => "clt-hp-the-capital-of-201020250035-20251020-003525"; :param source => " Dallas"; :param position => null; :param target => " Austin"; :param max_length => 6; :param k => 5
MATCH (t:Logit {graph_id: $graph})
WHERE CASE WHEN $target IS NULL THEN t.is_target ELSE t.text = $target END
WITH t ORDER BY t.probability DESC LIMIT 1
MATCH (g:Graph {id: $graph})
// The logit keeps, from ingest (circuitstore.derived), the g.stored_paths strongest paths of each
// length from any token, strongest first. A path not kept is no stronger than the weakest kept
// one of its length, and a length that keeps fewer keeps all of its paths. So when the k-th kept
// path from the sources asked for, of at most max_length edges, is stronger than every full
// length's weakest, and none of the first k + 1 tie (the search's order of ties is its own), the
// kept ones are the answer: read them (`exact`; so too when no token is a source); else search.
WITH t, g, t.paths_strength AS ps, coalesce(t.paths_length, []) AS pl, t.paths_node_start AS ns, t.paths_nodes AS pn,
     COLLECT { MATCH (s:Token {graph_id: $graph})
       WHERE ($source IS NULL OR s.text = $source) AND ($position IS NULL OR s.position = $position) RETURN s.node_id } AS sources
WITH t, g, ps, ns, pn, sources, [i IN range(0, size(pl) - 1) WHERE pl[i] <= $max_length AND pn[ns[i]] IN sources] AS chosen,
     [m IN range(1, toInteger($max_length)) | [i IN range(0, size(pl) - 1) WHERE pl[i] = m]] AS by_length
WITH t, g, ps, ns, pn, sources, chosen[..toInteger($k)] AS top, chosen[..toInteger($k) + 1] AS next,
     CASE WHEN size(chosen) >= $k THEN ps[chosen[toInteger($k) - 1]] ELSE 0.0 END AS kth,
     [b IN by_length WHERE size(b) >= coalesce(g.stored_paths, 0) | CASE WHEN size(b) = 0 THEN 2.0 ELSE ps[b[-1]] END] AS floors
WITH t, g, ps, ns, pn, top, size(sources) = 0 OR (ps IS NOT NULL AND coalesce(g.stored_paths, 0) > 0
     AND all(f IN floors WHERE f < kth) AND all(j IN range(1, size(next) - 1) WHERE ps[next[j]] < ps[next[j - 1]])) AS exact
CALL (t, g, ps, ns, pn, top, exact) {
  // each kept path's edges, looked up by its nodes' ids; strength and weight product from them,
  // as the search works them out
  WITH t, ns, pn, top WHERE exact
  WITH t, [i IN top | [j IN range(ns[i], ns[i + 1] - 2) |
    head([(:Node {graph_id: $graph, node_id: pn[j]})-[r:ATTRIBUTION]->(:Node {graph_id: $graph, node_id: pn[j + 1]}) | r])]] AS kept
  RETURN [rs IN kept | {n: t, s: reduce(s = 1.0, r IN rs | s * r.share), w: reduce(w = 1.0, r IN rs | w * r.weight),
          nodes: [startNode(rs[0])] + [r IN rs | endNode(r)], shares: [r IN rs | r.share], weights: [r IN rs | r.weight]}] AS done
  UNION ALL
  WITH t, g WHERE NOT exact
  WITH t, g, [[i IN range(0, g.n_nodes - 1) | CASE WHEN i = t.slot THEN 1.0 ELSE 0.0 END]] AS bound
// bound 1: each node's strongest completion in at most 1 edges (positive shares),
// a list indexed by slot: every node's value from its out-edges and the previous list
WITH t, g, CASE WHEN size(bound) >= $max_length THEN bound ELSE bound + [[i IN range(0, g.n_nodes - 1) |
  CASE WHEN i = t.slot THEN 1.0 ELSE reduce(m = 0.0, v IN [(x:Node {graph_id: $graph, slot: i})-[r:ATTRIBUTION]->(y)
    WHERE r.share > 0 AND (y = t OR (NOT y:Logit AND y.position <= t.position)) | r.share * bound[-1][y.slot]] |
    CASE WHEN v > m THEN v ELSE m END) END]] END AS bound
// bound 2: each node's strongest completion in at most 2 edges (positive shares),
// a list indexed by slot: every node's value from its out-edges and the previous list
WITH t, g, CASE WHEN size(bound) >= $max_length THEN bound ELSE bound + [[i IN range(0, g.n_nodes - 1) |
  CASE WHEN i = t.slot THEN 1.0 ELSE reduce(m = 0.0, v IN [(x:Node {graph_id: $graph, slot: i})-[r:ATTRIBUTION]->(y)
    WHERE r.share > 0 AND (y = t OR (NOT y:Logit AND y.position <= t.position)) | r.share * bound[-1][y.slot]] |
    CASE WHEN v > m THEN v ELSE m END) END]] END AS bound
// bound 3: each node's strongest completion in at most 3 edges (positive shares),
// a list indexed by slot: every node's value from its out-edges and the previous list
WITH t, g, CASE WHEN size(bound) >= $max_length THEN bound ELSE bound + [[i IN range(0, g.n_nodes - 1) |
  CASE WHEN i = t.slot THEN 1.0 ELSE reduce(m = 0.0, v IN [(x:Node {graph_id: $graph, slot: i})-[r:ATTRIBUTION]->(y)
    WHERE r.share > 0 AND (y = t OR (NOT y:Logit AND y.position <= t.position)) | r.share * bound[-1][y.slot]] |
    CASE WHEN v > m THEN v ELSE m END) END]] END AS bound
// bound 4: each node's strongest completion in at most 4 edges (positive shares),
// a list indexed by slot: every node's value from its out-edges and the previous list
WITH t, g, CASE WHEN size(bound) >= $max_length THEN bound ELSE bound + [[i IN range(0, g.n_nodes - 1) |
  CASE WHEN i = t.slot THEN 1.0 ELSE reduce(m = 0.0, v IN [(x:Node {graph_id: $graph, slot: i})-[r:ATTRIBUTION]->(y)
    WHERE r.share > 0 AND (y = t OR (NOT y:Logit AND y.position <= t.position)) | r.share * bound[-1][y.slot]] |
    CASE WHEN v > m THEN v ELSE m END) END]] END AS bound
// bound 5: each node's strongest completion in at most 5 edges (positive shares),
// a list indexed by slot: every node's value from its out-edges and the previous list
WITH t, g, CASE WHEN size(bound) >= $max_length THEN bound ELSE bound + [[i IN range(0, g.n_nodes - 1) |
  CASE WHEN i = t.slot THEN 1.0 ELSE reduce(m = 0.0, v IN [(x:Node {graph_id: $graph, slot: i})-[r:ATTRIBUTION]->(y)
    WHERE r.share > 0 AND (y = t OR (NOT y:Logit AND y.position <= t.position)) | r.share * bound[-1][y.slot]] |
    CASE WHEN v > m THEN v ELSE m END) END]] END AS bound
// bound 6: each node's strongest completion in at most 6 edges (positive shares),
// a list indexed by slot: every node's value from its out-edges and the previous list
WITH t, g, CASE WHEN size(bound) >= $max_length THEN bound ELSE bound + [[i IN range(0, g.n_nodes - 1) |
  CASE WHEN i = t.slot THEN 1.0 ELSE reduce(m = 0.0, v IN [(x:Node {graph_id: $graph, slot: i})-[r:ATTRIBUTION]->(y)
    WHERE r.share > 0 AND (y = t OR (NOT y:Logit AND y.position <= t.position)) | r.share * bound[-1][y.slot]] |
    CASE WHEN v > m THEN v ELSE m END) END]] END AS bound
// bound 7: each node's strongest completion in at most 7 edges (positive shares),
// a list indexed by slot: every node's value from its out-edges and the previous list
WITH t, g, CASE WHEN size(bound) >= $max_length THEN bound ELSE bound + [[i IN range(0, g.n_nodes - 1) |
  CASE WHEN i = t.slot THEN 1.0 ELSE reduce(m = 0.0, v IN [(x:Node {graph_id: $graph, slot: i})-[r:ATTRIBUTION]->(y)
    WHERE r.share > 0 AND (y = t OR (NOT y:Logit AND y.position <= t.position)) | r.share * bound[-1][y.slot]] |
    CASE WHEN v > m THEN v ELSE m END) END]] END AS bound
MATCH (s:Token {graph_id: $graph})
WHERE ($source IS NULL OR s.text = $source) AND ($position IS NULL OR s.position = $position)
WITH t, g, bound, collect({n: s, s: 1.0, u: 1.0, w: 1.0, nodes: [s], shares: [], weights: []}) AS frontier
WITH t, g, bound, frontier, [] AS done, 0.0 AS theta
// step 1: paths of length 1. Of them and the complete ones, the toInteger($k) best by u
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
  WITH i, r, b, s, CASE WHEN b = t THEN s ELSE s * bound[toInteger($max_length) - n][b.slot] END AS u
  WHERE u > 0 AND u >= theta
  RETURN collect({i: i, r: r, b: b, s: s, u: u}) AS cands
}
WITH t, g, bound, frontier, done, cands, [d IN done | d.u] + [c IN cands | c.u] AS us
CALL (us) {
  UNWIND us AS u
  // the limit-th largest u: percentileDisc at (n - limit + 0.5) / n is exactly that one
  RETURN percentileDisc(u, CASE WHEN size(us) > toInteger($k) THEN (size(us) - toInteger($k) + 0.5) / size(us) ELSE 0.0 END) AS kth
}
WITH t, g, bound, frontier, done, cands, CASE WHEN size(us) > toInteger($k) THEN kth ELSE 0.0 END AS theta
WITH t, g, bound, frontier, theta, [d IN done WHERE d.u > theta] AS done_above, [d IN done WHERE d.u = theta] AS done_at,
     [c IN cands WHERE c.u > theta] AS above, [c IN cands WHERE c.u = theta] AS at
WITH t, g, bound, frontier, theta, above, at, done_above + done_at[..toInteger($k) - size(done_above) - size(above)] AS done
WITH t, g, bound, frontier, theta, done, above + at[..toInteger($k) - size(done) - size(above)] AS kept
WITH t, g, bound, theta, done, [c IN kept | {n: c.b, s: c.s, u: c.u, w: frontier[c.i].w * c.r.weight,
     nodes: frontier[c.i].nodes + c.b, shares: frontier[c.i].shares + c.r.share,
     weights: frontier[c.i].weights + c.r.weight}] AS grown
WITH t, g, bound, theta, done + [x IN grown WHERE x.n = t] AS done, [x IN grown WHERE x.n <> t] AS frontier
// step 2: paths of length 2. Of them and the complete ones, the toInteger($k) best by u
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
  WITH i, r, b, s, CASE WHEN b = t THEN s ELSE s * bound[toInteger($max_length) - n][b.slot] END AS u
  WHERE u > 0 AND u >= theta
  RETURN collect({i: i, r: r, b: b, s: s, u: u}) AS cands
}
WITH t, g, bound, frontier, done, cands, [d IN done | d.u] + [c IN cands | c.u] AS us
CALL (us) {
  UNWIND us AS u
  // the limit-th largest u: percentileDisc at (n - limit + 0.5) / n is exactly that one
  RETURN percentileDisc(u, CASE WHEN size(us) > toInteger($k) THEN (size(us) - toInteger($k) + 0.5) / size(us) ELSE 0.0 END) AS kth
}
WITH t, g, bound, frontier, done, cands, CASE WHEN size(us) > toInteger($k) THEN kth ELSE 0.0 END AS theta
WITH t, g, bound, frontier, theta, [d IN done WHERE d.u > theta] AS done_above, [d IN done WHERE d.u = theta] AS done_at,
     [c IN cands WHERE c.u > theta] AS above, [c IN cands WHERE c.u = theta] AS at
WITH t, g, bound, frontier, theta, above, at, done_above + done_at[..toInteger($k) - size(done_above) - size(above)] AS done
WITH t, g, bound, frontier, theta, done, above + at[..toInteger($k) - size(done) - size(above)] AS kept
WITH t, g, bound, theta, done, [c IN kept | {n: c.b, s: c.s, u: c.u, w: frontier[c.i].w * c.r.weight,
     nodes: frontier[c.i].nodes + c.b, shares: frontier[c.i].shares + c.r.share,
     weights: frontier[c.i].weights + c.r.weight}] AS grown
WITH t, g, bound, theta, done + [x IN grown WHERE x.n = t] AS done, [x IN grown WHERE x.n <> t] AS frontier
// step 3: paths of length 3. Of them and the complete ones, the toInteger($k) best by u
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
  WITH i, r, b, s, CASE WHEN b = t THEN s ELSE s * bound[toInteger($max_length) - n][b.slot] END AS u
  WHERE u > 0 AND u >= theta
  RETURN collect({i: i, r: r, b: b, s: s, u: u}) AS cands
}
WITH t, g, bound, frontier, done, cands, [d IN done | d.u] + [c IN cands | c.u] AS us
CALL (us) {
  UNWIND us AS u
  // the limit-th largest u: percentileDisc at (n - limit + 0.5) / n is exactly that one
  RETURN percentileDisc(u, CASE WHEN size(us) > toInteger($k) THEN (size(us) - toInteger($k) + 0.5) / size(us) ELSE 0.0 END) AS kth
}
WITH t, g, bound, frontier, done, cands, CASE WHEN size(us) > toInteger($k) THEN kth ELSE 0.0 END AS theta
WITH t, g, bound, frontier, theta, [d IN done WHERE d.u > theta] AS done_above, [d IN done WHERE d.u = theta] AS done_at,
     [c IN cands WHERE c.u > theta] AS above, [c IN cands WHERE c.u = theta] AS at
WITH t, g, bound, frontier, theta, above, at, done_above + done_at[..toInteger($k) - size(done_above) - size(above)] AS done
WITH t, g, bound, frontier, theta, done, above + at[..toInteger($k) - size(done) - size(above)] AS kept
WITH t, g, bound, theta, done, [c IN kept | {n: c.b, s: c.s, u: c.u, w: frontier[c.i].w * c.r.weight,
     nodes: frontier[c.i].nodes + c.b, shares: frontier[c.i].shares + c.r.share,
     weights: frontier[c.i].weights + c.r.weight}] AS grown
WITH t, g, bound, theta, done + [x IN grown WHERE x.n = t] AS done, [x IN grown WHERE x.n <> t] AS frontier
// step 4: paths of length 4. Of them and the complete ones, the toInteger($k) best by u
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
  WITH i, r, b, s, CASE WHEN b = t THEN s ELSE s * bound[toInteger($max_length) - n][b.slot] END AS u
  WHERE u > 0 AND u >= theta
  RETURN collect({i: i, r: r, b: b, s: s, u: u}) AS cands
}
WITH t, g, bound, frontier, done, cands, [d IN done | d.u] + [c IN cands | c.u] AS us
CALL (us) {
  UNWIND us AS u
  // the limit-th largest u: percentileDisc at (n - limit + 0.5) / n is exactly that one
  RETURN percentileDisc(u, CASE WHEN size(us) > toInteger($k) THEN (size(us) - toInteger($k) + 0.5) / size(us) ELSE 0.0 END) AS kth
}
WITH t, g, bound, frontier, done, cands, CASE WHEN size(us) > toInteger($k) THEN kth ELSE 0.0 END AS theta
WITH t, g, bound, frontier, theta, [d IN done WHERE d.u > theta] AS done_above, [d IN done WHERE d.u = theta] AS done_at,
     [c IN cands WHERE c.u > theta] AS above, [c IN cands WHERE c.u = theta] AS at
WITH t, g, bound, frontier, theta, above, at, done_above + done_at[..toInteger($k) - size(done_above) - size(above)] AS done
WITH t, g, bound, frontier, theta, done, above + at[..toInteger($k) - size(done) - size(above)] AS kept
WITH t, g, bound, theta, done, [c IN kept | {n: c.b, s: c.s, u: c.u, w: frontier[c.i].w * c.r.weight,
     nodes: frontier[c.i].nodes + c.b, shares: frontier[c.i].shares + c.r.share,
     weights: frontier[c.i].weights + c.r.weight}] AS grown
WITH t, g, bound, theta, done + [x IN grown WHERE x.n = t] AS done, [x IN grown WHERE x.n <> t] AS frontier
// step 5: paths of length 5. Of them and the complete ones, the toInteger($k) best by u
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
  WITH i, r, b, s, CASE WHEN b = t THEN s ELSE s * bound[toInteger($max_length) - n][b.slot] END AS u
  WHERE u > 0 AND u >= theta
  RETURN collect({i: i, r: r, b: b, s: s, u: u}) AS cands
}
WITH t, g, bound, frontier, done, cands, [d IN done | d.u] + [c IN cands | c.u] AS us
CALL (us) {
  UNWIND us AS u
  // the limit-th largest u: percentileDisc at (n - limit + 0.5) / n is exactly that one
  RETURN percentileDisc(u, CASE WHEN size(us) > toInteger($k) THEN (size(us) - toInteger($k) + 0.5) / size(us) ELSE 0.0 END) AS kth
}
WITH t, g, bound, frontier, done, cands, CASE WHEN size(us) > toInteger($k) THEN kth ELSE 0.0 END AS theta
WITH t, g, bound, frontier, theta, [d IN done WHERE d.u > theta] AS done_above, [d IN done WHERE d.u = theta] AS done_at,
     [c IN cands WHERE c.u > theta] AS above, [c IN cands WHERE c.u = theta] AS at
WITH t, g, bound, frontier, theta, above, at, done_above + done_at[..toInteger($k) - size(done_above) - size(above)] AS done
WITH t, g, bound, frontier, theta, done, above + at[..toInteger($k) - size(done) - size(above)] AS kept
WITH t, g, bound, theta, done, [c IN kept | {n: c.b, s: c.s, u: c.u, w: frontier[c.i].w * c.r.weight,
     nodes: frontier[c.i].nodes + c.b, shares: frontier[c.i].shares + c.r.share,
     weights: frontier[c.i].weights + c.r.weight}] AS grown
WITH t, g, bound, theta, done + [x IN grown WHERE x.n = t] AS done, [x IN grown WHERE x.n <> t] AS frontier
// step 6: paths of length 6. Of them and the complete ones, the toInteger($k) best by u
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
  WITH i, r, b, s, CASE WHEN b = t THEN s ELSE s * bound[toInteger($max_length) - n][b.slot] END AS u
  WHERE u > 0 AND u >= theta
  RETURN collect({i: i, r: r, b: b, s: s, u: u}) AS cands
}
WITH t, g, bound, frontier, done, cands, [d IN done | d.u] + [c IN cands | c.u] AS us
CALL (us) {
  UNWIND us AS u
  // the limit-th largest u: percentileDisc at (n - limit + 0.5) / n is exactly that one
  RETURN percentileDisc(u, CASE WHEN size(us) > toInteger($k) THEN (size(us) - toInteger($k) + 0.5) / size(us) ELSE 0.0 END) AS kth
}
WITH t, g, bound, frontier, done, cands, CASE WHEN size(us) > toInteger($k) THEN kth ELSE 0.0 END AS theta
WITH t, g, bound, frontier, theta, [d IN done WHERE d.u > theta] AS done_above, [d IN done WHERE d.u = theta] AS done_at,
     [c IN cands WHERE c.u > theta] AS above, [c IN cands WHERE c.u = theta] AS at
WITH t, g, bound, frontier, theta, above, at, done_above + done_at[..toInteger($k) - size(done_above) - size(above)] AS done
WITH t, g, bound, frontier, theta, done, above + at[..toInteger($k) - size(done) - size(above)] AS kept
WITH t, g, bound, theta, done, [c IN kept | {n: c.b, s: c.s, u: c.u, w: frontier[c.i].w * c.r.weight,
     nodes: frontier[c.i].nodes + c.b, shares: frontier[c.i].shares + c.r.share,
     weights: frontier[c.i].weights + c.r.weight}] AS grown
WITH t, g, bound, theta, done + [x IN grown WHERE x.n = t] AS done, [x IN grown WHERE x.n <> t] AS frontier
// step 7: paths of length 7. Of them and the complete ones, the toInteger($k) best by u
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
  WITH i, r, b, s, CASE WHEN b = t THEN s ELSE s * bound[toInteger($max_length) - n][b.slot] END AS u
  WHERE u > 0 AND u >= theta
  RETURN collect({i: i, r: r, b: b, s: s, u: u}) AS cands
}
WITH t, g, bound, frontier, done, cands, [d IN done | d.u] + [c IN cands | c.u] AS us
CALL (us) {
  UNWIND us AS u
  // the limit-th largest u: percentileDisc at (n - limit + 0.5) / n is exactly that one
  RETURN percentileDisc(u, CASE WHEN size(us) > toInteger($k) THEN (size(us) - toInteger($k) + 0.5) / size(us) ELSE 0.0 END) AS kth
}
WITH t, g, bound, frontier, done, cands, CASE WHEN size(us) > toInteger($k) THEN kth ELSE 0.0 END AS theta
WITH t, g, bound, frontier, theta, [d IN done WHERE d.u > theta] AS done_above, [d IN done WHERE d.u = theta] AS done_at,
     [c IN cands WHERE c.u > theta] AS above, [c IN cands WHERE c.u = theta] AS at
WITH t, g, bound, frontier, theta, above, at, done_above + done_at[..toInteger($k) - size(done_above) - size(above)] AS done
WITH t, g, bound, frontier, theta, done, above + at[..toInteger($k) - size(done) - size(above)] AS kept
WITH t, g, bound, theta, done, [c IN kept | {n: c.b, s: c.s, u: c.u, w: frontier[c.i].w * c.r.weight,
     nodes: frontier[c.i].nodes + c.b, shares: frontier[c.i].shares + c.r.share,
     weights: frontier[c.i].weights + c.r.weight}] AS grown
WITH t, g, bound, theta, done + [x IN grown WHERE x.n = t] AS done, [x IN grown WHERE x.n <> t] AS frontier
// step 8: paths of length 8. Of them and the complete ones, the toInteger($k) best by u
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
  WITH i, r, b, s, CASE WHEN b = t THEN s ELSE s * bound[toInteger($max_length) - n][b.slot] END AS u
  WHERE u > 0 AND u >= theta
  RETURN collect({i: i, r: r, b: b, s: s, u: u}) AS cands
}
WITH t, g, bound, frontier, done, cands, [d IN done | d.u] + [c IN cands | c.u] AS us
CALL (us) {
  UNWIND us AS u
  // the limit-th largest u: percentileDisc at (n - limit + 0.5) / n is exactly that one
  RETURN percentileDisc(u, CASE WHEN size(us) > toInteger($k) THEN (size(us) - toInteger($k) + 0.5) / size(us) ELSE 0.0 END) AS kth
}
WITH t, g, bound, frontier, done, cands, CASE WHEN size(us) > toInteger($k) THEN kth ELSE 0.0 END AS theta
WITH t, g, bound, frontier, theta, [d IN done WHERE d.u > theta] AS done_above, [d IN done WHERE d.u = theta] AS done_at,
     [c IN cands WHERE c.u > theta] AS above, [c IN cands WHERE c.u = theta] AS at
WITH t, g, bound, frontier, theta, above, at, done_above + done_at[..toInteger($k) - size(done_above) - size(above)] AS done
WITH t, g, bound, frontier, theta, done, above + at[..toInteger($k) - size(done) - size(above)] AS kept
WITH t, g, bound, theta, done, [c IN kept | {n: c.b, s: c.s, u: c.u, w: frontier[c.i].w * c.r.weight,
     nodes: frontier[c.i].nodes + c.b, shares: frontier[c.i].shares + c.r.share,
     weights: frontier[c.i].weights + c.r.weight}] AS grown
WITH t, g, bound, theta, done + [x IN grown WHERE x.n = t] AS done, [x IN grown WHERE x.n <> t] AS frontier
  RETURN done
}
// strongest first, ties in the order found (ranks worked out in lists: an ORDER BY would hold
// every row with the lists it carries)
WITH done, range(0, size(done) - 1) AS ix
WITH done, ix, [i IN ix | size([j IN ix WHERE done[j].s > done[i].s OR (done[j].s = done[i].s AND j < i)])] AS ranks
UNWIND ix AS r
WITH r, done[[i IN ix WHERE ranks[i] = r][0]] AS d
RETURN r + 1 AS rank, d.s AS strength, d.w AS weight_product, size(d.nodes) - 1 AS length,
       [n IN d.nodes | n.name] AS path, [n IN d.nodes | n.node_id] AS node_ids,
       d.shares AS shares, d.weights AS weights
