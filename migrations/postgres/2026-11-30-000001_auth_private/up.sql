-- What only auth-core may read moves into the schema `auth`: signing keys (whose private halves
-- auth-core also encrypts with a key-encryption key kept outside the database), auth-core's own
-- secrets, password hashes and refresh-token hashes. Database roles:
--   lectern_auth     auth-core: its schema, and the shared tables;
--   lectern_service  course and grading services: the shared tables; users, sessions and the
--                    services' secrets read-only; no access to `auth` at all.
-- Operators make login roles members of these (docker-compose.yml and docs/operations.md show how);
-- the role that runs migrations owns everything. Every connection uses search_path `public, auth`:
-- a role without USAGE on `auth` simply does not see its tables.
DO $$ BEGIN CREATE ROLE lectern_auth NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
DO $$ BEGIN CREATE ROLE lectern_service NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;

CREATE SCHEMA auth;
REVOKE ALL ON SCHEMA auth FROM PUBLIC;
GRANT USAGE ON SCHEMA auth TO lectern_auth;

-- `purpose` says what a key signs (access tokens; later ID tokens); it signs from `activates_at`,
-- and is published in the JWKS from the moment it exists.
CREATE TABLE auth.signing_keys (
    kid TEXT PRIMARY KEY NOT NULL,        -- RFC 7638 thumbprint
    purpose TEXT NOT NULL,
    alg TEXT NOT NULL,
    private_key TEXT NOT NULL,            -- PKCS#8 DER sealed with the key-encryption key
    public_jwk TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    activates_at TIMESTAMP NOT NULL
);
-- Existing keys arrive in clear and are sealed by auth-core at its next start.
INSERT INTO auth.signing_keys (kid, purpose, alg, private_key, public_jwk, created_at, activates_at)
    SELECT kid, 'access', alg, private_pkcs8, public_jwk, created_at, created_at FROM signing_keys;
DROP TABLE signing_keys;

CREATE TABLE auth.secrets (
    name TEXT PRIMARY KEY NOT NULL,
    secret TEXT NOT NULL,                 -- sealed with the key-encryption key
    created_at TIMESTAMP NOT NULL
);
INSERT INTO auth.secrets (name, secret, created_at)
    SELECT name, secret, created_at FROM server_secrets WHERE name = 'refresh-successor';
DELETE FROM server_secrets WHERE name = 'refresh-successor';

CREATE TABLE auth.password_hashes (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES public.users (id) ON DELETE CASCADE,
    hash TEXT NOT NULL                    -- argon2id PHC string
);
INSERT INTO auth.password_hashes (user_id, hash) SELECT id, password_hash FROM users;
ALTER TABLE users DROP COLUMN password_hash;

ALTER TABLE refresh_tokens SET SCHEMA auth;

GRANT USAGE ON SCHEMA public TO lectern_auth, lectern_service;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA auth TO lectern_auth;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO lectern_auth, lectern_service;
REVOKE INSERT, UPDATE, DELETE ON users, sessions, server_secrets FROM lectern_service;
-- Tables later migrations create get the same grants.
ALTER DEFAULT PRIVILEGES IN SCHEMA auth GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO lectern_auth;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO lectern_auth, lectern_service;
