// After a bulk import (store/bulk.py): the property values its files cannot hold (empty lists,
// list items that are empty or hold the array delimiter), set as store_graph sets them.
// Parameters: $graphs [{key: graph id, props}], $nodes [{graph_id, node_id, props}].
CALL {
  UNWIND $graphs AS r
  MATCH (g:Graph {id: r.key})
  SET g += r.props
}
CALL {
  UNWIND $nodes AS r
  MATCH (n:Node {graph_id: r.graph_id, node_id: r.node_id})
  SET n += r.props
}
