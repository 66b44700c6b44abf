//! Middleware every service mounts: a request id echoed in `x-request-id`, and the security
//! headers of docs/security.md on every response.

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use tracing_actix_web::RequestId;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Echoes the id `TracingLogger` gave the request (and put in its root span), so a user or the
/// gateway can quote it. Must be mounted inside `TracingLogger`.
pub async fn request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = req.extensions().get::<RequestId>().map(ToString::to_string);
    let mut res = next.call(req).await?;
    if let Some(value) = id.and_then(|id| HeaderValue::from_str(&id).ok()) {
        res.headers_mut().insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
    }
    Ok(res)
}

/// No inline script anywhere; styles and images only from us; never framed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Adds the security headers unless a handler set its own.
pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mut res = next.call(req).await?;
    let headers = res.headers_mut();
    let defaults: [(HeaderName, &'static str); 5] = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (HeaderName::from_static("permissions-policy"), "camera=(), microphone=(), geolocation=()"),
    ];
    for (name, value) in defaults {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    Ok(res)
}

/// `Strict-Transport-Security` on every response when the public URL is https: browsers then use
/// https for a year even when someone types or links `http://`.
pub fn hsts(public_url_is_https: bool) -> actix_web::middleware::Condition<actix_web::middleware::DefaultHeaders> {
    actix_web::middleware::Condition::new(
        public_url_is_https,
        actix_web::middleware::DefaultHeaders::new()
            .add((header::STRICT_TRANSPORT_SECURITY, "max-age=31536000; includeSubDomains")),
    )
}
