// Feature labels are derived from the graphs that carry each Feature (store/feature_labels.cypher)
// rather than taken from the first graph that gave one. Stores written before this re-derive
// every Feature's label, label_source, label_graphs and caption: a data step that runs the store's
// own rule over all Features, a page per transaction (store.labels.relabel_all, see __init__.py).
// Applying it twice gives the same labels.
