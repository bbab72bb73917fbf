// How many nodes the store holds besides the schema version (from the count store: no scan).
// Parameters: none.
CALL { MATCH (n) RETURN count(n) AS everything }
CALL { MATCH (v:SchemaVersion) RETURN count(v) AS versions }
RETURN everything - versions AS nodes
