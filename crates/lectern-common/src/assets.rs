//! The one stylesheet, compiled into the binary so nothing needs installing.

use actix_web::{HttpResponse, web};

const STYLESHEET: &str = include_str!("../../../static/lectern.css");

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("cache-control", "public, max-age=3600"))
        .body(STYLESHEET)
}

/// Mounts `GET /assets/lectern.css`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/assets/lectern.css", web::get().to(stylesheet));
}
