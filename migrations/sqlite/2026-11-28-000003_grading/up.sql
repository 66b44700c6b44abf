-- Assignments, submissions (immutable attempts), grades with their history, and the
-- Idempotency-Key replies of the submission endpoint.
-- Points and scores are stored exactly, as INTEGER hundredths of a point ("two decimals allowed").
CREATE TABLE assignments (
    id TEXT PRIMARY KEY NOT NULL,
    course_id TEXT NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    instructions TEXT NOT NULL DEFAULT '',
    due_at TIMESTAMP NOT NULL,                         -- UTC
    max_points_hundredths INTEGER NOT NULL CHECK (max_points_hundredths > 0),
    max_attempts INTEGER CHECK (max_attempts IS NULL OR max_attempts >= 1),  -- NULL: unlimited
    grades_released BOOLEAN NOT NULL DEFAULT FALSE,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL
);
-- A course's assignments in their stable order (due date, then id).
CREATE INDEX assignments_course ON assignments (course_id, due_at, id);
CREATE INDEX assignments_created_by ON assignments (created_by);

CREATE TABLE submissions (
    id TEXT PRIMARY KEY NOT NULL,
    assignment_id TEXT NOT NULL REFERENCES assignments (id) ON DELETE CASCADE,
    student_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    attempt INTEGER NOT NULL CHECK (attempt >= 1),
    body TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,                         -- lower-case hex of the body's UTF-8 bytes
    submitted_at TIMESTAMP NOT NULL,                   -- UTC
    late BOOLEAN NOT NULL,                             -- submitted_at > due_at when it was made
    -- One row per attempt; also serves "a student's attempts at an assignment" and "an assignment's submissions".
    CONSTRAINT submissions_attempt_unique UNIQUE (assignment_id, student_id, attempt)
);
CREATE INDEX submissions_student ON submissions (student_id, assignment_id);

-- The current grade of a submission.
CREATE TABLE grades (
    submission_id TEXT PRIMARY KEY NOT NULL REFERENCES submissions (id) ON DELETE CASCADE,
    score_hundredths INTEGER NOT NULL CHECK (score_hundredths >= 0),
    feedback TEXT NOT NULL DEFAULT '',
    graded_by TEXT NOT NULL REFERENCES users (id),
    graded_at TIMESTAMP NOT NULL,
    revision INTEGER NOT NULL CHECK (revision >= 1)    -- the grade_history row it came from
);
CREATE INDEX grades_graded_by ON grades (graded_by);

-- Every grade ever given, appended in the same transaction as the grade it records.
CREATE TABLE grade_history (
    id TEXT PRIMARY KEY NOT NULL,
    submission_id TEXT NOT NULL REFERENCES submissions (id) ON DELETE CASCADE,
    revision INTEGER NOT NULL CHECK (revision >= 1),  -- 1, 2, ... per submission: newest first without clock ties
    old_score_hundredths INTEGER,                      -- NULL for the first grade
    new_score_hundredths INTEGER NOT NULL CHECK (new_score_hundredths >= 0),
    feedback TEXT NOT NULL DEFAULT '',
    graded_by TEXT NOT NULL REFERENCES users (id),
    graded_at TIMESTAMP NOT NULL,
    CONSTRAINT grade_history_revision_unique UNIQUE (submission_id, revision)
);
CREATE INDEX grade_history_graded_by ON grade_history (graded_by);

-- The first successful reply to a submission made with an Idempotency-Key, per user, kept at
-- least 24 hours (older rows are purged when the same user submits again).
CREATE TABLE idempotency_keys (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    idempotency_key TEXT NOT NULL,
    request_fingerprint TEXT NOT NULL,                 -- SHA-256 hex of the assignment and body
    response_status INTEGER NOT NULL,
    response_body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, idempotency_key)
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (user_id, created_at);

-- Attempts and history rows are never rewritten.
CREATE TRIGGER submissions_are_immutable BEFORE UPDATE ON submissions
BEGIN
    SELECT RAISE(ABORT, 'submissions are immutable');
END;
CREATE TRIGGER grade_history_is_append_only BEFORE UPDATE ON grade_history
BEGIN
    SELECT RAISE(ABORT, 'grade history is append-only');
END;
