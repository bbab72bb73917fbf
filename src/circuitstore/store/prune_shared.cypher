// Remove shared Feature/Vocab nodes that nothing uses any more: no graph's latent, token or logit,
// and no weights-only relationship (pullbacks). Anything still linked is kept.
// Parameters: $ids (elementIds of candidates). Returns how many were removed.
UNWIND $ids AS id
MATCH (x) WHERE elementId(x) = id AND (x:Feature OR x:Vocab) AND NOT (x)--()
DELETE x
RETURN count(x) AS removed
