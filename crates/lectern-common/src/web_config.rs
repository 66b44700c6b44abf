//! Extractor configuration shared by every service: body limits (64 KiB, 413 above), and
//! problem documents for every way a request can be malformed, so that no bad input ever
//! turns into a 500 or a bare text reply.

use crate::problem::Problem;
use actix_web::error::{InternalError, JsonPayloadError, PathError, QueryPayloadError, UrlencodedError};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

/// Default request-body limit (docs/api.md).
pub const BODY_LIMIT: usize = 64 * 1024;
/// Limit for material and submission bodies, whose texts are counted in characters.
pub const LARGE_BODY_LIMIT: usize = 512 * 1024;

/// Pages are everything but the JSON API and the well-known JSON documents.
fn is_page(req: &HttpRequest) -> bool {
    let path = req.path();
    !(path.starts_with("/api/") || path.starts_with("/.well-known/"))
}

/// Answers with a problem document on `/api`, an error page elsewhere.
pub fn respond(req: &HttpRequest, problem: Problem) -> HttpResponse {
    if is_page(req) { problem.to_html_response() } else { problem.to_response() }
}

fn reject(
    err: impl std::fmt::Debug + std::fmt::Display + 'static,
    req: &HttpRequest,
    problem: Problem,
) -> actix_web::Error {
    InternalError::from_response(err, respond(req, problem)).into()
}

pub fn json_problem(err: &JsonPayloadError) -> Problem {
    match err {
        JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
            Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "the request body is too large")
        }
        JsonPayloadError::ContentType => {
            Problem::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "expected Content-Type: application/json")
        }
        JsonPayloadError::Deserialize(e) if e.is_data() => {
            Problem::new(StatusCode::UNPROCESSABLE_ENTITY, format!("invalid request body: {e}"))
        }
        JsonPayloadError::Deserialize(e) => Problem::new(StatusCode::BAD_REQUEST, format!("malformed JSON: {e}")),
        _ => Problem::new(StatusCode::BAD_REQUEST, "the request body could not be read"),
    }
}

pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default().limit(limit).error_handler(|err, req| {
        let problem = json_problem(&err);
        reject(err, req, problem)
    })
}

pub fn form_config(limit: usize) -> web::FormConfig {
    web::FormConfig::default().limit(limit).error_handler(|err, req| {
        let problem = match &err {
            UrlencodedError::Overflow { .. } => Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "the form is too large"),
            UrlencodedError::ContentType => Problem::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "expected a form"),
            e => Problem::new(StatusCode::UNPROCESSABLE_ENTITY, format!("the form could not be read: {e}")),
        };
        reject(err, req, problem)
    })
}

pub fn payload_config(limit: usize) -> web::PayloadConfig {
    web::PayloadConfig::new(limit)
}

/// A malformed id in a path is simply something that does not exist: 404.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err: PathError, req| reject(err, req, Problem::not_found()))
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err: QueryPayloadError, req| {
        let problem = Problem::new(StatusCode::UNPROCESSABLE_ENTITY, format!("invalid query: {err}"));
        reject(err, req, problem)
    })
}

/// The extractor configuration of one service scope (64 KiB bodies).
pub fn standard(cfg: &mut web::ServiceConfig) {
    cfg.app_data(json_config(BODY_LIMIT))
        .app_data(form_config(BODY_LIMIT))
        .app_data(payload_config(BODY_LIMIT))
        .app_data(path_config())
        .app_data(query_config());
}

/// A resource whose unanswered methods get the same 405 problem (with `Allow`) as every other path,
/// instead of actix's bare 405.
pub fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(not_found))
}

/// Raises one resource's body limits to 512 KiB (material and submission endpoints).
pub fn large_bodies<T>(resource: actix_web::Resource<T>) -> actix_web::Resource<T>
where
    T: actix_web::dev::ServiceFactory<
            actix_web::dev::ServiceRequest,
            Config = (),
            Error = actix_web::Error,
            InitError = (),
        >,
{
    resource
        .app_data(json_config(LARGE_BODY_LIMIT))
        .app_data(form_config(LARGE_BODY_LIMIT))
        .app_data(payload_config(LARGE_BODY_LIMIT))
}

/// For requests no route took: 405 with `Allow` when the path exists for other methods (as the
/// process's OpenAPI document says), 404 otherwise.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    let allowed = req.app_data::<web::Data<crate::openapi::AllowedMethods>>();
    if let (Some(pattern), Some(allowed)) = (req.match_pattern(), allowed)
        && let Some(allow) = allowed.allow(&pattern)
    {
        let mut resp = respond(
            &req,
            Problem::new(StatusCode::METHOD_NOT_ALLOWED, format!("{} is not answered here; use {allow}", req.method())),
        );
        if let Ok(value) = actix_web::http::header::HeaderValue::from_str(allow) {
            resp.headers_mut().insert(actix_web::http::header::ALLOW, value);
        }
        return resp;
    }
    respond(&req, Problem::not_found())
}
