-- A virtual table joined with a real one is refused.
SELECT * FROM _flashback.orders AS OF '@T2@' f JOIN shop.orders o ON f.id = o.id WHERE f.id = 1;
SELECT * FROM _snapshot.orders AS OF '@T2@' s, orders o WHERE s.id = o.id;
SELECT * FROM _flashback.orders AS OF '@T2@' WHERE id IN (SELECT id FROM shop.orders);
