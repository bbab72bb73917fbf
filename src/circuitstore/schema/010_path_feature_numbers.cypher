// The Features on each logit's stored paths are kept as numbers, `paths_feature_layer` and
// `paths_feature_index` (the Feature is `<graph's transcoder set>/<layer>/<index>`), in place of
// the id strings `paths_features` that migration 9 and ingest wrote before: `recurrence` reads
// every matching logit's lists, and number lists read several times faster than string lists.
// A data migration: once done, no logit has `paths_features`, so applying it twice changes nothing.
MATCH (t:Logit)
WHERE t.paths_features IS NOT NULL
CALL (t) {
  WITH t, [f IN t.paths_features | split(f, "/")] AS parts
  SET t.paths_feature_layer = [p IN parts | toInteger(p[size(p) - 2])],
      t.paths_feature_index = [p IN parts | toInteger(p[size(p) - 1])]
  REMOVE t.paths_features
} IN TRANSACTIONS OF 1000 ROWS;
