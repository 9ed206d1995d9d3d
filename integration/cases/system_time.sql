-- MariaDB's own `FOR SYSTEM_TIME AS OF [TIMESTAMP]` on real and virtual table names.
SELECT * FROM shop.orders FOR SYSTEM_TIME AS OF TIMESTAMP '@T2@' WHERE id = 1;
SELECT * FROM orders FOR SYSTEM_TIME AS OF '@T3@' WHERE id = 3;
SELECT id, status FROM _flashback.orders FOR SYSTEM_TIME AS OF '@T5@' WHERE id = 2;
