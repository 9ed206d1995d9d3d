-- _flashback with `BETWEEN` on the key.
SELECT * FROM _flashback.orders AS OF '@T2@' WHERE id BETWEEN 2 AND 4;
SELECT * FROM _flashback.orders AS OF '@T3@' WHERE id BETWEEN 2 AND 4;
SELECT * FROM _flashback.orders AS OF '@T5@' WHERE id BETWEEN 5 AND 100;
