//! Plumbing every Lectern service shares, and nothing else: configuration, the database kit,
//! problem documents, the identity extractors, CSRF, middleware and telemetry.
//!
//! Business rules live in the service crates; if a piece of code here starts to know what a
//! course or a grade is, it belongs in a service.

pub mod assets;
pub mod cache;
pub mod config;
pub mod csrf;
pub mod db;
pub mod extract;
pub mod health;
pub mod ids;
pub mod jwks;
pub mod metrics;
pub mod middleware;
pub mod net;
pub mod openapi;
pub mod page;
pub mod pagination;
pub mod problem;
pub mod revocation;
pub mod role_column;
pub mod schema;
pub mod sql;
pub mod telemetry;
pub mod text;
pub mod timefmt;
pub mod web_config;

pub use config::{Config, ConfigError};
pub use db::{Db, DbConnection, DbError};
pub use extract::{
    AuthUser, CallerRole, Identity, MaybeAuthUser, Page, PageStudent, PageTeacher, PageUser, Student, Teacher,
};
pub use page::PageCtx;
pub use problem::Problem;
