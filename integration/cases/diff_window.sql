-- A _diff window wider than limits.max_diff_window (24h) is refused until the session allows it;
-- allowed, this one starts before captured history: the captured changes, with a warning that
-- names where history starts (changes before it are unknown).
SELECT event_type FROM _diff.orders BETWEEN '2020-01-01' AND '@T5@' WHERE id = 1;
SET @dbtrail_allow_wide_diff = ON;
SELECT event_type FROM _diff.orders BETWEEN '2020-01-01' AND '@T5@' WHERE id = 1;
SHOW WARNINGS;
SET @dbtrail_allow_wide_diff = OFF;
SELECT event_type FROM _diff.orders BETWEEN '2020-01-01' AND '@T5@' WHERE id = 1;
