// step {{step}}: paths of length {{step}}
CALL (ring) {
  UNWIND ring AS c
  WITH c.n AS u, c.x AS x
  MATCH (v)-[r:ATTRIBUTION]->(u)
  WITH v, sum(x * abs(r.share)) AS x
  RETURN collect({n: v, x: x}) AS next
}
WITH next AS ring, reached + next AS reached
