CALL (seen) {
  UNWIND seen AS a
  MATCH (a)-[r:ATTRIBUTION]->(b)
  WHERE abs(r.weight) >= $min_weight AND b IN seen
  RETURN collect(r) AS relationships
}
