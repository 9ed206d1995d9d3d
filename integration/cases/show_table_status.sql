-- SHOW TABLE STATUS of a virtual schema and of the current database (sizes and times unknown:
-- NULL; the collation is that of the table's string columns).
SHOW TABLE STATUS FROM _flashback;
SHOW TABLE STATUS;
SHOW TABLE STATUS FROM _flashback LIKE 'order%';
SHOW TABLE STATUS LIKE 'orders';
SHOW TABLE STATUS WHERE Name = 'legacy';
SHOW TABLE STATUS IN _diff WHERE Name IN ('orders', 'nosuch');
