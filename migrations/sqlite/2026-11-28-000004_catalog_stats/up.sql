-- The catalog's `total` without counting every published course on every request: one row kept
-- exact by triggers, whoever writes (the services, the CLI, a bulk load).
CREATE TABLE catalog_stats (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    published_courses BIGINT NOT NULL
);
INSERT INTO catalog_stats (id, published_courses) SELECT 1, COUNT(*) FROM courses WHERE published;

CREATE TRIGGER catalog_stats_insert AFTER INSERT ON courses WHEN NEW.published
BEGIN
    UPDATE catalog_stats SET published_courses = published_courses + 1 WHERE id = 1;
END;

CREATE TRIGGER catalog_stats_delete AFTER DELETE ON courses WHEN OLD.published
BEGIN
    UPDATE catalog_stats SET published_courses = published_courses - 1 WHERE id = 1;
END;

CREATE TRIGGER catalog_stats_update AFTER UPDATE OF published ON courses WHEN OLD.published <> NEW.published
BEGIN
    UPDATE catalog_stats SET published_courses = published_courses + (CASE WHEN NEW.published THEN 1 ELSE -1 END) WHERE id = 1;
END;
