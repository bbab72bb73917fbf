// The feature families that include some of $features (Feature ids), as one grouping: the
// Feature ids of each family among them. Parameters: $features. Returns {groups: [[feature id]]}.
UNWIND $features AS id
MATCH (f:Feature {id: id})<-[:INCLUDES]-(family:FeatureFamily)
WITH family, collect(DISTINCT f.id) AS features
RETURN collect(features) AS groups
