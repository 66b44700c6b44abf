-- Run once by the postgres image on an empty data directory (docker-entrypoint-initdb.d), as the
-- owner (POSTGRES_USER), who also runs `lectern migrate`. The migrations create the two group
-- roles as well and grant them their tables; this script makes the login roles the services use:
--   auth      member of lectern_auth:    the shared tables and the schema `auth` (keys, secrets, hashes)
--   courses   member of lectern_service: the shared tables; users and sessions read-only; no `auth`
--   grading   member of lectern_service: likewise
-- The passwords here are for the compose demo: set real ones (and the URLs in docker-compose.yml).
DO $$ BEGIN CREATE ROLE lectern_auth NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
DO $$ BEGIN CREATE ROLE lectern_service NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
CREATE ROLE auth LOGIN PASSWORD 'auth' IN ROLE lectern_auth;
CREATE ROLE courses LOGIN PASSWORD 'courses' IN ROLE lectern_service;
CREATE ROLE grading LOGIN PASSWORD 'grading' IN ROLE lectern_service;
