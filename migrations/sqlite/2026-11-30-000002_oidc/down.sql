DROP TABLE oidc_consents;
DROP TABLE oidc_access_tokens;
DROP TABLE oidc_codes;
DROP TABLE oidc_redirect_uris;
DROP TABLE oidc_clients;
-- ID-token keys sign nothing without these tables.
DELETE FROM signing_keys WHERE purpose = 'id_token';
