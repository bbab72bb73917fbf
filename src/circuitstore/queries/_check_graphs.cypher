// _check_graphs: are all of $graphs stored graphs, each named once? Returns one `problem`
// naming the repeated or the missing ones.
// @param graphs list: graph ids
WITH [i IN range(0, size($graphs) - 1) WHERE $graphs[i] IN $graphs[..i] | $graphs[i]] AS repeated
CALL (repeated) {
  WITH repeated WHERE size(repeated) > 0
  RETURN ["graph ", [id IN repeated | "\"" + id + "\""], " is named twice; compare different graphs"] AS problem
  UNION
  UNWIND $graphs AS gid
  OPTIONAL MATCH (g:Graph {id: gid})
  WITH collect(CASE WHEN g IS NULL THEN gid END) AS missing
  WHERE size(missing) > 0
  CALL () {
    MATCH (x:Graph)
    WITH x.id AS id ORDER BY id
    RETURN collect(id) AS ids
  }
  RETURN ["no graph ", [id IN missing | "\"" + id + "\""], "; the " + toString(size(ids)) + " stored graphs are: ",
          ids[..20] + CASE WHEN size(ids) > 20 THEN ["..."] ELSE [] END] AS problem
}
RETURN problem
