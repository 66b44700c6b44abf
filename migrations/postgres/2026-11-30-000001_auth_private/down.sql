ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM lectern_auth, lectern_service;
ALTER DEFAULT PRIVILEGES IN SCHEMA auth REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM lectern_auth;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM lectern_auth, lectern_service;
REVOKE ALL ON SCHEMA public FROM lectern_auth, lectern_service;

ALTER TABLE auth.refresh_tokens SET SCHEMA public;
ALTER TABLE users ADD COLUMN password_hash TEXT NOT NULL DEFAULT '';
UPDATE users SET password_hash = h.hash FROM auth.password_hashes h WHERE h.user_id = users.id;
ALTER TABLE users ALTER COLUMN password_hash DROP DEFAULT;

-- Sealed secrets and keys cannot be opened here: a downgrade starts with fresh ones.
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY NOT NULL,
    alg TEXT NOT NULL,
    private_pkcs8 TEXT NOT NULL,
    public_jwk TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
DROP SCHEMA auth CASCADE;
