-- Each account's time zone (an IANA name): pages show times in it and forms read them in it.
-- UTC until the person chooses one on their account page (docs/decisions.md).
ALTER TABLE users ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
