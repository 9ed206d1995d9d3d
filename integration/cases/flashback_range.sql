-- _flashback with `>=` / `<=` / `>` / `<` ranges on the key.
SELECT * FROM _flashback.orders AS OF '@T4@' WHERE id >= 5;
SELECT * FROM _flashback.orders AS OF '@T4@' WHERE id <= 2;
SELECT * FROM _flashback.orders AS OF '@T2@' WHERE id >= 2 AND id <= 3;
SELECT * FROM _flashback.orders AS OF '@T5@' WHERE id > 4 AND id < 6;
