-- A virtual table joined with a real one is refused.
SELECT * FROM _flashback.orders AS OF '@T2@' f JOIN shop.orders o ON f.id = o.id WHERE f.id = 1;
SELECT * FROM _snapshot.orders AS OF '@T2@' s, orders o WHERE s.id = o.id;
SELECT * FROM _flashback.orders AS OF '@T2@' WHERE id IN (SELECT id FROM shop.orders);
-- Virtual tables joined with each other: not supported yet (1235), not called a real table.
SELECT * FROM _snapshot.orders AS OF '@T2@' a JOIN _snapshot.order_lines b ON a.id = b.order_id;
