-- A table that exists on the source but that capture never saw (created before capture began and
-- never written since): the answer names the baseline that would cover it, for every virtual
-- schema; a table that exists nowhere is 1146, as MySQL says.
SELECT * FROM _snapshot.dormant AS OF '@T5@';
SELECT * FROM _flashback.dormant AS OF '@T5@' WHERE id = 1;
SELECT * FROM _diff.dormant BETWEEN '@T1@' AND '@T5@' WHERE id = 1;
SELECT * FROM _snapshot.nowhere AS OF '@T5@';
SELECT * FROM _flashback.nowhere AS OF '@T5@' WHERE id = 1;
