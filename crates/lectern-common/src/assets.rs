//! The one stylesheet and the one script, compiled into the binary so nothing needs installing.

use actix_web::{HttpResponse, web};

const STYLESHEET: &str = include_str!("../../../static/lectern.css");
/// Submits the form of a page that hands a browser on to another site (an LTI launch): pages
/// allow no inline script, and work without this one (the form has a button).
const AUTOSUBMIT: &str = include_str!("../../../static/autosubmit.js");

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("cache-control", "public, max-age=3600"))
        .body(STYLESHEET)
}

async fn autosubmit() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header(("cache-control", "public, max-age=3600"))
        .body(AUTOSUBMIT)
}

/// Mounts `GET /assets/lectern.css` and `GET /assets/autosubmit.js`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/assets/lectern.css", web::get().to(stylesheet));
    cfg.route("/assets/autosubmit.js", web::get().to(autosubmit));
}
