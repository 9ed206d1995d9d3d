-- Row-value IN on the composite key.
SELECT * FROM _flashback.order_lines AS OF '@T3@' WHERE (order_id, line_no) IN ((1, 1), (1, 2), (3, 1));
SELECT * FROM _flashback.order_lines AS OF '@T2@' WHERE (order_id, line_no) IN ((3, 1), (2, 1));
