//! The one integration-test binary: every module runs the real application over HTTP, each test
//! once on SQLite and once on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod helpers;
mod load;
mod own_postgres;

mod access_matrix;
mod accessibility;
mod audit;
mod auth;
mod backup;
mod browser;
mod courses;
mod deadlines;
mod deploy;
mod failover;
mod files;
mod grading;
mod hardening;
mod home;
mod keys;
mod lti;
mod lti_browser;
mod oidc;
mod oidc_browser;
mod openapi;
mod ops;
mod outage;
mod pages;
mod rules;
mod security;
mod split;
mod staff;
mod time_zones;
mod tokens;
mod upload_memory;
