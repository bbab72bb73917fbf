// paths: the strongest paths in one graph from an input token to a logit.
//
// Path strength is the product over the path's edges of each edge's share of its target's
// input, `share = w / sum(|w| of every edge into the target)` (stored on ATTRIBUTION with
// the graph). Only paths whose edges are all positive count, so strength is in (0, 1]; the raw
// product of the weights comes back too. With no source or position, paths start at any input
// token; with no target, they end at the graph's target logit.
//
// Exact top-k without enumerating paths: the search goes one edge per step (the step block
// below is repeated 8 times, the largest max_length) and keeps, for each node reached, only the
// k strongest partial paths of that length: a path in the overall top k has a prefix among the
// k strongest of its length into each of its nodes. Since shares are at most 1, a partial path
// is dropped as soon as its strength times the largest share into the target falls below the
// k-th strongest complete path found so far (`tau`), which keeps every step small.
//
// Generated from templates/paths.cypher: edit that, then run `python -m circuitstore.queries.generate`.
//
// @param graph string: graph id
// @param source string = null: input token text, e.g. " Dallas" (mind the leading space)
// @param position int = null (min 0): input token position (0 = first token)
// @param target string = null: logit token text, e.g. " Austin"; default: the target logit
// @param max_length int = 6 (min 1, max 8): most edges on a path
// @param k int = 5 (min 1): how many paths
// @check graph token logit
// @example :params {graph: "clt-hp-the-capital-of-201020250035-20251020-003525", source: " Dallas", position: null, target: " Austin", max_length: 6, k: 5}
MATCH (t:Logit {graph_id: $graph})
WHERE CASE WHEN $target IS NULL THEN t.is_target ELSE t.text = $target END
WITH t ORDER BY t.probability DESC LIMIT 1
MATCH (s:Token {graph_id: $graph})
WHERE ($source IS NULL OR s.text = $source) AND ($position IS NULL OR s.position = $position)
WITH t, collect({n: s, s: 1.0, w: 1.0, nodes: [s], shares: [], weights: []}) AS frontier
CALL (t) {
  MATCH (:Node)-[r:ATTRIBUTION]->(t)
  RETURN max(r.share) AS cap
}
WITH t, cap, frontier, [] AS done, 0.0 AS tau
// step 1: paths of length 1
CALL (t, cap, frontier, tau) {
  UNWIND frontier AS p
  WITH p, p.n AS a
  MATCH (a)-[r:ATTRIBUTION]->(b)
  WHERE r.share > 0
    AND (b = t OR (size(p.nodes) < $max_length AND NOT b:Logit AND b.position <= t.position
                   AND p.s * r.share * cap >= tau))
  WITH b, p, r, p.s * r.share AS s
  ORDER BY s DESC
  WITH b, collect({n: b, s: s, w: p.w * r.weight, nodes: p.nodes + b,
                   shares: p.shares + r.share, weights: p.weights + r.weight})[..$k] AS best
  RETURN reduce(acc = [], x IN collect(best) | acc + x) AS grown
}
CALL (t, done, grown) {
  UNWIND done + [x IN grown WHERE x.n = t] AS d
  WITH d ORDER BY d.s DESC LIMIT $k
  RETURN collect(d) AS top
}
WITH t, cap, [x IN grown WHERE x.n <> t] AS frontier, top AS done,
     CASE WHEN size(top) < $k THEN 0.0 ELSE top[-1].s END AS tau
// step 2: paths of length 2
CALL (t, cap, frontier, tau) {
  UNWIND frontier AS p
  WITH p, p.n AS a
  MATCH (a)-[r:ATTRIBUTION]->(b)
  WHERE r.share > 0
    AND (b = t OR (size(p.nodes) < $max_length AND NOT b:Logit AND b.position <= t.position
                   AND p.s * r.share * cap >= tau))
  WITH b, p, r, p.s * r.share AS s
  ORDER BY s DESC
  WITH b, collect({n: b, s: s, w: p.w * r.weight, nodes: p.nodes + b,
                   shares: p.shares + r.share, weights: p.weights + r.weight})[..$k] AS best
  RETURN reduce(acc = [], x IN collect(best) | acc + x) AS grown
}
CALL (t, done, grown) {
  UNWIND done + [x IN grown WHERE x.n = t] AS d
  WITH d ORDER BY d.s DESC LIMIT $k
  RETURN collect(d) AS top
}
WITH t, cap, [x IN grown WHERE x.n <> t] AS frontier, top AS done,
     CASE WHEN size(top) < $k THEN 0.0 ELSE top[-1].s END AS tau
// step 3: paths of length 3
CALL (t, cap, frontier, tau) {
  UNWIND frontier AS p
  WITH p, p.n AS a
  MATCH (a)-[r:ATTRIBUTION]->(b)
  WHERE r.share > 0
    AND (b = t OR (size(p.nodes) < $max_length AND NOT b:Logit AND b.position <= t.position
                   AND p.s * r.share * cap >= tau))
  WITH b, p, r, p.s * r.share AS s
  ORDER BY s DESC
  WITH b, collect({n: b, s: s, w: p.w * r.weight, nodes: p.nodes + b,
                   shares: p.shares + r.share, weights: p.weights + r.weight})[..$k] AS best
  RETURN reduce(acc = [], x IN collect(best) | acc + x) AS grown
}
CALL (t, done, grown) {
  UNWIND done + [x IN grown WHERE x.n = t] AS d
  WITH d ORDER BY d.s DESC LIMIT $k
  RETURN collect(d) AS top
}
WITH t, cap, [x IN grown WHERE x.n <> t] AS frontier, top AS done,
     CASE WHEN size(top) < $k THEN 0.0 ELSE top[-1].s END AS tau
// step 4: paths of length 4
CALL (t, cap, frontier, tau) {
  UNWIND frontier AS p
  WITH p, p.n AS a
  MATCH (a)-[r:ATTRIBUTION]->(b)
  WHERE r.share > 0
    AND (b = t OR (size(p.nodes) < $max_length AND NOT b:Logit AND b.position <= t.position
                   AND p.s * r.share * cap >= tau))
  WITH b, p, r, p.s * r.share AS s
  ORDER BY s DESC
  WITH b, collect({n: b, s: s, w: p.w * r.weight, nodes: p.nodes + b,
                   shares: p.shares + r.share, weights: p.weights + r.weight})[..$k] AS best
  RETURN reduce(acc = [], x IN collect(best) | acc + x) AS grown
}
CALL (t, done, grown) {
  UNWIND done + [x IN grown WHERE x.n = t] AS d
  WITH d ORDER BY d.s DESC LIMIT $k
  RETURN collect(d) AS top
}
WITH t, cap, [x IN grown WHERE x.n <> t] AS frontier, top AS done,
     CASE WHEN size(top) < $k THEN 0.0 ELSE top[-1].s END AS tau
// step 5: paths of length 5
CALL (t, cap, frontier, tau) {
  UNWIND frontier AS p
  WITH p, p.n AS a
  MATCH (a)-[r:ATTRIBUTION]->(b)
  WHERE r.share > 0
    AND (b = t OR (size(p.nodes) < $max_length AND NOT b:Logit AND b.position <= t.position
                   AND p.s * r.share * cap >= tau))
  WITH b, p, r, p.s * r.share AS s
  ORDER BY s DESC
  WITH b, collect({n: b, s: s, w: p.w * r.weight, nodes: p.nodes + b,
                   shares: p.shares + r.share, weights: p.weights + r.weight})[..$k] AS best
  RETURN reduce(acc = [], x IN collect(best) | acc + x) AS grown
}
CALL (t, done, grown) {
  UNWIND done + [x IN grown WHERE x.n = t] AS d
  WITH d ORDER BY d.s DESC LIMIT $k
  RETURN collect(d) AS top
}
WITH t, cap, [x IN grown WHERE x.n <> t] AS frontier, top AS done,
     CASE WHEN size(top) < $k THEN 0.0 ELSE top[-1].s END AS tau
// step 6: paths of length 6
CALL (t, cap, frontier, tau) {
  UNWIND frontier AS p
  WITH p, p.n AS a
  MATCH (a)-[r:ATTRIBUTION]->(b)
  WHERE r.share > 0
    AND (b = t OR (size(p.nodes) < $max_length AND NOT b:Logit AND b.position <= t.position
                   AND p.s * r.share * cap >= tau))
  WITH b, p, r, p.s * r.share AS s
  ORDER BY s DESC
  WITH b, collect({n: b, s: s, w: p.w * r.weight, nodes: p.nodes + b,
                   shares: p.shares + r.share, weights: p.weights + r.weight})[..$k] AS best
  RETURN reduce(acc = [], x IN collect(best) | acc + x) AS grown
}
CALL (t, done, grown) {
  UNWIND done + [x IN grown WHERE x.n = t] AS d
  WITH d ORDER BY d.s DESC LIMIT $k
  RETURN collect(d) AS top
}
WITH t, cap, [x IN grown WHERE x.n <> t] AS frontier, top AS done,
     CASE WHEN size(top) < $k THEN 0.0 ELSE top[-1].s END AS tau
// step 7: paths of length 7
CALL (t, cap, frontier, tau) {
  UNWIND frontier AS p
  WITH p, p.n AS a
  MATCH (a)-[r:ATTRIBUTION]->(b)
  WHERE r.share > 0
    AND (b = t OR (size(p.nodes) < $max_length AND NOT b:Logit AND b.position <= t.position
                   AND p.s * r.share * cap >= tau))
  WITH b, p, r, p.s * r.share AS s
  ORDER BY s DESC
  WITH b, collect({n: b, s: s, w: p.w * r.weight, nodes: p.nodes + b,
                   shares: p.shares + r.share, weights: p.weights + r.weight})[..$k] AS best
  RETURN reduce(acc = [], x IN collect(best) | acc + x) AS grown
}
CALL (t, done, grown) {
  UNWIND done + [x IN grown WHERE x.n = t] AS d
  WITH d ORDER BY d.s DESC LIMIT $k
  RETURN collect(d) AS top
}
WITH t, cap, [x IN grown WHERE x.n <> t] AS frontier, top AS done,
     CASE WHEN size(top) < $k THEN 0.0 ELSE top[-1].s END AS tau
// step 8: paths of length 8
CALL (t, cap, frontier, tau) {
  UNWIND frontier AS p
  WITH p, p.n AS a
  MATCH (a)-[r:ATTRIBUTION]->(b)
  WHERE r.share > 0
    AND (b = t OR (size(p.nodes) < $max_length AND NOT b:Logit AND b.position <= t.position
                   AND p.s * r.share * cap >= tau))
  WITH b, p, r, p.s * r.share AS s
  ORDER BY s DESC
  WITH b, collect({n: b, s: s, w: p.w * r.weight, nodes: p.nodes + b,
                   shares: p.shares + r.share, weights: p.weights + r.weight})[..$k] AS best
  RETURN reduce(acc = [], x IN collect(best) | acc + x) AS grown
}
CALL (t, done, grown) {
  UNWIND done + [x IN grown WHERE x.n = t] AS d
  WITH d ORDER BY d.s DESC LIMIT $k
  RETURN collect(d) AS top
}
WITH t, cap, [x IN grown WHERE x.n <> t] AS frontier, top AS done,
     CASE WHEN size(top) < $k THEN 0.0 ELSE top[-1].s END AS tau
UNWIND range(0, size(done) - 1) AS i
WITH i, done[i] AS d
RETURN i + 1 AS rank, d.s AS strength, d.w AS weight_product, size(d.nodes) - 1 AS length,
       [n IN d.nodes | n.name] AS path, [n IN d.nodes | n.node_id] AS node_ids,
       d.shares AS shares, d.weights AS weights
ORDER BY rank
