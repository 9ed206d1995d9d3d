-- A table created before the captured binlog: keys it changed are answered (before image),
-- keys it never touched give no row and a warning.
SELECT * FROM _flashback.legacy AS OF '@T1@' WHERE id = 1;
SELECT * FROM _flashback.legacy AS OF '@T2@' WHERE id = 1;
SELECT * FROM _flashback.legacy AS OF '@T2@' WHERE id = 2;
SHOW WARNINGS;
