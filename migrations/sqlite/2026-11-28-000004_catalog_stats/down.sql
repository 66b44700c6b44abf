DROP TRIGGER catalog_stats_update;
DROP TRIGGER catalog_stats_delete;
DROP TRIGGER catalog_stats_insert;
DROP TABLE catalog_stats;
