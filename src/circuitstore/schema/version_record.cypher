// Record that migrations up to $version have been applied.
MERGE (v:SchemaVersion {id: 'circuitstore'})
SET v.version = $version, v.applied = datetime()
