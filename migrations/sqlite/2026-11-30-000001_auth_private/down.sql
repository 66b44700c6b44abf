ALTER TABLE users ADD COLUMN password_hash TEXT NOT NULL DEFAULT '';
UPDATE users SET password_hash = (SELECT hash FROM password_hashes WHERE user_id = users.id);
DROP TABLE password_hashes;
DROP TABLE secrets;
DROP TABLE signing_keys;
-- Sealed keys cannot be opened here: a downgrade starts with a fresh key.
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY NOT NULL,
    alg TEXT NOT NULL,
    private_pkcs8 TEXT NOT NULL,
    public_jwk TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
