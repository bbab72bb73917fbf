// Full-text indexes for searching by words: feature labels, node labels, prompts.
// Example: CALL db.index.fulltext.queryNodes('feature_label', 'capital~') YIELD node, score
CREATE FULLTEXT INDEX feature_label IF NOT EXISTS FOR (f:Feature) ON EACH [f.label];
CREATE FULLTEXT INDEX node_label IF NOT EXISTS FOR (n:Node) ON EACH [n.label];
CREATE FULLTEXT INDEX graph_prompt IF NOT EXISTS FOR (g:Graph) ON EACH [g.prompt];
