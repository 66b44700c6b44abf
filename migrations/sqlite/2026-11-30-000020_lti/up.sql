-- Lectern as an LTI 1.3 platform (docs/lti.md).
--
-- What any service may read and nothing secret: the tools the operator registered (their URLs
-- and the ids Lectern gave them), the links teachers put in courses, and the last score time of
-- each line item and student. Then what the platform keeps to refuse replays and to recognise
-- its own access tokens, as SHA-256 hashes (on PostgreSQL in the schema `auth`).

CREATE TABLE lti_tools (
    id TEXT PRIMARY KEY NOT NULL,             -- the tool_id the CLI and the API name (a UUID)
    name TEXT NOT NULL,
    client_id TEXT NOT NULL UNIQUE,           -- what the tool sends as client_id, iss and sub (a UUID)
    deployment_id TEXT NOT NULL UNIQUE,       -- one deployment per registration (a UUID)
    login_url TEXT NOT NULL,                  -- third-party-initiated login
    target_link_uri TEXT NOT NULL,
    jwks_url TEXT NOT NULL,                   -- the tool's public keys (client assertions)
    created_at TIMESTAMP NOT NULL
);

-- Matched as exact strings.
CREATE TABLE lti_tool_redirect_uris (
    tool_id TEXT NOT NULL REFERENCES lti_tools (id) ON DELETE CASCADE,
    uri TEXT NOT NULL,
    PRIMARY KEY (tool_id, uri)
);

-- A link's assignment must be one of the link's course: the composite key says so.
CREATE UNIQUE INDEX assignments_id_course_unique ON assignments (id, course_id);

CREATE TABLE lti_tool_links (
    id TEXT PRIMARY KEY NOT NULL,             -- the resource link id sent to the tool
    course_id TEXT NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
    tool_id TEXT NOT NULL REFERENCES lti_tools (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    assignment_id TEXT,                       -- scores posted by the tool become its grades
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    FOREIGN KEY (assignment_id, course_id) REFERENCES assignments (id, course_id) ON DELETE CASCADE
);
CREATE INDEX lti_tool_links_course ON lti_tool_links (course_id, created_at);
CREATE INDEX lti_tool_links_tool_course ON lti_tool_links (tool_id, course_id);
CREATE INDEX lti_tool_links_assignment ON lti_tool_links (assignment_id);

-- The timestamp of the last score a tool posted for a student on an assignment: an older one
-- arriving later is refused (AGS 2.0, scores).
CREATE TABLE lti_score_times (
    assignment_id TEXT NOT NULL REFERENCES assignments (id) ON DELETE CASCADE,
    student_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    scored_at TIMESTAMP NOT NULL,             -- the score's own `timestamp`, in UTC
    PRIMARY KEY (assignment_id, student_id)
);

-- Nonces of the authorization requests: each once (kept past the ID token's lifetime).
CREATE TABLE lti_nonces (
    tool_id TEXT NOT NULL REFERENCES lti_tools (id) ON DELETE CASCADE,
    nonce_hash TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tool_id, nonce_hash)
);
CREATE INDEX lti_nonces_expires_at ON lti_nonces (expires_at);

-- The `jti` of every client assertion, until the assertion expires: each once.
CREATE TABLE lti_assertion_jtis (
    tool_id TEXT NOT NULL REFERENCES lti_tools (id) ON DELETE CASCADE,
    jti_hash TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tool_id, jti_hash)
);
CREATE INDEX lti_assertion_jtis_expires_at ON lti_assertion_jtis (expires_at);

-- Opaque bearer tokens of the LTI services, bound to a tool and the scopes it was granted.
CREATE TABLE lti_access_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    tool_id TEXT NOT NULL REFERENCES lti_tools (id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    issued_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX lti_access_tokens_expires_at ON lti_access_tokens (expires_at);
