-- Session values of system variables: SET stores them, SELECT @@ answers them, DEFAULT forgets
-- them, sql_select_limit caps the rows of time-travel SELECTs (a smaller LIMIT still wins).
SELECT @@wait_timeout, @@interactive_timeout, @@net_read_timeout, @@net_write_timeout, @@max_execution_time;
SET @@session.wait_timeout = 600, interactive_timeout = 700, net_read_timeout = 45;
SET SESSION net_write_timeout = 90, max_execution_time = 1000;
SELECT @@wait_timeout, @@session.interactive_timeout, @@net_read_timeout, @@net_write_timeout, @@max_execution_time;
SHOW VARIABLES LIKE 'wait_timeout';
SET wait_timeout = 'soon';
SET sql_select_limit = 2;
SELECT @@sql_select_limit;
SELECT id, status FROM _flashback.orders AS OF '@T5@' WHERE id IN (1, 2, 4, 5);
SELECT id, status FROM _flashback.orders AS OF '@T5@' WHERE id IN (1, 2, 4, 5) LIMIT 1;
SELECT order_id, line_no, qty FROM _snapshot.order_lines AS OF '@T5@';
SELECT event_type, binlog_pos FROM _diff.orders BETWEEN '@T1@' AND '@T5@' WHERE id = 1;
SET sql_select_limit = DEFAULT;
SELECT @@sql_select_limit;
SELECT id, status FROM _flashback.orders AS OF '@T5@' WHERE id IN (1, 2, 4, 5);
