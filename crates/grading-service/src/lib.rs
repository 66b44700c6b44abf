//! grading-service: assignments, submissions, grades and the gradebook, as pages and a JSON API.
//!
//! - `access.rs`: submissions loaded *for* a user as capabilities (`OwnerOf`, `GraderOf`);
//!   assignments reached through course-service's capabilities over their course;
//! - `service/`: what each request does, in one database hand-off, by aggregate (assignments,
//!   submissions, grades); `api.rs` and `pages.rs` are thin shells over it;
//! - `domain.rs`: parsed input (exact scores in hundredths); `views.rs`: replies and request
//!   bodies; `gradebook.rs`: the gradebook's JSON, CSV and statistics; `store.rs`: the queries.

pub mod access;
pub mod api;
pub mod archive;
pub mod domain;
pub mod error;
pub mod files;
pub mod gradebook;
pub mod late;
pub mod pages;
pub mod seed;
pub mod service;
pub mod store;
pub mod views;

pub use error::GradingError;
pub use service::GradingState;

use actix_web::{guard, web};
use lectern_common::Identity;
use lectern_common::web_config::{self, large_bodies};

/// The OpenAPI document of grading-service's JSON API (`/api/grading`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    <api::ApiDoc as utoipa::OpenApi>::openapi()
}

/// Mounts `/api/grading` (JSON), `/grading` (pages) and `/home` (where people start). Submission bodies may reach 512 KiB as
/// JSON or a form, and 25 MiB of files as `multipart/form-data` (limits in `files.rs`, enforced
/// while the body is read); every other body keeps the standard 64 KiB limit.
pub fn configure(cfg: &mut web::ServiceConfig, state: web::Data<GradingState>, identity: web::Data<Identity>) {
    cfg.service(
        web::scope("/api/grading")
            .app_data(state.clone())
            .app_data(identity.clone())
            .configure(web_config::standard)
            .service(
                web_config::resource("/courses/{course_id}/assignments")
                    .route(web::get().to(api::list_assignments))
                    .route(web::post().to(api::create_assignment)),
            )
            .route("/courses/{course_id}/gradebook", web::get().to(api::gradebook))
            .route("/assignments/{id}", web::get().to(api::assignment))
            .route("/assignments/{id}/release", web::post().to(api::release))
            .service(
                large_bodies(web_config::resource("/assignments/{id}/submissions"))
                    .route(web::post().guard(guard::fn_guard(api::is_multipart)).to(api::submit_multipart))
                    .route(web::get().to(api::submissions))
                    .route(web::post().to(api::submit)),
            )
            .service(web_config::resource("/assignments/{id}/submissions.zip").route(web::get().to(api::download_all)))
            .service(web_config::resource("/assignments/{id}/extensions").route(web::get().to(api::list_extensions)))
            .service(
                web_config::resource("/assignments/{id}/extensions/{student_id}")
                    .route(web::put().to(api::put_extension))
                    .route(web::delete().to(api::delete_extension)),
            )
            .service(web_config::resource("/submissions/{id}/files/{file_id}").route(web::get().to(api::download_file)))
            .route("/submissions/{id}", web::get().to(api::submission))
            .route("/submissions/{id}/grade", web::put().to(api::put_grade))
            .route("/submissions/{id}/grades", web::get().to(api::grade_history))
            .route("/me/grades", web::get().to(api::my_grades))
            .default_service(web::to(web_config::not_found)),
    )
    // Where people start: the home by role (the gateway routes `/home` here).
    .service(
        web::scope("/home")
            .app_data(state.clone())
            .app_data(identity.clone())
            .configure(web_config::standard)
            .route("", web::get().to(pages::home))
            .default_service(web::to(web_config::not_found)),
    )
    .service(
        web::scope("/grading")
            .app_data(state)
            .app_data(identity)
            .configure(web_config::standard)
            .route("/courses/{course_id}", web::get().to(pages::course_assignments))
            .route("/courses/{course_id}/assignments", web::post().to(pages::create_assignment))
            .route("/courses/{course_id}/gradebook", web::get().to(pages::gradebook))
            .route("/assignments/{id}", web::get().to(pages::assignment))
            .route("/assignments/{id}/release", web::post().to(pages::release))
            .service(
                large_bodies(web_config::resource("/assignments/{id}/submissions"))
                    .route(web::post().guard(guard::fn_guard(api::is_multipart)).to(pages::submit_multipart))
                    .route(web::get().to(pages::submissions))
                    .route(web::post().to(pages::submit)),
            )
            .route("/assignments/{id}/submissions.zip", web::get().to(pages::download_all))
            .route("/assignments/{id}/extensions", web::post().to(pages::set_extension))
            .route("/assignments/{id}/extensions/{student_id}/remove", web::post().to(pages::remove_extension))
            .route("/submissions/{id}/files/{file_id}", web::get().to(pages::download_file))
            .route("/submissions/{id}", web::get().to(pages::submission))
            .route("/submissions/{id}/grade", web::post().to(pages::grade))
            .route("/me/grades", web::get().to(pages::my_grades))
            .default_service(web::to(web_config::not_found)),
    );
}
