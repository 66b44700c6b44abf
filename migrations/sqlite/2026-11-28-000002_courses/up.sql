-- Courses, who teaches them, who is enrolled, and their materials.
CREATE TABLE courses (
    id TEXT PRIMARY KEY NOT NULL,
    title TEXT NOT NULL,
    summary TEXT NOT NULL DEFAULT '',
    published BOOLEAN NOT NULL DEFAULT FALSE,
    enrollment_code TEXT NOT NULL UNIQUE,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
-- The catalog: published courses in title order (the teacher's own drafts are found through course_teachers).
CREATE INDEX courses_catalog ON courses (published, title, id);
CREATE INDEX courses_title ON courses (title, id);
CREATE INDEX courses_created_by ON courses (created_by);

CREATE TABLE course_teachers (
    course_id TEXT NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
    teacher_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (course_id, teacher_id)
);
CREATE INDEX course_teachers_teacher ON course_teachers (teacher_id, course_id);

CREATE TABLE enrollments (
    course_id TEXT NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
    student_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    enrolled_at TIMESTAMP NOT NULL,
    PRIMARY KEY (course_id, student_id)
);
CREATE INDEX enrollments_student ON enrollments (student_id, course_id);

CREATE TABLE materials (
    id TEXT PRIMARY KEY NOT NULL,
    course_id TEXT NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    body_markdown TEXT NOT NULL,
    body_html TEXT NOT NULL,              -- rendered and sanitised when written
    position INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX materials_course ON materials (course_id, position, id);
