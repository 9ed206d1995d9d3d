-- Zone-less literals are read in the session time_zone (offsets and IANA names; Asia/Tokyo has no
-- DST, so its offset is fixed); an unknown zone is ERR 1298.
SELECT @@time_zone, @@session.time_zone;
SET time_zone = '+02:00';
SELECT @@time_zone;
SELECT id, status FROM _flashback.orders AS OF '@T2+02:00@' WHERE id = 1;
SELECT id, status FROM _flashback.orders AS OF '@ISO T2@' WHERE id = 1;
SET time_zone = '-03:00';
SELECT id, status FROM _flashback.orders AS OF '@T2-03:00@' WHERE id = 1;
SET time_zone = 'Mars/Olympus_Mons';
SET time_zone = '+25:00';
SELECT @@time_zone;
SET time_zone = 'Europe/Paris';
SELECT @@time_zone;
SET time_zone = 'Asia/Tokyo';
SELECT id, status FROM _flashback.orders AS OF '@T1+09:00@' WHERE id = 1;
SELECT id, status FROM _flashback.orders AS OF '@T2+09:00@' WHERE id = 1;
SET time_zone = 'SYSTEM';
SELECT id, status FROM _flashback.orders AS OF '@T2@' WHERE id = 1;
