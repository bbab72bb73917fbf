// the group {{node}} stands for: its first supernode of $methods (hand-made before suggested,
// then by name), or with $families its Feature's family built by that method (null: none)
CALL ({{node}}) {
  OPTIONAL MATCH ({{node}})<-[:GROUPS]-(s:Supernode)
  WHERE $families IS NULL AND ($methods IS NULL OR s.method IN $methods)
  WITH s ORDER BY CASE WHEN s.method IN ["imported", "manual"] THEN 0 ELSE 1 END, s.name
  WITH head(collect(s)) AS supernode
  OPTIONAL MATCH ({{node}})-[:INSTANCE_OF]->(:Feature)<-[:INCLUDES]-(x:FeatureFamily {method: $families})
  WITH supernode, x ORDER BY x.name
  WITH supernode, head(collect(x)) AS family
  RETURN coalesce(supernode, family) AS {{group}}
}
