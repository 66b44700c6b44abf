-- What only auth-core may read, apart from the shared tables (on PostgreSQL these live in the
-- schema `auth`, readable by auth-core's role only; SQLite is the one-process shape, where the
-- signing keys' private halves are sealed with the key-encryption key beside the database file).
CREATE TABLE signing_keys_v2 (
    kid TEXT PRIMARY KEY NOT NULL,        -- RFC 7638 thumbprint
    purpose TEXT NOT NULL,
    alg TEXT NOT NULL,
    private_key TEXT NOT NULL,            -- PKCS#8 DER sealed with the key-encryption key
    public_jwk TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    activates_at TIMESTAMP NOT NULL
);
-- Existing keys arrive in clear and are sealed by auth-core at its next start.
INSERT INTO signing_keys_v2 (kid, purpose, alg, private_key, public_jwk, created_at, activates_at)
    SELECT kid, 'access', alg, private_pkcs8, public_jwk, created_at, created_at FROM signing_keys;
DROP TABLE signing_keys;
ALTER TABLE signing_keys_v2 RENAME TO signing_keys;

CREATE TABLE secrets (
    name TEXT PRIMARY KEY NOT NULL,
    secret TEXT NOT NULL,                 -- sealed with the key-encryption key
    created_at TIMESTAMP NOT NULL
);
INSERT INTO secrets (name, secret, created_at)
    SELECT name, secret, created_at FROM server_secrets WHERE name = 'refresh-successor';
DELETE FROM server_secrets WHERE name = 'refresh-successor';

CREATE TABLE password_hashes (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    hash TEXT NOT NULL                    -- argon2id PHC string
);
INSERT INTO password_hashes (user_id, hash) SELECT id, password_hash FROM users;
ALTER TABLE users DROP COLUMN password_hash;
