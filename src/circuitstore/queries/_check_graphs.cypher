// _check_graphs: are all of $graphs stored graphs? Returns one `problem` naming the missing ones.
// @param graphs list: graph ids
UNWIND $graphs AS gid
OPTIONAL MATCH (g:Graph {id: gid})
WITH collect(CASE WHEN g IS NULL THEN gid END) AS missing
WHERE size(missing) > 0
CALL () {
  MATCH (x:Graph)
  WITH x.id AS id ORDER BY id
  RETURN collect(id) AS ids
}
RETURN "no graph " + reduce(s = "", id IN missing | s + CASE s WHEN "" THEN "" ELSE ", " END + "\"" + id + "\"")
  + "; the " + toString(size(ids)) + " stored graphs are: "
  + reduce(s = "", id IN ids[..20] | s + CASE s WHEN "" THEN "" ELSE ", " END + id)
  + CASE WHEN size(ids) > 20 THEN ", ..." ELSE "" END AS problem
