// One page of Feature ids in id order (a seek on the Feature.id constraint's index), for work
// over every Feature in bounded transactions.
// Parameters: $after (the last id of the previous page; '' for the first), $n (page size).
MATCH (f:Feature)
WHERE f.id > $after
RETURN f.id AS id
ORDER BY id
LIMIT $n
