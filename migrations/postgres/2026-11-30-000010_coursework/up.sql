-- Coursework (issue 13): course staff with roles, per-student extensions, late policies, file
-- submissions stored once by SHA-256, and the append-only audit trail.

-- A course's staff: its teachers (the creator and co-teachers) and its graders. Teacher accounts
-- only; the services check the account's role when they add someone. Replaces course_teachers,
-- whose rows become teachers, added when their course was created.
CREATE TABLE course_staff (
    course_id TEXT NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('teacher', 'grader')),
    added_at TIMESTAMP NOT NULL,
    PRIMARY KEY (course_id, user_id)
);
CREATE INDEX course_staff_user ON course_staff (user_id, course_id);
INSERT INTO course_staff (course_id, user_id, role, added_at)
    SELECT t.course_id, t.teacher_id, 'teacher', c.created_at FROM course_teachers t JOIN courses c ON c.id = t.course_id;
DROP TABLE course_teachers;

-- A late policy: a penalty per started day late and its cap, in hundredths of a percent
-- (0..=10000), and how many days after the (effective) due date submissions close. All NULL: late
-- work is accepted without penalty.
ALTER TABLE assignments
    ADD COLUMN late_percent_per_day INTEGER CHECK (late_percent_per_day BETWEEN 0 AND 10000),
    ADD COLUMN late_max_percent INTEGER CHECK (late_max_percent BETWEEN 0 AND 10000),
    ADD COLUMN close_after_days INTEGER CHECK (close_after_days >= 0);

-- A student's own due date for one assignment.
CREATE TABLE extensions (
    assignment_id TEXT NOT NULL REFERENCES assignments (id) ON DELETE CASCADE,
    student_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    due_at TIMESTAMP NOT NULL,                          -- UTC
    granted_by TEXT NOT NULL REFERENCES users (id),
    granted_at TIMESTAMP NOT NULL,
    PRIMARY KEY (assignment_id, student_id)
);
CREATE INDEX extensions_student ON extensions (student_id, assignment_id);

-- Submitted files: the bytes once per SHA-256, however often they are handed in, and each
-- submission's list of files pointing at them.
CREATE TABLE file_blobs (
    sha256 TEXT PRIMARY KEY NOT NULL,                   -- lower-case hex of `content`
    size BIGINT NOT NULL CHECK (size >= 0),
    content BYTEA NOT NULL,
    created_at TIMESTAMP NOT NULL
);
-- Already compressed more often than not (PDF, zip, images): not worth TOAST's compression.
ALTER TABLE file_blobs ALTER COLUMN content SET STORAGE EXTERNAL;
CREATE TABLE submission_files (
    id TEXT PRIMARY KEY NOT NULL,
    submission_id TEXT NOT NULL REFERENCES submissions (id) ON DELETE CASCADE,
    position INTEGER NOT NULL CHECK (position >= 1),    -- the order they were sent in
    name TEXT NOT NULL,                                 -- sanitised: no path, no control characters
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL CHECK (size >= 0),
    sha256 TEXT NOT NULL REFERENCES file_blobs (sha256),
    CONSTRAINT submission_files_position_unique UNIQUE (submission_id, position)
);
CREATE INDEX submission_files_sha256 ON submission_files (sha256);

CREATE TRIGGER file_blobs_are_immutable BEFORE UPDATE ON file_blobs
    FOR EACH ROW EXECUTE FUNCTION lectern_refuse_update();
CREATE TRIGGER submission_files_are_immutable BEFORE UPDATE ON submission_files
    FOR EACH ROW EXECUTE FUNCTION lectern_refuse_update();

-- Who changed what in a course, written in the same transaction as the change. Append-only: the
-- database refuses to change or delete a record (a trigger for everyone, the owner included; and
-- the services' roles are not even granted UPDATE or DELETE).
CREATE TABLE audit_log (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, -- the order of writing: newest first without clock ties
    course_id TEXT NOT NULL REFERENCES courses (id),
    at TIMESTAMP NOT NULL,                              -- UTC
    actor_kind TEXT NOT NULL,                           -- 'user' (later also tools)
    actor_id TEXT NOT NULL,
    actor_name TEXT NOT NULL,                           -- as it was at the time
    action TEXT NOT NULL,                               -- such as 'staff.added', 'grade.recorded'
    object_type TEXT NOT NULL,
    object_id TEXT NOT NULL,
    details TEXT NOT NULL                               -- a JSON object
);
CREATE INDEX audit_log_course ON audit_log (course_id, seq);

CREATE FUNCTION lectern_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
END;
$$;
CREATE TRIGGER audit_log_is_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION lectern_refuse_change();
CREATE TRIGGER audit_log_is_never_truncated BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION lectern_refuse_change();
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM lectern_auth, lectern_service;
