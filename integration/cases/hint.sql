-- The optimizer-hint form `/*+ DBTRAIL_AT='<time>' */`.
SELECT /*+ DBTRAIL_AT='@T2@' */ * FROM shop.orders WHERE id = 1;
SELECT /*+ DBTRAIL_AT='@T4@' */ id, note FROM orders WHERE id IN (1, 6);
