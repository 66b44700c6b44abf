DROP TABLE auth.oidc_consents;
DROP TABLE auth.oidc_access_tokens;
DROP TABLE auth.oidc_codes;
DROP TABLE auth.oidc_redirect_uris;
DROP TABLE auth.oidc_clients;
-- ID-token keys sign nothing without these tables.
DELETE FROM auth.signing_keys WHERE purpose = 'id_token';
