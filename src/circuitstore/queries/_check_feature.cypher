// _check_feature: is $feature a stored Feature id? Returns one `problem` with examples if not.
// @param feature string: Feature id, "<transcoder set>/<layer>/<index>"
OPTIONAL MATCH (f:Feature {id: $feature})
WITH f WHERE f IS NULL
CALL () {
  MATCH (x:Feature)
  WITH x.id AS id LIMIT 3
  RETURN collect(id) AS examples
}
RETURN ["no feature \"" + $feature + "\"; a feature id is \"<transcoder set>/<layer>/<index>\"",
        CASE size(examples) WHEN 0 THEN " (no features are stored)" ELSE ", e.g. " END, examples] AS problem
