-- Composite primary key (order_id, line_no): both columns, and a leading-column prefix.
SELECT * FROM _flashback.order_lines AS OF '@T2@' WHERE order_id = 1 AND line_no = 2;
SELECT * FROM _flashback.order_lines AS OF '@T3@' WHERE order_id = 1 AND line_no = 2;
SELECT * FROM _flashback.order_lines AS OF '@T3@' WHERE line_no = 2 AND order_id = 1;
SELECT * FROM _flashback.order_lines AS OF '@T2@' WHERE order_id = 3 AND line_no = 1;
SELECT * FROM _flashback.order_lines AS OF '@T3@' WHERE order_id = 3 AND line_no = 1;
SELECT * FROM _flashback.order_lines AS OF '@T2@' WHERE order_id = 1;
