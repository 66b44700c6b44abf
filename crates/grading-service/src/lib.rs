//! grading-service: assignments, submissions, grades and the gradebook.
