-- Column lists, in the order written, and aliases.
SELECT customer, amount FROM _flashback.orders AS OF '@T2@' WHERE id = 1;
SELECT status, id FROM _flashback.orders AS OF '@T5@' WHERE id IN (1, 2);
SELECT id AS order_id, note AS remark FROM _flashback.orders AS OF '@T4@' WHERE id = 1;
SELECT nosuch FROM _flashback.orders AS OF '@T2@' WHERE id = 1;
