//! `GET /healthz` (the process is up) and `GET /readyz` (it can serve: the database answers,
//! and in the split shape it holds verification keys). A service whose auth-core went away
//! keeps serving with its cached keys: `/readyz` stays 200 and says so in `jwks`.

use crate::db::Db;
use crate::jwks::JwksSource;
use actix_web::{HttpResponse, web};
use serde_json::json;
use std::sync::Arc;

/// What `/readyz` checks.
pub struct Readiness {
    pub db: Db,
    /// The split shape's JWKS cache; `None` when auth-core runs in this process.
    pub jwks: Option<Arc<JwksSource>>,
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

async fn readyz(readiness: web::Data<Readiness>) -> HttpResponse {
    let database = match readiness.db.ping().await {
        Ok(()) => "ok",
        Err(e) => {
            tracing::warn!(error = %e, "readiness: database unreachable");
            "unreachable"
        }
    };
    let (keys_ready, jwks) = match &readiness.jwks {
        None => (true, json!("local key ring")),
        Some(source) => {
            let health = source.health();
            match (health.has_keys, health.last_error) {
                (true, None) => (true, json!("ok")),
                (true, Some(e)) => (
                    true,
                    json!({"status": "stale", "warning": "auth service unreachable; serving with cached keys", "error": e}),
                ),
                (false, e) => (false, json!({"status": "unavailable", "error": e})),
            }
        }
    };
    let ready = database == "ok" && keys_ready;
    let body = json!({"status": if ready { "ready" } else { "unavailable" }, "database": database, "jwks": jwks});
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable()
            .insert_header((actix_web::http::header::RETRY_AFTER, crate::problem::UNAVAILABLE_RETRY_AFTER_SECS))
            .json(body)
    }
}

/// Mounts both probes.
pub fn configure(cfg: &mut web::ServiceConfig, readiness: web::Data<Readiness>) {
    cfg.service(web::resource("/healthz").route(web::get().to(healthz)))
        .service(web::resource("/readyz").app_data(readiness).route(web::get().to(readyz)));
}
