DROP TRIGGER catalog_stats_track ON courses;
DROP FUNCTION catalog_stats_track();
DROP TABLE catalog_stats;
