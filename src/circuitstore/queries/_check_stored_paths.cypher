// _check_stored_paths: do the graphs keep at least $paths paths per logit and length (their
// stored_paths, set when they were stored)? Returns one `problem` if some keep fewer.
// @param paths int: paths asked for from each graph
MATCH (g:Graph)
WHERE g.stored_paths < $paths
WITH min(g.stored_paths) AS fewest, count(g) AS graphs
WHERE graphs > 0
RETURN ["paths must be at most " + toString(fewest) + ": " + toString(graphs) +
        " graph(s) keep only that many paths per logit and length"] AS problem
