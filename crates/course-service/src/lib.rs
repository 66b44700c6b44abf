//! course-service: the catalog, enrollments and materials, as pages and a JSON API.
//!
//! - `access.rs`: how a caller stands to a course, as capabilities (`TeacherOf`, `StaffOf`,
//!   `MemberOf`, `EnrolledIn`) only its one scoped query makes; grading-service uses them too;
//! - `service/`: what each request does, in one database hand-off, by aggregate (catalog,
//!   enrollments, materials); `api.rs` and `pages.rs` are thin shells over it;
//! - `audit.rs`: the append-only trail every change writes in its own transaction;
//! - `domain.rs`: parsed input; `views.rs`: replies and request bodies; `markdown.rs`: rendering
//!   and sanitising material bodies; `store.rs`: the queries.

pub mod access;
pub mod audit;
pub mod catalog_cache;
pub mod domain;
pub mod error;
pub mod markdown;
pub mod seed;
pub mod service;
pub mod store;
pub mod views;

pub use access::{Course, EnrolledIn, InCourse, MemberOf, StaffOf, StaffRole, Standing, TeacherOf, ToolIn};
pub use error::CourseError;

pub mod api;
pub mod pages;

use actix_web::web;
use lectern_common::Identity;
use lectern_common::web_config::{self, large_bodies};
pub use service::CourseState;

/// The OpenAPI document of course-service's JSON API (`/api/courses`, `/api/materials`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = <api::ApiDoc as utoipa::OpenApi>::openapi();
    doc.merge(<api::ToolLinksDoc as utoipa::OpenApi>::openapi());
    doc
}

/// Mounts `/api/courses`, `/api/materials` and the `/courses` pages. Material bodies may be
/// 512 KiB (their limit is 50,000 characters); everything else 64 KiB.
pub fn configure(cfg: &mut web::ServiceConfig, state: web::Data<CourseState>, identity: web::Data<Identity>) {
    cfg.service(
        web::scope("/api/courses")
            .app_data(state.clone())
            .app_data(identity.clone())
            .configure(web_config::standard)
            .route("", web::get().to(api::catalog))
            .route("", web::post().to(api::create))
            .route("/{id}", web::get().to(api::get))
            .route("/{id}", web::patch().to(api::patch))
            .route("/{id}/enrollments", web::post().to(api::enroll))
            .route("/{id}/enrollments", web::get().to(api::students))
            .route("/{id}/enrollments/{student_id}", web::delete().to(api::unenroll))
            .service(
                web_config::resource("/{id}/staff")
                    .route(web::get().to(api::staff))
                    .route(web::post().to(api::add_staff)),
            )
            .service(web_config::resource("/{id}/staff/{user_id}").route(web::delete().to(api::remove_staff)))
            .service(web_config::resource("/{id}/audit").route(web::get().to(api::audit)))
            .route("/{id}/materials", web::get().to(api::materials))
            .route("/{id}/tool-links", web::get().to(api::tool_links))
            .route("/{id}/tool-links", web::post().to(api::create_tool_link))
            .route("/{id}/tool-links/{link_id}", web::delete().to(api::delete_tool_link))
            .service(large_bodies(web_config::resource("/{id}/materials")).route(web::post().to(api::create_material))),
    )
    .service(
        web::scope("/api/materials")
            .app_data(state.clone())
            .app_data(identity.clone())
            .configure(web_config::standard)
            .service(
                large_bodies(web_config::resource("/{id}"))
                    .route(web::get().to(api::material))
                    .route(web::patch().to(api::patch_material))
                    .route(web::delete().to(api::delete_material)),
            ),
    )
    .service(pages::scope(state, identity));
}
