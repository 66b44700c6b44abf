DROP TABLE audit_log;
DROP FUNCTION lectern_refuse_change();
DROP TABLE submission_files;
DROP TABLE file_blobs;
DROP TABLE extensions;
ALTER TABLE assignments DROP COLUMN close_after_days, DROP COLUMN late_max_percent, DROP COLUMN late_percent_per_day;
CREATE TABLE course_teachers (
    course_id TEXT NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
    teacher_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (course_id, teacher_id)
);
CREATE INDEX course_teachers_teacher ON course_teachers (teacher_id, course_id);
-- Graders were no teachers: they go.
INSERT INTO course_teachers (course_id, teacher_id) SELECT course_id, user_id FROM course_staff WHERE role = 'teacher';
DROP TABLE course_staff;
