-- After USE _flashback (what a ProxySQL connection with schemaname _flashback has) there is no
-- real database: a table name resolves to the one captured schema holding it, and SHOW TABLES
-- lists those tables (a name captured in several schemas needs USE <schema>).
USE _flashback;
SELECT DATABASE();
SHOW TABLES;
SHOW FULL TABLES LIKE 'order%';
SHOW TABLE STATUS LIKE 'orders';
DESCRIBE orders;
SELECT id, customer, status FROM orders AS OF '@T2@' WHERE id = 1;
SELECT id, status FROM _flashback.orders AS OF '@T5@' WHERE id = 2;
SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = '_flashback' ORDER BY TABLE_NAME;
SELECT * FROM nosuch AS OF '@T2@' WHERE id = 1;
USE _diff;
SHOW TABLES;
-- After USE _diff an AS OF read of a table named alone is refused; after USE _snapshot it is
-- a _snapshot read. USE of a schema nothing was captured in is 1049.
SELECT id FROM orders AS OF '@T2@' WHERE id = 1;
USE _snapshot;
SELECT id, customer, status FROM orders AS OF '@T2@';
SELECT * FROM orders WHERE id = 1;
USE nosuchdb;
SELECT DATABASE();
