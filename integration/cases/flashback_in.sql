-- _flashback with `id IN (...)`: rows in key order, missing keys give no row.
SELECT * FROM _flashback.orders AS OF '@T2@' WHERE id IN (3, 1, 2);
SELECT * FROM _flashback.orders AS OF '@T3@' WHERE id IN (1, 2, 3, 6);
SELECT * FROM _flashback.orders AS OF '@T4@' WHERE id IN (6);
