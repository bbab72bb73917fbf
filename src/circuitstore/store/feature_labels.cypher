// Derive Features' labels from the graphs that carry them: the one place this rule lives. Run it
// (labels.relabel_features), in the same transaction, after anything that changes which latents
// a Feature has (store, replace, delete).
//   label        the label the most graphs give the Feature's latents (a latent's own clerp);
//                ties go to the alphabetically first; null when no graph labels it
//   label_source 'graph' (taken from graph files), null with no label
//   label_graphs how many graphs give exactly that label
// Returns each Feature's layer, index, label and auto_label, for its caption (captions.py).
// The Features are locked first (SET/REMOVE of a dummy property, in id order), so a concurrent
// transaction changing the same Features waits and then sees these latents: the last one to
// commit derives from everything.
// Parameters: $ids (Feature ids, sorted; unknown ones are skipped).
CALL {
  UNWIND $ids AS id
  MATCH (f:Feature {id: id})
  SET f._lock = true
  REMOVE f._lock
}
UNWIND $ids AS id
MATCH (f:Feature {id: id})
CALL (f) {
  OPTIONAL MATCH (f)<-[:INSTANCE_OF]-(n:Latent)
  WHERE n.label IS NOT NULL
  WITH n.label AS label, count(DISTINCT n.graph_id) AS graphs
  ORDER BY graphs DESC, label
  LIMIT 1
  RETURN label, graphs
}
SET f.label = label,
    f.label_source = CASE WHEN label IS NULL THEN null ELSE 'graph' END,
    f.label_graphs = CASE WHEN label IS NULL THEN null ELSE graphs END
RETURN f.id AS id, f.layer AS layer, f.index AS index, label, f.auto_label AS auto_label
