// _check_any_logit: does any stored graph have a logit with text $target? Returns one `problem`
// listing the commonest logit texts if not.
// @param target string: logit token text
OPTIONAL MATCH (l:Logit {text: $target})
WITH l LIMIT 1
WITH l WHERE l IS NULL
CALL () {
  MATCH (x:Logit)
  WITH x.text AS text, count(*) AS n ORDER BY n DESC, text LIMIT 20
  RETURN collect("\"" + text + "\"") AS texts
}
RETURN ["no stored graph has a logit \"" + $target + "\"; common logits are: ", texts] AS problem
