-- _diff: one row per change of the requested keys, in commit order.
SELECT * FROM _diff.orders BETWEEN '@T1@' AND '@T5@' WHERE id = 1;
SELECT * FROM _diff.orders BETWEEN '@T2@' AND '@T4@' WHERE id IN (2, 3);
SELECT event_type, changed_columns FROM _diff.order_lines BETWEEN '@T1@' AND '@T5@' WHERE order_id = 1 AND line_no = 2;
SELECT * FROM _diff.orders BETWEEN '@T5@' AND '@T1@' WHERE id = 1;
SELECT * FROM _diff.orders BETWEEN '@T1@' AND '@T5@' WHERE customer = 'alice';
