// Facts derived from each graph's edges at ingest (circuitstore.derived): each latent's influence
// on each logit (`logit_influence`, by the logit's `logit_index`) and each logit's strongest
// paths (`paths_*`), with `stored_paths` on the :Graph. Graphs stored before get them from the
// data step (store/derive.py), which computes them in Python from the graph read back.
// Cross-graph questions look logits up by their text alone.
CREATE INDEX logit_text_any_graph IF NOT EXISTS FOR (n:Logit) ON (n.text);
