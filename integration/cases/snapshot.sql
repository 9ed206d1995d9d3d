-- _snapshot: the whole table at a time, with filters and LIMIT; a table whose CREATE was never
-- captured needs a baseline (1526).
SELECT * FROM _snapshot.orders AS OF '@T1@';
SELECT * FROM _snapshot.orders AS OF '@T3@';
SELECT id, status FROM _snapshot.orders AS OF '@T5@' WHERE status = 'new';
SELECT * FROM _snapshot.order_lines AS OF '@T5@' LIMIT 2;
SELECT * FROM _snapshot.legacy AS OF '@T5@';
