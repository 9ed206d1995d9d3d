-- Predicates on non-PK columns filter the rows the key predicate found.
SELECT * FROM _flashback.orders AS OF '@T2@' WHERE id IN (1, 2, 4, 5) AND status = 'paid';
SELECT * FROM _flashback.orders AS OF '@T2@' WHERE id BETWEEN 1 AND 5 AND note IS NULL;
SELECT * FROM _flashback.orders AS OF '@T5@' WHERE id IN (1, 2) AND customer = 'bob';
SELECT * FROM _flashback.orders AS OF '@T4@' WHERE id = 1 AND amount > 11;
SELECT * FROM _flashback.order_lines AS OF '@T3@' WHERE order_id = 1 AND qty >= 2;
