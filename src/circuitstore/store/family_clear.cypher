// Remove the feature families that method $method built for transcoder set $transcoder_set
// (their Features stay). Parameters: $transcoder_set, $method. Returns how many went.
MATCH (x:FeatureFamily {transcoder_set: $transcoder_set, method: $method})
DETACH DELETE x
RETURN count(*) AS removed
