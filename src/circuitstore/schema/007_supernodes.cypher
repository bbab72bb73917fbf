// Supernodes record what made them (`method`: imported, manual, or the grouping method that
// suggested them, with a `score`), and feature families group Features across graphs.
// All the supernodes of one method, in every graph (every evidence suggestion, say):
CREATE INDEX supernode_method IF NOT EXISTS FOR (s:Supernode) ON (s.method);
// A family by its id; one transcoder set's families of one method, replaced together by a build.
CREATE CONSTRAINT feature_family_id IF NOT EXISTS FOR (x:FeatureFamily) REQUIRE x.id IS UNIQUE;
CREATE INDEX feature_family_set IF NOT EXISTS FOR (x:FeatureFamily) ON (x.transcoder_set, x.method);
// Families by the words of their names: CALL db.index.fulltext.queryNodes('family_name', 'texas')
CREATE FULLTEXT INDEX family_name IF NOT EXISTS FOR (x:FeatureFamily) ON EACH [x.name];
// Supernodes stored before methods existed came with their graphs' files. Only those match, so
// applying this twice changes nothing.
MATCH (s:Supernode) WHERE s.method IS NULL SET s.method = 'imported';
