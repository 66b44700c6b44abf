-- How many attempts each student has made at each assignment. Numbering the next attempt is one
-- upsert of this row, which also holds the student's other attempts at the assignment until the
-- transaction commits (grading-service's `store::next_attempt`). A missing row means "count the
-- attempts stored", so attempts written before this table (or by the seeders) need no backfill.
CREATE TABLE attempt_counts (
    assignment_id TEXT NOT NULL REFERENCES assignments (id) ON DELETE CASCADE,
    student_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    made INTEGER NOT NULL CHECK (made >= 1),
    PRIMARY KEY (assignment_id, student_id)
);
