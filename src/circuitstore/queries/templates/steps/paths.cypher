// step {{step}}: paths of length {{step}}
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
                   shares: p.shares + r.share, weights: p.weights + r.weight})[..{{limit}}] AS best
  RETURN reduce(acc = [], x IN collect(best) | acc + x) AS grown
}
CALL (t, done, grown) {
  UNWIND done + [x IN grown WHERE x.n = t] AS d
  WITH d ORDER BY d.s DESC LIMIT {{limit}}
  RETURN collect(d) AS top
}
WITH t, cap, [x IN grown WHERE x.n <> t] AS frontier, top AS done,
     CASE WHEN size(top) < {{limit}} THEN 0.0 ELSE top[-1].s END AS tau
