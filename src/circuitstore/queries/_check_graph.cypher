// _check_graph: is $graph a stored graph? Returns one `problem` naming the stored graphs if not.
// @param graph string: graph id
OPTIONAL MATCH (g:Graph {id: $graph})
WITH g WHERE g IS NULL
CALL () {
  MATCH (x:Graph)
  WITH x.id AS id ORDER BY id
  RETURN collect(id) AS ids
}
RETURN CASE size(ids)
  WHEN 0 THEN "no graph \"" + $graph + "\": no graphs are stored (import some with `circuitstore import`)"
  ELSE ["no graph \"" + $graph + "\"; the " + toString(size(ids)) + " stored graphs are: ",
        ids[..20] + CASE WHEN size(ids) > 20 THEN ["..."] ELSE [] END]
END AS problem
