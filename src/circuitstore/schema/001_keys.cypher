// Uniqueness constraints: the keys the store MERGEs on. Each also gives a range index on its key.
CREATE CONSTRAINT graph_id IF NOT EXISTS FOR (g:Graph) REQUIRE g.id IS UNIQUE;
CREATE CONSTRAINT model_id IF NOT EXISTS FOR (m:Model) REQUIRE m.id IS UNIQUE;
CREATE CONSTRAINT transcoder_set_id IF NOT EXISTS FOR (t:TranscoderSet) REQUIRE t.id IS UNIQUE;
CREATE CONSTRAINT feature_id IF NOT EXISTS FOR (f:Feature) REQUIRE f.id IS UNIQUE;
CREATE CONSTRAINT vocab_id IF NOT EXISTS FOR (v:Vocab) REQUIRE v.id IS UNIQUE;
CREATE CONSTRAINT node_key IF NOT EXISTS FOR (n:Node) REQUIRE (n.graph_id, n.node_id) IS UNIQUE;
CREATE CONSTRAINT supernode_key IF NOT EXISTS FOR (s:Supernode) REQUIRE (s.graph_id, s.name) IS UNIQUE;
