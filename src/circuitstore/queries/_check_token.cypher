// _check_token: does graph $graph have an input token with text $source and/or at $position?
// Returns one `problem` listing the prompt's tokens if not.
// @param graph string: graph id
// @param source string = null: token text
// @param position int = null: token position
MATCH (g:Graph {id: $graph})
OPTIONAL MATCH (t:Token {graph_id: $graph})
WITH t ORDER BY t.position
WITH collect(t) AS tokens
WHERE NOT any(t IN tokens WHERE ($source IS NULL OR t.text = $source) AND ($position IS NULL OR t.position = $position))
RETURN ["graph \"" + $graph + "\" has no input token"
         + CASE WHEN $source IS NULL THEN "" ELSE " \"" + $source + "\"" END
         + CASE WHEN $position IS NULL THEN "" ELSE " at position " + toString($position) END
         + "; the prompt's tokens are: ",
        [t IN tokens | toString(t.position) + ":\"" + coalesce(t.text, "?") + "\""]] AS problem
