// How far the indexes are built: how many there are, how many are online, whether any failed,
// and the mean population percentage.
// Parameters: none.
SHOW INDEXES YIELD state, populationPercent
RETURN count(*) AS indexes,
       count(CASE WHEN state = 'ONLINE' THEN 1 END) AS online,
       count(CASE WHEN state = 'FAILED' THEN 1 END) AS failed,
       avg(populationPercent) AS percent
