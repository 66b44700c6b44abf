//! `GET /healthz` (the process is up) and `GET /readyz` (the database answers: 200, else 503).

use crate::db::Db;
use actix_web::{HttpResponse, web};
use serde_json::json;

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

async fn readyz(db: web::Data<Db>) -> HttpResponse {
    match db.ping().await {
        Ok(()) => HttpResponse::Ok().json(json!({"status": "ready", "database": "ok"})),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            HttpResponse::ServiceUnavailable().json(json!({"status": "unavailable", "database": "unreachable"}))
        }
    }
}

/// Mounts both probes; `db` is what `/readyz` pings.
pub fn configure(cfg: &mut web::ServiceConfig, db: web::Data<Db>) {
    cfg.service(web::resource("/healthz").route(web::get().to(healthz)))
        .service(web::resource("/readyz").app_data(db).route(web::get().to(readyz)));
}
