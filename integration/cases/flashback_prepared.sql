-- `?` placeholders for times and keys in every shape (text clients get the values inlined).
-- params: ["@T2@", 1]
SELECT * FROM _flashback.orders AS OF ? WHERE id = ?;
-- params: ["@T3@", 2, 3]
SELECT id, status FROM _flashback.orders AS OF ? WHERE id IN (?, ?);
-- params: ["@T1@", "@T5@", 1]
SELECT event_type, changed_columns FROM _diff.orders BETWEEN ? AND ? WHERE id = ?;
-- params: ["@T3@"]
SELECT id, status FROM _snapshot.orders AS OF ? WHERE status = 'paid';
-- params: [6]
SELECT /*+ DBTRAIL_AT='@T4@' */ id, customer FROM orders WHERE id = ?;
