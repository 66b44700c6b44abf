//! A role type is made only from a verified token whose role matches: not by wrapping a user.

use lectern_common::{AuthUser, Teacher};

fn forge_a_teacher(user: AuthUser) -> Teacher {
    Teacher(user)
}

fn main() {}
