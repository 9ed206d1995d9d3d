-- _flashback with `id = n`: each recorded state, a deleted key and a key never written.
SELECT * FROM _flashback.orders AS OF '@T1@' WHERE id = 1;
SELECT * FROM _flashback.orders AS OF TIMESTAMP '@T2@' WHERE id = 1;
SELECT * FROM _flashback.orders AS OF '@T4@' WHERE id = 1;
SELECT * FROM _flashback.orders AS OF '@T2@' WHERE id = 3;
SELECT * FROM _flashback.orders AS OF '@T3@' WHERE id = 3;
SELECT * FROM _flashback.orders AS OF '@T1@' WHERE 4 = id;
SELECT * FROM _flashback.orders AS OF '@T5@' WHERE id = 999;
SHOW WARNINGS;
