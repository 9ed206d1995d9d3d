-- LIMIT on _flashback answers.
SELECT * FROM _flashback.orders AS OF '@T2@' WHERE id IN (1, 2, 4, 5) LIMIT 2;
SELECT id FROM _flashback.orders AS OF '@T5@' WHERE id BETWEEN 1 AND 10 LIMIT 0;
