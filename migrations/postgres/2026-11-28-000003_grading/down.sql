DROP TABLE IF EXISTS idempotency_keys;
DROP TABLE IF EXISTS grade_history;
DROP TABLE IF EXISTS grades;
DROP TABLE IF EXISTS submissions;
DROP TABLE IF EXISTS assignments;
DROP FUNCTION IF EXISTS lectern_refuse_update();
