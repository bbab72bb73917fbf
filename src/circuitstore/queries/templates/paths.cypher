// paths: the strongest paths in one graph from an input token to a logit.
//
// Path strength is the product over the path's edges of each edge's share of its target's
// input, `share = w / sum(|w| of every edge into the target)` (stored on ATTRIBUTION with
// the graph). Only paths whose edges are all positive count, so strength is in (0, 1]; the raw
// product of the weights comes back too. With no source or position, paths start at any input
// token; with no target, they end at the graph's target logit.
//
// Most answers are read, not searched: each logit keeps the strongest paths of each length
// found at ingest (circuitstore.derived), and when they provably hold the exact top k (the
// block paths-stored says when), the answer is those, with their edges looked up. Else the
// search below runs; both give the same rows.
//
// The search, exact top-k in memory bounded by k, not by the graph: first, for every node and every number
// of edges r, the strongest completion to the target in at most r edges (`bound`, one list per r
// indexed by the node's `slot`; the block `bound` is repeated up to max_length - 1 times). Then
// the search goes one edge per step (the block `paths`, repeated 8 times, the largest max_length)
// and ranks each partial path by its strength times its best completion (`u`): a path that can
// actually be had. So the k best by u, complete or not, are k distinct paths at least as strong
// as the k-th of them, and anything ranked below can be dropped: at most k paths are kept at any
// step, however many nodes the graph has.
//
// Generated from templates/paths.cypher: edit that, then run `python -m circuitstore.queries.generate`.
//
// @param graph string: graph id
// @param source string = null: input token text, e.g. " Dallas" (mind the leading space)
// @param position int = null (min 0, max 1000000): input token position (0 = first token)
// @param target string = null: logit token text, e.g. " Austin"; default: the target logit
// @param max_length int = 6 (min 1, max 8): most edges on a path
// @param k int = 5 (min 1, max 1000): how many paths
// @check graph token logit
// @example :param graph => "clt-hp-the-capital-of-201020250035-20251020-003525"; :param source => " Dallas"; :param position => null; :param target => " Austin"; :param max_length => 6; :param k => 5
{{include paths-search}}
// strongest first, ties in the order found (ranks worked out in lists: an ORDER BY would hold
// every row with the lists it carries)
WITH done, range(0, size(done) - 1) AS ix
WITH done, ix, [i IN ix | size([j IN ix WHERE done[j].s > done[i].s OR (done[j].s = done[i].s AND j < i)])] AS ranks
UNWIND ix AS r
WITH r, done[[i IN ix WHERE ranks[i] = r][0]] AS d
RETURN r + 1 AS rank, d.s AS strength, d.w AS weight_product, size(d.nodes) - 1 AS length,
       [n IN d.nodes | n.name] AS path, [n IN d.nodes | n.node_id] AS node_ids,
       d.shares AS shares, d.weights AS weights
