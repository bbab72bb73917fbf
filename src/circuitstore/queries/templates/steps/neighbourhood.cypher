// step {{step}}
CALL (seen, ring, step) {
  UNWIND ring AS a
  MATCH (a)-[r:ATTRIBUTION]-(b)
  WHERE step < $depth AND abs(r.weight) >= $min_weight AND NOT b IN seen
  RETURN collect(DISTINCT b) AS next
}
WITH c, seen + next AS seen, next AS ring, step + 1 AS step
