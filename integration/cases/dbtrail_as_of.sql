-- Without AS OF a virtual table needs `SET @dbtrail_as_of`; with it, it reads at that time.
SELECT * FROM _flashback.orders WHERE id = 1;
SELECT * FROM _snapshot.orders;
SET @dbtrail_as_of = '@T2@';
SELECT * FROM _flashback.orders WHERE id = 1;
SELECT id, status FROM _snapshot.orders;
SELECT id, status FROM _flashback.orders AS OF '@T5@' WHERE id = 1;
SET @dbtrail_as_of = 'not a time';
SELECT id FROM _flashback.orders WHERE id = 1;
