// step {{step}}: paths of length {{step}}. Of them and the complete ones, the {{limit}} best by u
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
  RETURN percentileDisc(u, CASE WHEN size(us) > {{limit}} THEN (size(us) - {{limit}} + 0.5) / size(us) ELSE 0.0 END) AS kth
}
WITH t, g, bound, frontier, done, cands, CASE WHEN size(us) > {{limit}} THEN kth ELSE 0.0 END AS theta
WITH t, g, bound, frontier, theta, [d IN done WHERE d.u > theta] AS done_above, [d IN done WHERE d.u = theta] AS done_at,
     [c IN cands WHERE c.u > theta] AS above, [c IN cands WHERE c.u = theta] AS at
WITH t, g, bound, frontier, theta, above, at, done_above + done_at[..{{limit}} - size(done_above) - size(above)] AS done
WITH t, g, bound, frontier, theta, done, above + at[..{{limit}} - size(done) - size(above)] AS kept
WITH t, g, bound, theta, done, [c IN kept | {n: c.b, s: c.s, u: c.u, w: frontier[c.i].w * c.r.weight,
     nodes: frontier[c.i].nodes + c.b, shares: frontier[c.i].shares + c.r.share,
     weights: frontier[c.i].weights + c.r.weight}] AS grown
WITH t, g, bound, theta, done + [x IN grown WHERE x.n = t] AS done, [x IN grown WHERE x.n <> t] AS frontier
