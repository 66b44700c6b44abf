//! The demo accounts `cargo run --release` creates on an empty database.

use crate::error::AuthError;
use crate::service::{Account, AuthState};
use lectern_common::db::DbConnection;
use token_claims::Role;

pub struct DemoUser {
    pub email: &'static str,
    pub name: &'static str,
    pub role: Role,
    pub password: &'static str,
}

/// Printed at start-up; these are demo credentials for a local database, nothing more.
pub const DEMO_USERS: [DemoUser; 4] = [
    DemoUser {
        email: "ada@lectern.test",
        name: "Ada Lovelace",
        role: Role::Teacher,
        password: "amber falcon teaches rust",
    },
    DemoUser {
        email: "alan@lectern.test",
        name: "Alan Turing",
        role: Role::Teacher,
        password: "copper kettle marks essays",
    },
    DemoUser {
        email: "grace@lectern.test",
        name: "Grace Hopper",
        role: Role::Student,
        password: "quiet river learns rust",
    },
    DemoUser {
        email: "edsger@lectern.test",
        name: "Edsger Dijkstra",
        role: Role::Student,
        password: "paper lantern reads proofs",
    },
];

/// Creates the demo users that do not exist yet; returns the accounts it created.
pub fn demo_users(state: &AuthState, conn: &mut DbConnection) -> Result<Vec<Account>, AuthError> {
    let mut created = Vec::new();
    for user in &DEMO_USERS {
        if let Some(account) = state.create_user_now(conn, user.email, user.name, user.role, user.password)? {
            created.push(account);
        }
    }
    Ok(created)
}
