DROP TRIGGER IF EXISTS grade_history_is_append_only;
DROP TRIGGER IF EXISTS submissions_are_immutable;
DROP TABLE IF EXISTS idempotency_keys;
DROP TABLE IF EXISTS grade_history;
DROP TABLE IF EXISTS grades;
DROP TABLE IF EXISTS submissions;
DROP TABLE IF EXISTS assignments;
