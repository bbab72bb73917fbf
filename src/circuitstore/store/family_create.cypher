// Create feature families: $families is [{id, name, score, features: [Feature id], graphs:
// [graph id]}], all built by $method for $transcoder_set at time $built. Returns how many
// INCLUDES relationships were written (the caller checks it).
// Parameters: $transcoder_set, $method, $built, $families.
UNWIND $families AS family
CREATE (x:FeatureFamily {id: family.id, name: family.name, method: $method, transcoder_set: $transcoder_set,
                         score: family.score, n_features: size(family.features), n_graphs: size(family.graphs),
                         graphs: family.graphs, built: $built})
WITH x, family
UNWIND family.features AS feature
MATCH (f:Feature {id: feature})
CREATE (x)-[:INCLUDES]->(f)
RETURN count(*) AS included
