-- _diff.<t> describes itself one way everywhere: the eight change columns SELECT * returns, with
-- its types, and no key (docs/diff-json.md).
DESCRIBE _diff.orders;
SHOW FULL COLUMNS FROM orders FROM _diff;
SHOW CREATE TABLE _diff.order_lines;
SHOW KEYS FROM _diff.order_lines;
SELECT * FROM _diff.orders BETWEEN '@T1@' AND '@T2@' WHERE id = 1;
USE _diff;
SHOW COLUMNS FROM orders;
