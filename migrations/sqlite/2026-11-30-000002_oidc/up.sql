-- auth-core as an OpenID Connect provider: registered clients and their redirect URIs, one-time
-- authorization codes, the opaque access tokens of the userinfo endpoint, and remembered consents.
-- (On PostgreSQL these live in the schema `auth`.) Secrets, codes and tokens are kept as SHA-256
-- hashes only.

CREATE TABLE oidc_clients (
    id TEXT PRIMARY KEY NOT NULL,         -- the client_id (a UUID)
    name TEXT NOT NULL,                   -- shown on the consent page
    secret_hash TEXT,                     -- SHA-256 of the client secret; NULL for a public client
    id_token_alg TEXT NOT NULL CHECK (id_token_alg IN ('RS256', 'EdDSA')),
    created_at TIMESTAMP NOT NULL
);

-- Matched as exact strings.
CREATE TABLE oidc_redirect_uris (
    client_id TEXT NOT NULL REFERENCES oidc_clients (id) ON DELETE CASCADE,
    uri TEXT NOT NULL,
    PRIMARY KEY (client_id, uri)
);

-- Single use, 60 seconds, bound to everything the token request must repeat or prove.
CREATE TABLE oidc_codes (
    code_hash TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL REFERENCES oidc_clients (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    redirect_uri TEXT NOT NULL,
    code_challenge TEXT NOT NULL,         -- PKCE S256
    nonce TEXT,
    scope TEXT NOT NULL,
    auth_time TIMESTAMP NOT NULL,         -- when the person signed in (the session's start)
    issued_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    spent_at TIMESTAMP
);
CREATE INDEX oidc_codes_expires_at ON oidc_codes (expires_at);
CREATE INDEX oidc_codes_user_client ON oidc_codes (user_id, client_id);

-- Opaque bearer tokens for the userinfo endpoint; no Lectern service accepts them.
CREATE TABLE oidc_access_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    code_hash TEXT NOT NULL REFERENCES oidc_codes (code_hash) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES oidc_clients (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    issued_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
CREATE INDEX oidc_access_tokens_code ON oidc_access_tokens (code_hash);
CREATE INDEX oidc_access_tokens_user_client ON oidc_access_tokens (user_id, client_id);
CREATE INDEX oidc_access_tokens_expires_at ON oidc_access_tokens (expires_at);

-- What a person allowed an application to learn (space-separated scopes), until they revoke it.
CREATE TABLE oidc_consents (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES oidc_clients (id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    granted_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
CREATE INDEX oidc_consents_client ON oidc_consents (client_id);
