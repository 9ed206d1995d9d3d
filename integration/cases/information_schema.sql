-- information_schema queries BI tools send. Captured tables are listed under their source schema
-- (the same metadata MySQL gives, which is what a tool behind ProxySQL sees: these queries stay on
-- MySQL there) and under the virtual schemas: _flashback and _snapshot with the table's columns
-- and key, _diff with the change-row columns of SELECT * FROM _diff.<t> (no key).
SELECT SCHEMA_NAME FROM information_schema.SCHEMATA ORDER BY SCHEMA_NAME;
SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shop' ORDER BY TABLE_NAME;
SELECT COLUMN_NAME, ORDINAL_POSITION, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, COLUMN_KEY FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME = 'orders' ORDER BY ORDINAL_POSITION;
SELECT INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME, NON_UNIQUE FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME = 'order_lines' ORDER BY INDEX_NAME, SEQ_IN_INDEX;
SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA IN ('_flashback', '_snapshot', '_diff') ORDER BY TABLE_SCHEMA, TABLE_NAME;
SELECT COLUMN_NAME, ORDINAL_POSITION, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, COLUMN_KEY FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '_flashback' AND TABLE_NAME = 'orders' ORDER BY ORDINAL_POSITION;
SELECT COLUMN_NAME, ORDINAL_POSITION, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, COLUMN_KEY FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '_diff' AND TABLE_NAME = 'orders' ORDER BY ORDINAL_POSITION;
SELECT INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = '_snapshot' AND TABLE_NAME = 'order_lines' ORDER BY SEQ_IN_INDEX;
SELECT INDEX_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = '_diff';
-- Joins between information_schema tables (MariaDB Connector/J's getPrimaryKeys); joins with a
-- virtual or real table are refused.
SELECT A.TABLE_SCHEMA TABLE_CAT, A.TABLE_NAME, A.COLUMN_NAME, B.SEQ_IN_INDEX KEY_SEQ, B.INDEX_NAME PK_NAME FROM information_schema.COLUMNS A, information_schema.STATISTICS B WHERE A.COLUMN_KEY IN ('PRI', 'pri') AND B.INDEX_NAME = 'PRIMARY' AND A.TABLE_SCHEMA = '_flashback' AND B.TABLE_SCHEMA = '_flashback' AND A.TABLE_NAME = 'order_lines' AND B.TABLE_NAME = 'order_lines' AND A.TABLE_SCHEMA = B.TABLE_SCHEMA AND A.TABLE_NAME = B.TABLE_NAME AND A.COLUMN_NAME = B.COLUMN_NAME ORDER BY A.COLUMN_NAME;
SELECT k.COLUMN_NAME, k.ORDINAL_POSITION FROM information_schema.TABLE_CONSTRAINTS c JOIN information_schema.KEY_COLUMN_USAGE k ON c.TABLE_SCHEMA = k.TABLE_SCHEMA AND c.TABLE_NAME = k.TABLE_NAME WHERE c.CONSTRAINT_TYPE = 'PRIMARY KEY' AND c.TABLE_SCHEMA = 'shop' AND c.TABLE_NAME = 'orders';
SELECT c.COLUMN_NAME FROM information_schema.COLUMNS c JOIN shop.orders o ON c.COLUMN_NAME = 'id';
