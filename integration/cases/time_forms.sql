-- Every spelling of a time. T2 commits at a whole second, so '@T2@.999999' still reads T2.
SELECT id, status FROM _flashback.orders AS OF '@T2@' WHERE id = 1;
SELECT id, status FROM _flashback.orders AS OF '@T2@.999999' WHERE id = 1;
SELECT id, status FROM _flashback.orders AS OF '@ISO T2+02:00@' WHERE id = 1;
SELECT id, status FROM _flashback.orders AS OF '@ISO T2-05:30@' WHERE id = 1;
SELECT id, status FROM _flashback.orders AS OF '@ISO T2@' WHERE id = 1;
SELECT id, status FROM _flashback.orders AS OF 'now' WHERE id = 1;
SELECT id, status FROM _flashback.orders AS OF '0 seconds ago' WHERE id = 1;
SELECT id, status FROM _flashback.orders AS OF NOW() WHERE id = 1;
SELECT event_type FROM _diff.orders BETWEEN '@DATE@' AND 'now' WHERE id = 1;
SELECT event_type FROM _diff.orders BETWEEN '1 hours ago' AND 'now' WHERE id = 1;
SELECT event_type FROM _diff.orders BETWEEN '90 minutes ago' AND '0 seconds ago' WHERE id = 1;
SELECT event_type FROM _diff.orders BETWEEN NOW() - INTERVAL 1 HOUR AND NOW() WHERE id = 1;
SELECT id FROM _flashback.orders AS OF '2000-01-01' WHERE id = 1;
SELECT id FROM _flashback.orders AS OF '2000-01-01 10:00' WHERE id = 1;
SELECT id FROM _flashback.orders AS OF 'yesterday at noon' WHERE id = 1;
SELECT id FROM _flashback.orders AS OF '2024-02-30' WHERE id = 1;
