// The logit keeps, from ingest (circuitstore.derived), the g.stored_paths strongest paths of each
// length from any token, strongest first. A path not kept is no stronger than the weakest kept
// one of its length, and a length that keeps fewer keeps all of its paths. So when the k-th kept
// path from the sources asked for, of at most max_length edges, is stronger than every full
// length's weakest, and none of the first k + 1 tie (the search's order of ties is its own), the
// kept ones are the answer: read them (`exact`; so too when no token is a source); else search.
WITH t, g, t.paths_strength AS ps, coalesce(t.paths_length, []) AS pl, t.paths_node_start AS ns, t.paths_nodes AS pn,
     COLLECT { MATCH (s:Token {graph_id: $graph})
       WHERE ($source IS NULL OR s.text = $source) AND ($position IS NULL OR s.position = $position) RETURN s.node_id } AS sources
WITH t, g, ps, ns, pn, sources, [i IN range(0, size(pl) - 1) WHERE pl[i] <= $max_length AND pn[ns[i]] IN sources] AS chosen,
     [m IN range(1, toInteger($max_length)) | [i IN range(0, size(pl) - 1) WHERE pl[i] = m]] AS by_length
WITH t, g, ps, ns, pn, sources, chosen[..toInteger($k)] AS top, chosen[..toInteger($k) + 1] AS next,
     CASE WHEN size(chosen) >= $k THEN ps[chosen[toInteger($k) - 1]] ELSE 0.0 END AS kth,
     [b IN by_length WHERE size(b) >= coalesce(g.stored_paths, 0) | CASE WHEN size(b) = 0 THEN 2.0 ELSE ps[b[-1]] END] AS floors
WITH t, g, ps, ns, pn, top, size(sources) = 0 OR (ps IS NOT NULL AND coalesce(g.stored_paths, 0) > 0
     AND all(f IN floors WHERE f < kth) AND all(j IN range(1, size(next) - 1) WHERE ps[next[j]] < ps[next[j - 1]])) AS exact
CALL (t, g, ps, ns, pn, top, exact) {
  // each kept path's edges, looked up by its nodes' ids; strength and weight product from them,
  // as the search works them out
  WITH t, ns, pn, top WHERE exact
  WITH t, [i IN top | [j IN range(ns[i], ns[i + 1] - 2) |
    head([(:Node {graph_id: $graph, node_id: pn[j]})-[r:ATTRIBUTION]->(:Node {graph_id: $graph, node_id: pn[j + 1]}) | r])]] AS kept
  RETURN [rs IN kept | {n: t, s: reduce(s = 1.0, r IN rs | s * r.share), w: reduce(w = 1.0, r IN rs | w * r.weight),
          nodes: [startNode(rs[0])] + [r IN rs | endNode(r)], shares: [r IN rs | r.share], weights: [r IN rs | r.weight]}] AS done
  UNION ALL
  WITH t, g WHERE NOT exact
  WITH t, g, [[i IN range(0, g.n_nodes - 1) | CASE WHEN i = t.slot THEN 1.0 ELSE 0.0 END]] AS bound
