//! The middleware every service mounts, as one: a request id echoed in `x-request-id`, and the
//! security headers of docs/security.md on every response (plus `Strict-Transport-Security`
//! when the public URL is https).
//!
//! One hand-written middleware instead of three (two `from_fn` closures and a conditional
//! `DefaultHeaders`): every request crosses it, so it boxes no future, allocates nothing but the
//! request id's header value, and inserts headers that are constants built at compile time.

use actix_web::HttpMessage;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use tracing_actix_web::RequestId;

pub const REQUEST_ID_HEADER: &str = "x-request-id";
const REQUEST_ID: HeaderName = HeaderName::from_static(REQUEST_ID_HEADER);

/// No inline script anywhere; styles and images only from us; never framed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The security headers, added to a response unless its handler set its own.
const SECURITY_HEADERS: [(HeaderName, HeaderValue); 5] = [
    (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY)),
    (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
    (header::REFERRER_POLICY, HeaderValue::from_static("same-origin")),
    (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
    (
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static("camera=(), microphone=(), geolocation=()"),
    ),
];

/// `Strict-Transport-Security` when the public URL is https: browsers then use https for a
/// year even when someone types or links `http://`.
const HSTS: HeaderValue = HeaderValue::from_static("max-age=31536000; includeSubDomains");

/// The request id, the security headers and (with `hsts`) HSTS. Mount it inside
/// `TracingLogger`, which gives each request its id.
#[derive(Clone, Copy, Debug)]
pub struct StandardHeaders {
    pub hsts: bool,
}

impl<S, B> Transform<S, ServiceRequest> for StandardHeaders
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = StandardHeadersService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(StandardHeadersService { service: Rc::new(service), hsts: self.hsts }))
    }
}

pub struct StandardHeadersService<S> {
    service: Rc<S>,
    hsts: bool,
}

impl<S, B> Service<ServiceRequest> for StandardHeadersService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = WithHeaders<S::Future>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let id = req.extensions().get::<RequestId>().map(|id| **id);
        WithHeaders { inner: self.service.call(req), id, hsts: self.hsts }
    }
}

pin_project_lite::pin_project! {
    /// The inner service's future; the headers go on its response.
    pub struct WithHeaders<F> {
        #[pin]
        inner: F,
        id: Option<uuid::Uuid>,
        hsts: bool,
    }
}

impl<F, B> Future for WithHeaders<F>
where
    F: Future<Output = Result<ServiceResponse<B>, actix_web::Error>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut res = match this.inner.poll(cx) {
            Poll::Ready(Ok(res)) => res,
            other => return other,
        };
        add_headers(res.headers_mut(), *this.id, *this.hsts);
        Poll::Ready(Ok(res))
    }
}

/// What [`StandardHeaders`] adds to one response.
fn add_headers(headers: &mut header::HeaderMap, id: Option<uuid::Uuid>, hsts: bool) {
    if let Some(id) = id {
        let mut buf = uuid::Uuid::encode_buffer();
        if let Ok(value) = HeaderValue::from_str(id.hyphenated().encode_lower(&mut buf)) {
            headers.insert(REQUEST_ID, value);
        }
    }
    for (name, value) in SECURITY_HEADERS {
        if !headers.contains_key(&name) {
            headers.insert(name, value);
        }
    }
    if hsts && !headers.contains_key(header::STRICT_TRANSPORT_SECURITY) {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HSTS);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use actix_web::{App, HttpResponse, test, web};
    use tracing_actix_web::TracingLogger;

    async fn headers_of(hsts: bool, handler_sets_csp: bool) -> header::HeaderMap {
        let app = test::init_service(App::new().wrap(StandardHeaders { hsts }).wrap(TracingLogger::default()).route(
            "/",
            web::get().to(move || async move {
                let mut resp = HttpResponse::Ok();
                if handler_sets_csp {
                    resp.insert_header((header::CONTENT_SECURITY_POLICY, "sandbox"));
                }
                resp.finish()
            }),
        ))
        .await;
        test::call_service(&app, test::TestRequest::get().uri("/").to_request()).await.headers().clone()
    }

    #[actix_web::test]
    async fn every_response_carries_the_security_headers_and_its_request_id() {
        let headers = headers_of(false, false).await;
        for (name, value) in SECURITY_HEADERS {
            assert_eq!(headers.get(&name), Some(&value), "{name}");
        }
        let id = headers.get(REQUEST_ID_HEADER).unwrap().to_str().unwrap();
        assert!(uuid::Uuid::try_parse(id).is_ok(), "{id}");
        assert!(headers.get(header::STRICT_TRANSPORT_SECURITY).is_none(), "no HSTS on http");
        let again = headers_of(false, false).await;
        assert_ne!(again.get(REQUEST_ID_HEADER).unwrap(), id, "one id per request");
    }

    #[actix_web::test]
    async fn a_handlers_own_header_wins_and_https_adds_hsts() {
        let headers = headers_of(true, true).await;
        assert_eq!(headers.get(header::CONTENT_SECURITY_POLICY).unwrap(), "sandbox");
        assert_eq!(headers.get(header::X_FRAME_OPTIONS).unwrap(), "DENY");
        assert_eq!(headers.get(header::STRICT_TRANSPORT_SECURITY).unwrap(), "max-age=31536000; includeSubDomains");
    }
}
