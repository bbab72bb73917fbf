// search: Features and graph nodes by label text, and graphs by prompt text (full-text indexes).
//
// $text is a Lucene query for the full-text indexes feature_label and feature_auto_label (a
// Feature's imported and automatic labels; text is its caption), node_label and graph_prompt:
// plain words match anywhere (any word: "capital state"; all: "capital AND state"; a phrase:
// "\"capital of\""; a prefix: "capit*"). Up to k hits of each kind, best score first (equal
// scores by graph and id, so the hits do not depend on the order the store keeps).
//
// @param text string: words to look for
// @param k int = 10 (min 1, max 1000): hits per kind
// @example :param text => "capital"; :param k => 10
CALL () {
  CALL () {
    CALL db.index.fulltext.queryNodes("feature_label", $text) YIELD node, score
    RETURN node, score
  UNION ALL
    CALL db.index.fulltext.queryNodes("feature_auto_label", $text) YIELD node, score
    RETURN node, score
  }
  WITH node, max(score) AS score
  RETURN "feature" AS kind, node.id AS id, node.name AS text, null AS graph, score
  ORDER BY score DESC, id LIMIT toInteger($k)
UNION ALL
  CALL db.index.fulltext.queryNodes("node_label", $text) YIELD node, score
  RETURN "node" AS kind, node.node_id AS id, node.label AS text, node.graph_id AS graph, score
  ORDER BY score DESC, graph, id LIMIT toInteger($k)
UNION ALL
  CALL db.index.fulltext.queryNodes("graph_prompt", $text) YIELD node, score
  RETURN "graph" AS kind, node.id AS id, node.prompt AS text, node.id AS graph, score
  ORDER BY score DESC, id LIMIT toInteger($k)
}
RETURN kind, id, text, graph, score
ORDER BY score DESC, kind, graph, id
