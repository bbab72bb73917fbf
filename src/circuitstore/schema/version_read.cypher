// The schema version applied to this database and the list of migrations applied (no row:
// none yet; no list: a database from before it).
MATCH (v:SchemaVersion {id: 'circuitstore'})
RETURN v.version AS version, v.migrations AS migrations
