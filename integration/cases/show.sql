-- SHOW statements on the virtual schemas.
SHOW DATABASES;
SHOW TABLES FROM _flashback;
SHOW FULL TABLES FROM _snapshot;
SHOW TABLES FROM _diff;
SHOW COLUMNS FROM _flashback.orders;
SHOW FULL COLUMNS FROM _flashback.order_lines;
DESCRIBE _flashback.orders;
SHOW CREATE TABLE _flashback.order_lines;
SHOW KEYS FROM _flashback.order_lines;
SHOW INDEX FROM _flashback.orders;
SHOW COLUMNS FROM _flashback.nosuch;
