//! The client's address, for throttling and logs. Behind the gateway the peer is nginx, so the
//! address comes from `X-Forwarded-For` — but only when the peer is a proxy we trust
//! (`LECTERN_TRUSTED_PROXIES`); otherwise anyone could pick their own address and dodge the
//! per-address throttle.

use actix_web::HttpRequest;
use std::net::IpAddr;

/// `LECTERN_TRUSTED_PROXIES`, registered as app data for handlers that need the client address.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(pub Vec<IpAddr>);

/// The client address of a request, using the registered trusted proxies (none: the peer).
pub fn client_address_of(req: &HttpRequest) -> String {
    let trusted = req.app_data::<actix_web::web::Data<TrustedProxies>>().map(|t| t.0.clone()).unwrap_or_default();
    client_address(req, &trusted)
}

/// The nearest address in the forwarding chain that is not one of our proxies.
pub fn client_address(req: &HttpRequest, trusted: &[IpAddr]) -> String {
    let Some(peer) = req.peer_addr().map(|a| a.ip()) else { return String::new() };
    if !trusted.contains(&peer) {
        return peer.to_string();
    }
    let forwarded: Vec<IpAddr> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse().ok())
        .collect();
    forwarded.iter().rev().find(|a| !trusted.contains(a)).copied().unwrap_or(peer).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn req(peer: &str, xff: Option<&str>) -> HttpRequest {
        let mut r =
            TestRequest::get().peer_addr(format!("{peer}:4000").parse().unwrap_or_else(|_| ([0, 0, 0, 0], 0).into()));
        if let Some(v) = xff {
            r = r.insert_header(("x-forwarded-for", v));
        }
        r.to_http_request()
    }

    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies() {
        let nginx: IpAddr = [127, 0, 0, 1].into();
        assert_eq!(
            client_address(&req("10.1.1.1", Some("1.2.3.4")), &[nginx]),
            "10.1.1.1",
            "untrusted peer: header ignored"
        );
        assert_eq!(client_address(&req("127.0.0.1", Some("1.2.3.4")), &[nginx]), "1.2.3.4");
        assert_eq!(
            client_address(&req("127.0.0.1", Some("6.6.6.6, 1.2.3.4")), &[nginx]),
            "1.2.3.4",
            "the client cannot prepend"
        );
        assert_eq!(client_address(&req("127.0.0.1", None), &[nginx]), "127.0.0.1");
        assert_eq!(client_address(&req("127.0.0.1", Some("1.2.3.4")), &[]), "127.0.0.1", "no trusted proxies");
    }
}
