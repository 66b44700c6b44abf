//! Tracing set-up: one subscriber per process, text or JSON, filtered by `LECTERN_LOG`.
//! Never log tokens, passwords, cookies, e-mail addresses or bodies.

use crate::config::LogFormat;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber; a second call (tests) is a no-op.
pub fn init(filter: &str, format: LogFormat) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _already_set = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// The root span of every request, for `TracingLogger<RequestSpan>`. It records the route
/// *template* (`/api/courses/{id}`), never the path and query the client sent (a refused
/// `?access_token=` would otherwise reach the logs), and the client address that the
/// trusted-proxy rule believes (`LECTERN_TRUSTED_PROXIES`), never an `X-Forwarded-For` from
/// anyone.
pub struct RequestSpan;

impl tracing_actix_web::RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &actix_web::dev::ServiceRequest) -> tracing::Span {
        use actix_web::HttpMessage;
        // The field values are computed inside the macro, which evaluates them only when the span
        // is enabled: with request spans filtered out (`LECTERN_LOG=warn`) nothing is formatted or
        // allocated per request.
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = %request.match_pattern().unwrap_or_else(|| "unmatched".to_owned()),
            client.address = %crate::net::client_address_of(request.request()),
            request_id = %request.extensions().get::<tracing_actix_web::RequestId>().map(ToString::to_string).unwrap_or_default(),
            http.status_code = tracing::field::Empty,
        )
    }

    /// Records the status only. An error's text is not recorded: a 4xx's may quote the request
    /// body, and a 5xx's cause is logged once where the problem document is made (`problem.rs`).
    fn on_request_end<B: actix_web::body::MessageBody>(
        span: tracing::Span,
        outcome: &Result<actix_web::dev::ServiceResponse<B>, actix_web::Error>,
    ) {
        let status = match outcome {
            Ok(response) => response.status(),
            Err(error) => error.as_response_error().status_code(),
        };
        span.record("http.status_code", status.as_u16());
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::RequestSpan;
    use crate::net::TrustedProxies;
    use actix_web::{App, HttpResponse, test, web};
    use std::sync::{Arc, Mutex};
    use tracing_actix_web::TracingLogger;
    use tracing_subscriber::fmt::format::FmtSpan;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[actix_web::test]
    async fn the_request_span_has_the_route_template_and_the_believed_client_address() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_span_events(FmtSpan::CLOSE)
            .with_ansi(false)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let app = test::init_service(
            App::new()
                .wrap(TracingLogger::<RequestSpan>::new())
                .app_data(web::Data::new(TrustedProxies(vec![[10, 0, 0, 1].into()])))
                .route("/items/{id}", web::get().to(|| async { HttpResponse::Unauthorized().finish() }))
                .route(
                    "/things",
                    web::post().to(|body: web::Json<std::collections::HashMap<String, u32>>| async move {
                        HttpResponse::Ok().body(body.len().to_string())
                    }),
                ),
        )
        .await;
        let forged = test::TestRequest::get()
            .uri("/items/42?access_token=eyJ.SECRET-TOKEN.x")
            .peer_addr("192.0.2.7:5000".parse().unwrap())
            .insert_header(("x-forwarded-for", "6.6.6.6"))
            .to_request();
        assert_eq!(test::call_service(&app, forged).await.status(), 401);
        let via_proxy = test::TestRequest::get()
            .uri("/items/43")
            .peer_addr("10.0.0.1:5000".parse().unwrap())
            .insert_header(("x-forwarded-for", "198.51.100.9"))
            .to_request();
        test::call_service(&app, via_proxy).await;
        // A refused body whose value would appear in the error's text.
        let refused = test::TestRequest::post()
            .uri("/things")
            .peer_addr("192.0.2.8:5000".parse().unwrap())
            .insert_header(("content-type", "application/json"))
            .set_payload(r#"{"n": "SECRET-BODY-VALUE"}"#)
            .to_request();
        assert_eq!(test::call_service(&app, refused).await.status(), 400);
        let logged = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(!logged.contains("SECRET-BODY-VALUE"), "a 4xx error's text is not logged: {logged}");
        assert!(!logged.contains("ERROR") && !logged.contains("WARN"), "no 4xx is an error event: {logged}");
        assert!(logged.contains("http.route=/items/{id}"), "{logged}");
        assert!(!logged.contains("SECRET-TOKEN") && !logged.contains("access_token"), "{logged}");
        assert!(logged.contains("client.address=192.0.2.7"), "an untrusted peer's header is ignored: {logged}");
        assert!(!logged.contains("6.6.6.6"), "{logged}");
        assert!(logged.contains("client.address=198.51.100.9"), "the trusted gateway's header is believed: {logged}");
    }
}
