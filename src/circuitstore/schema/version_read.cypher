// The schema version applied to this database (no row: none yet).
MATCH (v:SchemaVersion {id: 'circuitstore'})
RETURN v.version AS version
