-- The catalog's `total` without counting every published course on every request: one row kept
-- exact by a trigger, whoever writes (the services, the CLI, a bulk load).
CREATE TABLE catalog_stats (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    published_courses BIGINT NOT NULL
);
INSERT INTO catalog_stats (id, published_courses) SELECT 1, COUNT(*) FROM courses WHERE published;

CREATE FUNCTION catalog_stats_track() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.published THEN
            UPDATE catalog_stats SET published_courses = published_courses + 1 WHERE id = 1;
        END IF;
        RETURN NEW;
    ELSIF TG_OP = 'DELETE' THEN
        IF OLD.published THEN
            UPDATE catalog_stats SET published_courses = published_courses - 1 WHERE id = 1;
        END IF;
        RETURN OLD;
    ELSE
        IF OLD.published IS DISTINCT FROM NEW.published THEN
            UPDATE catalog_stats SET published_courses = published_courses + (CASE WHEN NEW.published THEN 1 ELSE -1 END) WHERE id = 1;
        END IF;
        RETURN NEW;
    END IF;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER catalog_stats_track AFTER INSERT OR DELETE OR UPDATE OF published ON courses
    FOR EACH ROW EXECUTE FUNCTION catalog_stats_track();
