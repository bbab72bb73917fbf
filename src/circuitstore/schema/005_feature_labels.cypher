// Feature labels are derived from the graphs that carry each Feature (store/feature_labels.cypher)
// rather than taken from the first graph that gave one. Stores written before this re-derive
// every Feature's label, label_source, label_graphs and caption: a data step that runs the store's
// own rule over all Features, a page per transaction (store.labels.relabel_all, see __init__.py).
// Applying it twice gives the same labels.
//
// Each node keeps its index within its graph, `slot` (0 to n_nodes - 1), which queries use to
// index per-node lists; the index below finds a node by it. Graphs stored before get slots in
// node id order, a graph per transaction; once done no graph matches, so twice is once.
CREATE INDEX node_slot IF NOT EXISTS FOR (n:Node) ON (n.graph_id, n.slot);
MATCH (g:Graph)
WHERE EXISTS { MATCH (n:Node {graph_id: g.id}) WHERE n.node_id IS NOT NULL AND n.slot IS NULL }
CALL (g) {
  MATCH (n:Node {graph_id: g.id})
  WHERE n.node_id IS NOT NULL
  WITH n ORDER BY n.node_id
  WITH collect(n) AS nodes
  UNWIND range(0, size(nodes) - 1) AS i
  WITH nodes[i] AS n, i
  SET n.slot = i
} IN TRANSACTIONS OF 1 ROWS;
