DROP TABLE materials;
DROP TABLE enrollments;
DROP TABLE course_teachers;
DROP TABLE courses;
