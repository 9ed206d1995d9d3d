-- `AS OF` on a real table name rewrites to _flashback (schema-qualified or the current database).
SELECT * FROM shop.orders WHERE id = 1 AS OF '@T2@';
SELECT customer FROM orders WHERE id IN (1, 2) AS OF TIMESTAMP '@T5@';
SELECT * FROM orders AS OF '@T3@' WHERE id = 3;
SELECT * FROM orders WHERE customer = 'bob' AS OF '@T2@';
