// Wait (up to $seconds) until new indexes are online, so the first query can use them.
CALL db.awaitIndexes($seconds)
