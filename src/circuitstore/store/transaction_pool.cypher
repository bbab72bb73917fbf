// The server's transaction memory pool (e.g. '716.80MiB'; '0B': no limit). Parameters: none.
SHOW SETTINGS YIELD name, value
WHERE name = 'dbms.memory.transaction.total.max'
RETURN value
