// Range indexes for the lookups queries make: all nodes of a kind in one graph, the instances
// of one feature, and a graph's tokens or logits by their text.
CREATE INDEX token_graph IF NOT EXISTS FOR (n:Token) ON (n.graph_id);
CREATE INDEX latent_graph IF NOT EXISTS FOR (n:Latent) ON (n.graph_id);
CREATE INDEX error_graph IF NOT EXISTS FOR (n:Error) ON (n.graph_id);
CREATE INDEX logit_graph IF NOT EXISTS FOR (n:Logit) ON (n.graph_id);
CREATE INDEX latent_feature IF NOT EXISTS FOR (n:Latent) ON (n.feature_id);
CREATE INDEX token_text IF NOT EXISTS FOR (n:Token) ON (n.graph_id, n.text);
CREATE INDEX logit_text IF NOT EXISTS FOR (n:Logit) ON (n.graph_id, n.text);
