-- A predicate on non-PK columns alone is refused, never taken for the key.
SELECT * FROM _flashback.orders AS OF '@T2@' WHERE customer = 'alice';
SELECT * FROM _flashback.orders AS OF '@T2@' WHERE status = 'paid' OR id = 1;
SELECT * FROM _flashback.orders AS OF '@T2@';
SELECT * FROM _flashback.order_lines AS OF '@T2@' WHERE line_no = 1;
