// Write a claimed graph's properties and its links to Model and TranscoderSet.
// Parameters: $graph_id, $props (every :Graph property, fingerprint included).
MATCH (g:Graph {id: $graph_id})
SET g = $props
WITH g
MATCH (m:Model {id: $props.model})
MATCH (t:TranscoderSet {id: $props.transcoder_set})
CREATE (g)-[:OF_MODEL]->(m), (g)-[:USES]->(t)
