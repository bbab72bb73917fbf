// Record that migration $version has been applied: added to the list, and the version is the
// highest applied.
MERGE (v:SchemaVersion {id: 'circuitstore'})
SET v.version = CASE WHEN v.version > $version THEN v.version ELSE $version END,
    v.migrations = [m IN coalesce(v.migrations, []) WHERE m <> $version] + $version,
    v.applied = datetime()
