//! auth-core: signs people in and issues the tokens every other service verifies.
//!
//! - `service.rs`: sign up, sign in, refresh (rotation, reuse detection, grace), sessions;
//! - `keys.rs`: the Ed25519 key ring and JWKS; `password.rs`: argon2id off the async workers;
//! - `api.rs` and `pages.rs`: the JSON API and the pages over the same functions;
//! - `oidc/`: Lectern as an OpenID Connect provider for other applications.

pub mod api;
pub mod domain;
pub mod error;
pub mod keys;
pub mod oidc;
pub mod pages;
pub mod password;
pub mod seal;
pub mod seed;
pub mod service;
pub mod store;
pub mod throttle;

pub use error::AuthError;
pub use service::{AuthSettings, AuthState};

use actix_web::web;
use lectern_common::Identity;
use lectern_common::web_config;
use std::sync::Arc;
use token_claims::{KeySet, KeySource, Verifier};

/// Mounts `/api/auth`, `/auth` and `/.well-known`. `identity` verifies bearer tokens for the
/// account endpoints (me, logout, sessions).
pub fn configure(cfg: &mut web::ServiceConfig, state: web::Data<AuthState>, identity: web::Data<Identity>) {
    cfg.service(
        web::scope("/api/auth")
            .app_data(state.clone())
            .app_data(identity.clone())
            .configure(web_config::standard)
            .route("/signup", web::post().to(api::signup))
            .route("/token", web::post().to(api::token))
            .route("/refresh", web::post().to(api::refresh))
            .route("/logout", web::post().to(api::logout))
            .route("/me", web::get().to(api::me))
            .route("/sessions", web::get().to(api::sessions))
            .route("/sessions/{id}", web::delete().to(api::delete_session))
            .route("/oauth/token", web::post().to(oidc::api::token))
            .route("/oauth/userinfo", web::get().to(oidc::api::userinfo_get))
            .route("/oauth/userinfo", web::post().to(oidc::api::userinfo_post)),
    )
    .service(
        web::scope("/auth")
            .app_data(state.clone())
            .app_data(identity)
            .configure(web_config::standard)
            .route("/sign-in", web::get().to(pages::sign_in_form))
            .route("/sign-in", web::post().to(pages::sign_in))
            .route("/sign-up", web::get().to(pages::sign_up_form))
            .route("/sign-up", web::post().to(pages::sign_up))
            .route("/sign-out", web::post().to(pages::sign_out))
            .route("/refresh", web::get().to(pages::refresh))
            .route("/refresh", web::post().to(pages::refresh))
            .route("/sessions", web::get().to(pages::sessions))
            .route("/sessions/{id}/end", web::post().to(pages::end_session))
            .route("/account/time-zone", web::post().to(pages::set_time_zone))
            .route("/token", web::get().to(pages::token))
            .route("/oauth/authorize", web::get().to(oidc::pages::authorize_get))
            .route("/oauth/authorize", web::post().to(oidc::pages::authorize_post))
            .route("/oauth/consent", web::post().to(oidc::pages::consent))
            .route("/oauth/connections/{client_id}/revoke", web::post().to(oidc::pages::revoke_connection)),
    )
    .service(
        web::scope("/.well-known")
            .app_data(state)
            .route("/jwks.json", web::get().to(api::jwks))
            .route("/openid-configuration", web::get().to(oidc::api::discovery)),
    );
}

/// The OpenAPI document of auth-core's JSON API (`/api/auth`, `/.well-known`), with the OpenID
/// Provider's JSON endpoints.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = <api::ApiDoc as utoipa::OpenApi>::openapi();
    doc.merge(<oidc::api::OidcDoc as utoipa::OpenApi>::openapi());
    doc
}

/// In the all-in-one shape the verifiers take keys straight from the key ring in the database:
/// an unknown `kid` (a key rotated in by the CLI a moment ago) reloads it.
pub struct KeyRingSource {
    pub state: Arc<AuthState>,
}

impl KeySource for KeyRingSource {
    fn fetch(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<KeySet, String>> + Send + '_>> {
        Box::pin(async move {
            let keys = Arc::clone(&self.state.keys);
            let now = self.state.clock.now();
            self.state
                .db
                .run(move |conn| keys.reload(conn, now).map(|_| keys.key_set()))
                .await
                .map_err(|e: AuthError| e.to_string())
        })
    }
}

/// Reloads the key ring every second, so `lectern keys rotate` run elsewhere takes effect at
/// once, and hands the public keys to this process's verifiers.
pub fn spawn_key_reload(state: Arc<AuthState>, verifiers: Vec<Arc<Verifier>>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(std::time::Duration::from_secs(1));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let keys = Arc::clone(&state.keys);
            let now = state.clock.now();
            match state.db.run(move |conn| keys.reload(conn, now)).await {
                Ok(true) => {
                    let set = state.keys.key_set();
                    for v in &verifiers {
                        v.set_keys(set.clone());
                    }
                    tracing::info!(kid = ?state.keys.signing_kid(), "key ring changed");
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "key ring reload failed; keeping the loaded keys")
                }
            }
        }
    })
}
