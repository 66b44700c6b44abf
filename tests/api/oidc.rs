//! Sign in with Lectern (docs/oidc.md): auth-core as an OpenID Connect provider, black-box over
//! HTTP, each rule of docs/security.md's "OpenID Connect" with a case that must be refused. What
//! the OpenID Foundation's basic provider tests check: codes single use (a reuse revokes what the
//! code issued), short-lived, bound to client, redirect URI and PKCE verifier; `state` passed
//! through; `nonce` echoed; errors per the spec and never sent to an unregistered redirect URI;
//! `prompt=none` and `max_age`; `Cache-Control: no-store` on token replies; authorize and
//! userinfo by GET and POST. Then the signing algorithms against the JWKS, ID tokens refused as
//! access tokens by every service, Lectern access tokens refused where only OpenID Connect tokens
//! belong, consent remembered and revoked, and the command line.
//!
//! A relying party nobody here wrote (openid-client, in Chromium) runs in `oidc_browser.rs`.

use crate::helpers::{
    Backend, Browser, STUDENT_PASSWORD, TestApp, csrf_token, location, serde_urlencoded_body, spawn_app,
};
use crate::on_both_backends;
use auth_core::keys::IdTokenAlg;
use auth_core::oidc::clients::{self, NewClient};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lectern_common::DbError;
use serde_json::Value;
use sha2::Digest;
use std::collections::HashMap;
use token_claims::Clock;

on_both_backends!(
    discovery_lists_every_endpoint_and_what_is_supported,
    the_code_flow_gives_an_rs256_id_token_that_verifies_against_the_jwks,
    a_client_registered_for_eddsa_gets_eddsa_id_tokens,
    a_code_is_single_use_and_its_reuse_revokes_what_it_issued,
    a_code_redeemed_by_fifty_requests_at_once_issues_once,
    a_code_expires_after_sixty_seconds,
    a_code_is_bound_to_its_client_redirect_uri_and_verifier,
    state_is_passed_through_and_nonce_echoed,
    authorization_errors_are_redirected_with_their_spec_names,
    errors_never_go_to_an_unregistered_redirect_uri,
    prompt_none_answers_at_once_or_says_why_not,
    max_age_and_prompt_login_make_the_person_sign_in_again,
    token_replies_are_never_cached,
    clients_authenticate_one_way_each,
    authorize_accepts_get_and_post,
    userinfo_accepts_get_and_post_and_only_its_own_tokens,
    an_id_token_is_refused_as_an_access_token_by_every_service,
    a_lectern_access_token_is_refused_at_the_token_endpoint,
    consent_is_remembered_per_application_and_scopes_and_revocable,
    signing_out_ends_what_the_session_gave_applications,
    an_expired_session_cookie_is_refreshed_on_the_way,
    forms_that_end_at_the_application_allow_it_in_form_action,
    id_token_keys_rotate_like_the_others,
    the_command_line_registers_lists_and_removes_clients,
    malformed_requests_get_clear_refusals,
);

const REDIRECT: &str = "https://forum.example/oidc/callback";
/// A second registered redirect URI of the same client.
const OTHER_REDIRECT: &str = "https://forum.example/oidc/other";
const AUTHORIZE: &str = "/auth/oauth/authorize";
const TOKEN: &str = "/api/auth/oauth/token";
const USERINFO: &str = "/api/auth/oauth/userinfo";
const GRACE: &str = "grace@example.org";

#[derive(Clone, Debug)]
struct Client {
    id: String,
    secret: Option<String>,
}

async fn register(app: &TestApp, name: &str, alg: IdTokenAlg, public: bool) -> Client {
    let new = NewClient {
        name: name.to_owned(),
        redirect_uris: vec![REDIRECT.to_owned(), OTHER_REDIRECT.to_owned()],
        public,
        id_token_alg: alg,
    };
    let now = app.clock.now();
    let done =
        app.db.run(move |c| clients::register(c, &new, now).map_err(|e| DbError::Task(e.to_string()))).await.unwrap();
    Client { id: done.client_id.to_string(), secret: done.client_secret }
}

async fn forum(app: &TestApp) -> Client {
    register(app, "School Forum", IdTokenAlg::Rs256, false).await
}

struct Pkce {
    verifier: String,
    challenge: String,
}

fn pkce() -> Pkce {
    let verifier = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let challenge = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    Pkce { verifier, challenge }
}

/// Changes to a good authorization request (see [`authorize_params`]).
type Changes<'a> = &'a [(&'a str, &'a str)];

/// The authorization request's parameters: a good request, changed by `changes` (`("-name", "")`
/// removes a parameter, anything else sets it).
fn authorize_params(client: &Client, pkce: &Pkce, changes: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = [
        ("response_type", "code"),
        ("client_id", client.id.as_str()),
        ("redirect_uri", REDIRECT),
        ("scope", "openid profile email"),
        ("state", "st-1"),
        ("nonce", "n-1"),
        ("code_challenge", pkce.challenge.as_str()),
        ("code_challenge_method", "S256"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    for (k, v) in changes {
        if let Some(name) = k.strip_prefix('-') {
            pairs.retain(|(n, _)| n != name);
        } else if let Some(slot) = pairs.iter_mut().find(|(n, _)| n == k) {
            slot.1 = (*v).to_owned();
        } else {
            pairs.push(((*k).to_owned(), (*v).to_owned()));
        }
    }
    pairs
}

fn authorize_path(client: &Client, pkce: &Pkce, changes: &[(&str, &str)]) -> String {
    let pairs = authorize_params(client, pkce, changes);
    let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    format!("{AUTHORIZE}?{}", serde_urlencoded_body(&borrowed))
}

/// The query of a redirect to the application.
fn query_of(url: &str) -> HashMap<String, String> {
    url::Url::parse(url).unwrap().query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// Undoes the HTML escaping of an attribute value (named and numeric character references).
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let end = tail.find(';').expect("a character reference ends with ;");
        let entity = &tail[1..end];
        let c = match entity {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = match entity.strip_prefix("#x").or_else(|| entity.strip_prefix("#X")) {
                    Some(hex) => u32::from_str_radix(hex, 16).unwrap(),
                    None => entity.strip_prefix('#').unwrap().parse().unwrap(),
                };
                char::from_u32(code).unwrap()
            }
        };
        out.push(c);
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    out
}

/// The hidden fields of the consent form.
fn consent_fields(html: &str) -> Vec<(String, String)> {
    let form = html.split("action=\"/auth/oauth/consent\"").nth(1).expect("a consent form");
    let form = form.split("</form>").next().unwrap();
    form.split("<input type=\"hidden\" name=\"")
        .skip(1)
        .map(|rest| {
            let name = rest.split('"').next().unwrap();
            let value = rest.split("value=\"").nth(1).unwrap().split('"').next().unwrap();
            (unescape(name), unescape(value))
        })
        .collect()
}

/// Answers the consent page `html` with `decision`; the reply (a redirect).
async fn answer(b: &mut Browser<'_>, html: &str, decision: &str) -> reqwest::Response {
    let mut fields = consent_fields(html);
    fields.push(("decision".into(), decision.into()));
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    b.post_form("/auth/oauth/consent", &borrowed).await
}

/// Runs an authorization request in a signed-in browser, approving the consent page if one comes;
/// the redirect to the application.
async fn authorize(b: &mut Browser<'_>, path: &str) -> String {
    let resp = b.get(path).await;
    let resp = match resp.status().as_u16() {
        200 => {
            let html = resp.text().await.unwrap();
            answer(b, &html, "approve").await
        }
        _ => resp,
    };
    assert_eq!(resp.status(), 303, "{path}");
    let to = location(&resp);
    assert!(to.starts_with(REDIRECT) || to.starts_with(OTHER_REDIRECT), "{to}");
    to
}

/// A signed-in browser of a student, Grace.
async fn grace(app: &TestApp) -> Browser<'_> {
    app.student("Grace").await;
    let mut b = Browser::new(app);
    b.sign_in(GRACE, STUDENT_PASSWORD).await;
    b
}

/// A code for `client`, approved by Grace.
async fn approved_code(b: &mut Browser<'_>, client: &Client, pkce: &Pkce, changes: &[(&str, &str)]) -> String {
    let to = authorize(b, &authorize_path(client, pkce, changes)).await;
    let q = query_of(&to);
    q.get("code").unwrap_or_else(|| panic!("no code in {to}")).clone()
}

async fn exchange_with(
    app: &TestApp,
    client: &Client,
    code: &str,
    verifier: &str,
    redirect_uri: &str,
) -> reqwest::Response {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("code_verifier", verifier),
    ];
    let mut req = app.api.post(app.url(TOKEN)).header("content-type", "application/x-www-form-urlencoded");
    match &client.secret {
        Some(secret) => req = req.basic_auth(&client.id, Some(secret)),
        None => form.push(("client_id", &client.id)),
    }
    req.body(serde_urlencoded_body(&form)).send().await.unwrap()
}

async fn exchange(app: &TestApp, client: &Client, code: &str, verifier: &str) -> reqwest::Response {
    exchange_with(app, client, code, verifier, REDIRECT).await
}

/// The token reply of a good exchange.
async fn tokens(app: &TestApp, client: &Client, code: &str, verifier: &str) -> Value {
    let resp = exchange(app, client, code, verifier).await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

async fn oauth_error(resp: reqwest::Response) -> (u16, String) {
    let status = resp.status().as_u16();
    assert_eq!(resp.headers()["content-type"], "application/json");
    let body: Value = resp.json().await.unwrap();
    assert!(body["error_description"].is_string(), "{body}");
    (status, body["error"].as_str().unwrap().to_owned())
}

fn segment(token: &str, i: usize) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').nth(i).unwrap()).unwrap()).unwrap()
}

/// Verifies an ID token as an application would: the key named by `kid` from the JWKS, with that
/// key's own algorithm; `iss`, `aud`; `exp` and `iat` against the app's clock.
async fn verify_id_token(app: &TestApp, client: &Client, id_token: &str) -> Value {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    let header = segment(id_token, 0);
    assert_eq!(header["typ"], "JWT");
    let kid = header["kid"].as_str().unwrap();
    let jwks: Value = app.get("/.well-known/jwks.json", None).await.json().await.unwrap();
    let jwk = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == kid).expect("the kid is published").clone();
    assert_eq!(jwk["alg"], header["alg"], "the key's own algorithm");
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwk).unwrap();
    let alg = match header["alg"].as_str() {
        Some("RS256") => Algorithm::RS256,
        Some("EdDSA") => Algorithm::EdDSA,
        other => panic!("unexpected alg {other:?}"),
    };
    let mut validation = Validation::new(alg);
    validation.set_audience(&[&client.id]);
    validation.set_issuer(&[&app.address]);
    // The app's clock is not the system's: exp and iat are checked below against it.
    validation.validate_exp = false;
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    let claims = jsonwebtoken::decode::<Value>(id_token, &DecodingKey::from_jwk(&jwk).unwrap(), &validation)
        .expect("the ID token verifies against the JWKS")
        .claims;
    let now = app.clock.now().unix_timestamp();
    assert_eq!(claims["iat"], now);
    assert_eq!(claims["exp"].as_i64().unwrap() - now, 600, "ID tokens live 10 minutes");
    claims
}

fn role_claim(app: &TestApp) -> String {
    format!("{}/claims/role", app.address)
}

async fn userinfo(app: &TestApp, token: &str) -> reqwest::Response {
    app.api.get(app.url(USERINFO)).bearer_auth(token).send().await.unwrap()
}

// ---------------------------------------------------------------------------------------------

async fn discovery_lists_every_endpoint_and_what_is_supported(backend: Backend) {
    let app = spawn_app(backend).await;
    let resp = app.get("/.well-known/openid-configuration", None).await;
    assert_eq!(resp.status(), 200);
    let d: Value = resp.json().await.unwrap();
    let issuer = app.address.as_str();
    assert_eq!(d["issuer"], issuer, "the issuer is LECTERN_PUBLIC_URL");
    assert_ne!(d["issuer"], app.config.issuer.as_str(), "and not the access tokens' iss");
    assert_eq!(d["authorization_endpoint"], format!("{issuer}{AUTHORIZE}"));
    assert_eq!(d["token_endpoint"], format!("{issuer}{TOKEN}"));
    assert_eq!(d["userinfo_endpoint"], format!("{issuer}{USERINFO}"));
    assert_eq!(d["jwks_uri"], format!("{issuer}/.well-known/jwks.json"));
    let list = |k: &str| d[k].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect::<Vec<_>>();
    assert_eq!(list("scopes_supported"), ["openid", "profile", "email"]);
    assert_eq!(list("response_types_supported"), ["code"]);
    assert_eq!(list("grant_types_supported"), ["authorization_code"]);
    assert_eq!(list("subject_types_supported"), ["public"]);
    assert_eq!(list("id_token_signing_alg_values_supported"), ["RS256", "EdDSA"]);
    assert_eq!(list("token_endpoint_auth_methods_supported"), ["client_secret_basic", "client_secret_post", "none"]);
    assert_eq!(list("code_challenge_methods_supported"), ["S256"]);
    for claim in ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "name", "email", "email_verified"] {
        assert!(list("claims_supported").contains(&claim.to_owned()), "{claim}");
    }
    assert!(list("claims_supported").contains(&role_claim(&app)));
    assert_eq!(d["request_parameter_supported"], false);
    assert_eq!(d["request_uri_parameter_supported"], false);
    assert_eq!(d["authorization_response_iss_parameter_supported"], true);
    // Every endpoint it names answers.
    for key in ["jwks_uri", "token_endpoint", "userinfo_endpoint", "authorization_endpoint"] {
        let url = d[key].as_str().unwrap();
        let status = app.api.get(url).send().await.unwrap().status().as_u16();
        assert_ne!(status, 404, "{key} {url}");
    }
}

async fn the_code_flow_gives_an_rs256_id_token_that_verifies_against_the_jwks(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = forum(&app).await;
    let mut b = grace(&app).await;
    let signed_in_at = app.clock.now().unix_timestamp();
    app.advance(30);
    let p = pkce();
    // The consent page names the application and what it will learn.
    let resp = b.get(&authorize_path(&client, &p, &[])).await;
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    for text in ["School Forum", "forum.example", "<code>profile</code>", "Your name", "Your email address"] {
        assert!(html.contains(text), "the consent page shows {text:?}");
    }
    let resp = answer(&mut b, &html, "approve").await;
    assert_eq!(resp.status(), 303);
    let q = query_of(&location(&resp));
    assert_eq!(q["state"], "st-1");
    assert_eq!(q["iss"], app.address, "RFC 9207: the response names its issuer");
    let reply = tokens(&app, &client, &q["code"], &p.verifier).await;
    assert_eq!(reply["token_type"], "Bearer");
    assert_eq!(reply["expires_in"], 600);
    assert_eq!(reply["scope"], "openid profile email");
    assert!(reply.get("refresh_token").is_none(), "no refresh tokens for applications");
    let id_token = reply["id_token"].as_str().unwrap();
    assert_eq!(segment(id_token, 0)["alg"], "RS256", "RS256 by default");
    let claims = verify_id_token(&app, &client, id_token).await;
    let me: Value = app
        .get("/api/auth/me", Some(&app.sign_in(GRACE, STUDENT_PASSWORD).await.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(claims["sub"], me["id"]);
    assert_eq!(claims["aud"], client.id.as_str());
    assert_eq!(claims["auth_time"], signed_in_at, "when Grace signed in, not when the code was made");
    assert_eq!(claims["nonce"], "n-1");
    assert_eq!(claims["name"], "Grace");
    assert_eq!(claims["email"], GRACE);
    assert_eq!(claims["email_verified"], false, "Lectern does not verify addresses");
    assert_eq!(claims[role_claim(&app)], "student");
    // The access token reads the same claims at userinfo, and nothing else.
    let access = reply["access_token"].as_str().unwrap();
    assert_eq!(access.split('.').count(), 1, "opaque, not a JWT");
    let resp = userinfo(&app, access).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let info: Value = resp.json().await.unwrap();
    assert_eq!(info["sub"], me["id"]);
    assert_eq!(
        (&info["name"], &info["email"], &info["email_verified"]),
        (&"Grace".into(), &GRACE.into(), &false.into())
    );
    assert_eq!(info[role_claim(&app)], "student");
    // Scopes decide the claims: openid alone tells who, not name or email.
    let p = pkce();
    let code = approved_code(&mut b, &client, &p, &[("scope", "openid")]).await;
    let reply = tokens(&app, &client, &code, &p.verifier).await;
    let claims = verify_id_token(&app, &client, reply["id_token"].as_str().unwrap()).await;
    assert!(claims.get("name").is_none() && claims.get("email").is_none(), "{claims}");
    let info: Value = userinfo(&app, reply["access_token"].as_str().unwrap()).await.json().await.unwrap();
    assert!(info.get("name").is_none() && info.get("email").is_none(), "{info}");
    assert_eq!(info[role_claim(&app)], "student");
}

async fn a_client_registered_for_eddsa_gets_eddsa_id_tokens(backend: Backend) {
    let app = spawn_app(backend).await;
    let rs = forum(&app).await;
    let ed = register(&app, "Code Review", IdTokenAlg::EdDsa, false).await;
    let mut b = grace(&app).await;
    let access_kid = segment(&app.sign_in(GRACE, STUDENT_PASSWORD).await.access_token, 0)["kid"].clone();
    let mut kids = Vec::new();
    for (client, alg) in [(&ed, "EdDSA"), (&rs, "RS256")] {
        let p = pkce();
        let code = approved_code(&mut b, client, &p, &[]).await;
        let reply = tokens(&app, client, &code, &p.verifier).await;
        let id_token = reply["id_token"].as_str().unwrap();
        let header = segment(id_token, 0);
        assert_eq!(header["alg"], alg);
        assert_ne!(header["kid"], access_kid, "ID tokens have keys of their own, even in EdDSA");
        kids.push(header["kid"].clone());
        let claims = verify_id_token(&app, client, id_token).await;
        assert_eq!(claims["aud"], client.id.as_str());
        // The other client's audience does not verify it.
        let other = if client.id == ed.id { &rs } else { &ed };
        let mut validation = jsonwebtoken::Validation::new(if alg == "EdDSA" {
            jsonwebtoken::Algorithm::EdDSA
        } else {
            jsonwebtoken::Algorithm::RS256
        });
        validation.set_audience(&[&other.id]);
        validation.validate_exp = false;
        let jwks: Value = app.get("/.well-known/jwks.json", None).await.json().await.unwrap();
        let jwk = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == header["kid"]).unwrap().clone();
        let key = jsonwebtoken::DecodingKey::from_jwk(&serde_json::from_value(jwk).unwrap()).unwrap();
        assert!(jsonwebtoken::decode::<Value>(id_token, &key, &validation).is_err(), "aud is one client");
    }
    assert_ne!(kids[0], kids[1]);
}

async fn a_code_is_single_use_and_its_reuse_revokes_what_it_issued(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = forum(&app).await;
    let mut b = grace(&app).await;
    let p = pkce();
    let code = approved_code(&mut b, &client, &p, &[]).await;
    let first = tokens(&app, &client, &code, &p.verifier).await;
    let access = first["access_token"].as_str().unwrap();
    assert_eq!(userinfo(&app, access).await.status(), 200);
    assert_eq!(oauth_error(exchange(&app, &client, &code, &p.verifier).await).await, (400, "invalid_grant".into()));
    let resp = userinfo(&app, access).await;
    assert_eq!(resp.status(), 401, "the token the code issued is revoked by its reuse");
    assert_eq!(resp.headers()["www-authenticate"], r#"Bearer realm="lectern", error="invalid_token""#);
    assert_eq!(oauth_error(exchange(&app, &client, &code, &p.verifier).await).await.1, "invalid_grant");
    // Another code of the same person is not touched.
    let p2 = pkce();
    let other = approved_code(&mut b, &client, &p2, &[]).await;
    let second = tokens(&app, &client, &other, &p2.verifier).await;
    assert_eq!(userinfo(&app, second["access_token"].as_str().unwrap()).await.status(), 200);
}

async fn a_code_redeemed_by_fifty_requests_at_once_issues_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = forum(&app).await;
    let mut b = grace(&app).await;
    let p = pkce();
    let code = approved_code(&mut b, &client, &p, &[]).await;
    let attempts = (0..50).map(|_| exchange(&app, &client, &code, &p.verifier));
    let replies = futures_util::future::join_all(attempts).await;
    let mut issued = Vec::new();
    let mut refused = 0;
    for resp in replies {
        match resp.status().as_u16() {
            200 => issued.push(resp.json::<Value>().await.unwrap()),
            400 => {
                assert_eq!(oauth_error(resp).await.1, "invalid_grant");
                refused += 1;
            }
            other => panic!("status {other}"),
        }
    }
    assert_eq!((issued.len(), refused), (1, 49), "exactly one exchange");
    let access = issued[0]["access_token"].as_str().unwrap();
    assert_eq!(userinfo(&app, access).await.status(), 401, "and the reuses revoked it");
}

async fn a_code_expires_after_sixty_seconds(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = forum(&app).await;
    let mut b = grace(&app).await;
    let p = pkce();
    let late = approved_code(&mut b, &client, &p, &[]).await;
    app.advance(60);
    assert_eq!(oauth_error(exchange(&app, &client, &late, &p.verifier).await).await, (400, "invalid_grant".into()));
    let p = pkce();
    let in_time = approved_code(&mut b, &client, &p, &[]).await;
    app.advance(59);
    assert_eq!(exchange(&app, &client, &in_time, &p.verifier).await.status(), 200, "59 s is in time");
}

async fn a_code_is_bound_to_its_client_redirect_uri_and_verifier(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = forum(&app).await;
    let intruder = register(&app, "Another App", IdTokenAlg::Rs256, false).await;
    let public = register(&app, "Phone App", IdTokenAlg::Rs256, true).await;
    let mut b = grace(&app).await;
    let p = pkce();
    let code = approved_code(&mut b, &client, &p, &[]).await;
    let refusals = [
        ("another client", exchange(&app, &intruder, &code, &p.verifier).await),
        ("a public client naming itself", exchange(&app, &public, &code, &p.verifier).await),
        ("another registered redirect URI", exchange_with(&app, &client, &code, &p.verifier, OTHER_REDIRECT).await),
        ("another verifier", exchange(&app, &client, &code, &pkce().verifier).await),
    ];
    for (what, resp) in refusals {
        assert_eq!(oauth_error(resp).await, (400, "invalid_grant".into()), "{what}");
    }
    let resp = exchange(&app, &client, &code, "short").await;
    assert_eq!(oauth_error(resp).await.1, "invalid_request", "a malformed verifier");
    // None of those spent it: the right client, URI and verifier still can.
    assert_eq!(exchange(&app, &client, &code, &p.verifier).await.status(), 200);
    // A code requested for the other redirect URI is redeemed with that one only.
    let p = pkce();
    let to = authorize(&mut b, &authorize_path(&client, &p, &[("redirect_uri", OTHER_REDIRECT)])).await;
    assert!(to.starts_with(OTHER_REDIRECT), "{to}");
    let other_code = query_of(&to)["code"].clone();
    assert_eq!(oauth_error(exchange(&app, &client, &other_code, &p.verifier).await).await.1, "invalid_grant");
    assert_eq!(exchange_with(&app, &client, &other_code, &p.verifier, OTHER_REDIRECT).await.status(), 200);
}

async fn state_is_passed_through_and_nonce_echoed(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = forum(&app).await;
    let mut b = grace(&app).await;
    let odd_state = "a b&c=d/é?#%";
    let p = pkce();
    let to = authorize(&mut b, &authorize_path(&client, &p, &[("state", odd_state), ("nonce", "n/+=é")])).await;
    let q = query_of(&to);
    assert_eq!(q["state"], odd_state, "state comes back exactly");
    let reply = tokens(&app, &client, &q["code"], &p.verifier).await;
    let claims = verify_id_token(&app, &client, reply["id_token"].as_str().unwrap()).await;
    assert_eq!(claims["nonce"], "n/+=é", "nonce is echoed exactly");
    // Without state or nonce there are none in the answer.
    let p = pkce();
    let to = authorize(&mut b, &authorize_path(&client, &p, &[("-state", ""), ("-nonce", "")])).await;
    let q = query_of(&to);
    assert!(!q.contains_key("state"), "{to}");
    let reply = tokens(&app, &client, &q["code"], &p.verifier).await;
    let claims = verify_id_token(&app, &client, reply["id_token"].as_str().unwrap()).await;
    assert!(claims.get("nonce").is_none(), "{claims}");
    // Errors carry the state too.
    let to =
        location(&app.get(&authorize_path(&client, &p, &[("-response_type", ""), ("state", odd_state)]), None).await);
    assert_eq!(query_of(&to)["state"], odd_state);
}

async fn authorization_errors_are_redirected_with_their_spec_names(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = forum(&app).await;
    let p = pkce();
    let cases: &[(&str, Changes<'_>, &str)] = &[
        ("no response_type", &[("-response_type", "")], "invalid_request"),
        ("response_type token", &[("response_type", "token")], "unsupported_response_type"),
        ("response_type id_token", &[("response_type", "id_token")], "unsupported_response_type"),
        ("a request object", &[("request", "eyJhbGciOiJub25lIn0.e30.")], "request_not_supported"),
        ("a request_uri", &[("request_uri", "https://forum.example/req.jwt")], "request_uri_not_supported"),
        ("no openid scope", &[("scope", "profile email")], "invalid_scope"),
        ("no scope", &[("-scope", "")], "invalid_scope"),
        ("no PKCE", &[("-code_challenge", ""), ("-code_challenge_method", "")], "invalid_request"),
        ("plain PKCE", &[("code_challenge_method", "plain")], "invalid_request"),
        ("PKCE method left out (plain)", &[("-code_challenge_method", "")], "invalid_request"),
        ("a challenge of the wrong shape", &[("code_challenge", "short")], "invalid_request"),
        ("a repeated parameter", &[], "invalid_request"),
        ("response_mode fragment", &[("response_mode", "fragment")], "invalid_request"),
        ("prompt none with login", &[("prompt", "none login")], "invalid_request"),
        ("a negative max_age", &[("max_age", "-5")], "invalid_request"),
    ];
    for (what, changes, error) in cases {
        let mut path = authorize_path(&client, &p, changes);
        if *what == "a repeated parameter" {
            path.push_str("&nonce=again");
        }
        let resp = app.get(&path, None).await;
        assert_eq!(resp.status(), 303, "{what}");
        let to = location(&resp);
        assert!(to.starts_with(&format!("{REDIRECT}?")), "{what}: {to}");
        let q = query_of(&to);
        assert_eq!(q["error"], *error, "{what}");
        assert!(!q["error_description"].is_empty(), "{what}");
        assert_eq!(q["state"], "st-1", "{what}");
        assert_eq!(q["iss"], app.address, "{what}");
        assert!(!q.contains_key("code"), "{what}");
    }
}

async fn errors_never_go_to_an_unregistered_redirect_uri(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = forum(&app).await;
    let p = pkce();
    let unknown = Client { id: uuid::Uuid::new_v4().to_string(), secret: None };
    let cases: Vec<(&str, String)> = vec![
        ("an unregistered redirect URI", authorize_path(&client, &p, &[("redirect_uri", "https://evil.example/cb")])),
        (
            "an unregistered redirect URI with another fault",
            authorize_path(&client, &p, &[("redirect_uri", "https://evil.example/cb"), ("-response_type", "")]),
        ),
        ("a trailing slash", authorize_path(&client, &p, &[("redirect_uri", "https://forum.example/oidc/callback/")])),
        ("another case", authorize_path(&client, &p, &[("redirect_uri", "HTTPS://FORUM.EXAMPLE/oidc/callback")])),
        ("an added query", authorize_path(&client, &p, &[("redirect_uri", "https://forum.example/oidc/callback?x=1")])),
        ("a registered prefix", authorize_path(&client, &p, &[("redirect_uri", "https://forum.example/oidc")])),
        ("no redirect URI", authorize_path(&client, &p, &[("-redirect_uri", "")])),
        ("an unknown client", authorize_path(&unknown, &p, &[])),
        ("a client id that is no id", authorize_path(&client, &p, &[("client_id", "forum")])),
        ("no client id", authorize_path(&client, &p, &[("-client_id", "")])),
        ("a repeated client id", format!("{}&client_id={}", authorize_path(&client, &p, &[]), client.id)),
        (
            "a repeated redirect URI",
            format!("{}&redirect_uri=https%3A%2F%2Fevil.example%2Fcb", authorize_path(&client, &p, &[])),
        ),
    ];
    let mut b = grace(&app).await;
    for (what, path) in cases {
        for resp in [app.get(&path, None).await, b.get(&path).await] {
            assert_eq!(resp.status(), 400, "{what}");
            assert!(resp.headers().get("location").is_none(), "{what}: never redirected");
            assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/html"), "{what}");
            let html = resp.text().await.unwrap();
            assert!(!html.contains("evil.example"), "{what}: the page links nowhere else");
        }
    }
}

async fn prompt_none_answers_at_once_or_says_why_not(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = forum(&app).await;
    let p = pkce();
    let silent = authorize_path(&client, &p, &[("prompt", "none")]);
    // Nobody signed in: no sign-in page, an answer.
    let resp = app.get(&silent, None).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(query_of(&location(&resp))["error"], "login_required");
    // Signed in, but the application was never allowed: no consent page.
    let mut b = grace(&app).await;
    let resp = b.get(&silent).await;
    assert_eq!(resp.status(), 303);
    let q = query_of(&location(&resp));
    assert_eq!((q["error"].as_str(), q["state"].as_str()), ("consent_required", "st-1"));
    // Once allowed: a code at once, without a page.
    approved_code(&mut b, &client, &pkce(), &[]).await;
    let resp = b.get(&silent).await;
    assert_eq!(resp.status(), 303);
    let q = query_of(&location(&resp));
    assert!(!q.contains_key("error"), "{q:?}");
    assert_eq!(exchange(&app, &client, &q["code"], &p.verifier).await.status(), 200);
    // prompt=consent asks again even so.
    let resp = b.get(&authorize_path(&client, &p, &[("prompt", "consent")])).await;
    assert_eq!(resp.status(), 200, "the consent page");
}

async fn max_age_and_prompt_login_make_the_person_sign_in_again(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = forum(&app).await;
    let mut b = grace(&app).await;
    let first_sign_in = app.clock.now().unix_timestamp();
    approved_code(&mut b, &client, &pkce(), &[]).await; // allowed once
    app.advance(120);
    // A recent enough sign-in is kept.
    let p = pkce();
    let c = approved_code(&mut b, &client, &p, &[("max_age", "600")]).await;
    let claims =
        verify_id_token(&app, &client, tokens(&app, &client, &c, &p.verifier).await["id_token"].as_str().unwrap())
            .await;
    assert_eq!(claims["auth_time"], first_sign_in);
    for (what, changes) in
        [("max_age exceeded", &[("max_age", "60")][..]), ("prompt=login", &[("prompt", "login")][..])]
    {
        let p = pkce();
        let resp = b.get(&authorize_path(&client, &p, changes)).await;
        assert_eq!(resp.status(), 303, "{what}");
        let to = location(&resp);
        let query = to.strip_prefix("/auth/sign-in?").unwrap_or_else(|| panic!("{what}: {to}"));
        let next = url::form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "next").unwrap().1.into_owned();
        assert!(next.starts_with(AUTHORIZE), "{what}: back to the request after signing in: {next}");
        // Going back without signing in does not get around it.
        let resp = b.get(&next).await;
        assert!(location(&resp).starts_with("/auth/sign-in?next="), "{what}: {}", location(&resp));
        // Signing in again (the sign-in page's form, which resumes the request) satisfies it.
        app.advance(5);
        let resigned = app.clock.now().unix_timestamp();
        let (_, token) = b.page(&format!("/auth/sign-in?next={}", lectern_common::extract::urlencode(&next))).await;
        let resp = b
            .post_form(
                "/auth/sign-in",
                &[("csrf_token", &token), ("email", GRACE), ("password", STUDENT_PASSWORD), ("next", &next)],
            )
            .await;
        assert_eq!((resp.status().as_u16(), location(&resp)), (303, next.clone()), "{what}");
        let to = authorize(&mut b, &next).await;
        let c = query_of(&to)["code"].clone();
        let id_token = tokens(&app, &client, &c, &p.verifier).await["id_token"].as_str().unwrap().to_owned();
        let claims = verify_id_token(&app, &client, &id_token).await;
        assert_eq!(claims["auth_time"], resigned, "{what}: auth_time is the new sign-in");
        app.advance(120);
    }
    // prompt=none cannot ask anyone to sign in: it says so.
    let resp = b.get(&authorize_path(&client, &pkce(), &[("prompt", "none"), ("max_age", "10")])).await;
    assert_eq!(query_of(&location(&resp))["error"], "login_required");
}

async fn token_replies_are_never_cached(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = forum(&app).await;
    let mut b = grace(&app).await;
    let p = pkce();
    let c = approved_code(&mut b, &client, &p, &[]).await;
    let good = exchange(&app, &client, &c, &p.verifier).await;
    let bad = exchange(&app, &client, &c, &p.verifier).await;
    let wrong_client =
        exchange(&app, &Client { id: client.id.clone(), secret: Some("x".repeat(43)) }, &c, &p.verifier).await;
    for (what, resp) in [("success", good), ("invalid_grant", bad), ("invalid_client", wrong_client)] {
        assert_eq!(resp.headers()["cache-control"], "no-store", "{what}");
        assert_eq!(resp.headers()["pragma"], "no-cache", "{what}");
    }
}

async fn clients_authenticate_one_way_each(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = forum(&app).await;
    let public = register(&app, "Phone App", IdTokenAlg::Rs256, true).await;
    assert!(public.secret.is_none());
    let mut b = grace(&app).await;
    let secret = client.secret.clone().unwrap();
    let post = |code: &str, verifier: &str, extra: &[(&str, &str)], basic: Option<(&str, &str)>| {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ];
        form.extend_from_slice(extra);
        let mut req = app.api.post(app.url(TOKEN)).header("content-type", "application/x-www-form-urlencoded");
        if let Some((id, s)) = basic {
            req = req.basic_auth(id, Some(s));
        }
        req.body(serde_urlencoded_body(&form)).send()
    };
    // client_secret_post
    let p = pkce();
    let c = approved_code(&mut b, &client, &p, &[]).await;
    let resp = post(&c, &p.verifier, &[("client_id", &client.id), ("client_secret", &secret)], None).await.unwrap();
    assert_eq!(resp.status(), 200, "client_secret_post");
    // none: a public client names itself.
    let p = pkce();
    let c = approved_code(&mut b, &public, &p, &[]).await;
    let resp = post(&c, &p.verifier, &[("client_id", &public.id)], None).await.unwrap();
    assert_eq!(resp.status(), 200, "a public client with PKCE alone");
    // Refusals, on a fresh code that none of them may spend.
    let p = pkce();
    let c = approved_code(&mut b, &client, &p, &[]).await;
    let wrong = "w".repeat(43);
    // (what, extra form fields, Basic credentials, status, error)
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, Option<(&'a str, &'a str)>, u16, &'a str);
    let cases: Vec<Case<'_>> = vec![
        ("a confidential client without its secret", vec![("client_id", &client.id)], None, 401, "invalid_client"),
        (
            "a wrong secret in the body",
            vec![("client_id", &client.id), ("client_secret", &wrong)],
            None,
            401,
            "invalid_client",
        ),
        ("a wrong secret in Basic", vec![], Some((&client.id, &wrong)), 401, "invalid_client"),
        (
            "an unknown client",
            vec![("client_id", "3b1f1d6e-0000-4000-8000-000000000000"), ("client_secret", &secret)],
            None,
            401,
            "invalid_client",
        ),
        ("no client at all", vec![], None, 401, "invalid_client"),
        ("two methods at once", vec![("client_secret", &secret)], Some((&client.id, &secret)), 400, "invalid_request"),
        (
            "a public client with a secret",
            vec![("client_id", &public.id), ("client_secret", &secret)],
            None,
            401,
            "invalid_client",
        ),
        ("refresh_token grant", vec![], None, 400, "unsupported_grant_type"),
    ];
    for (what, extra, basic, status, error) in cases {
        let resp = if what == "refresh_token grant" {
            app.api
                .post(app.url(TOKEN))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(serde_urlencoded_body(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", "x"),
                    ("client_id", &client.id),
                ]))
                .send()
                .await
                .unwrap()
        } else {
            post(&c, &p.verifier, &extra, basic).await.unwrap()
        };
        if status == 401 {
            assert_eq!(resp.headers()["www-authenticate"], r#"Basic realm="lectern""#, "{what}");
        }
        assert_eq!(oauth_error(resp).await, (status, error.to_owned()), "{what}");
    }
    // The code survived every refusal.
    assert_eq!(post(&c, &p.verifier, &[], Some((&client.id, &secret))).await.unwrap().status(), 200);
}

async fn authorize_accepts_get_and_post(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = forum(&app).await;
    let mut b = grace(&app).await;
    approved_code(&mut b, &client, &pkce(), &[]).await; // allowed once
    let p = pkce();
    let params = authorize_params(&client, &p, &[]);
    let fields: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    // A POST from the person's browser with the session cookie: a code at once.
    let resp = b.post_form(AUTHORIZE, &fields).await;
    assert_eq!(resp.status(), 303);
    let q = query_of(&location(&resp));
    assert_eq!(q["state"], "st-1");
    assert_eq!(exchange(&app, &client, &q["code"], &p.verifier).await.status(), 200);
    // A cross-site POST arrives without the Lax session cookie: asked again as a GET, which has it.
    let resp = app
        .api
        .post(app.url(AUTHORIZE))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded_body(&fields))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let again = location(&resp);
    assert!(again.starts_with(&format!("{AUTHORIZE}?")), "{again}");
    let resp = b.get(&again).await;
    let q = query_of(&location(&resp));
    assert!(q.contains_key("code"), "{q:?}");
    // POST errors behave as GET errors.
    let mut bad = fields.clone();
    bad.retain(|(k, _)| *k != "response_type");
    let resp = b.post_form(AUTHORIZE, &bad).await;
    assert_eq!(query_of(&location(&resp))["error"], "invalid_request");
    let mut evil = fields.clone();
    evil.retain(|(k, _)| *k != "redirect_uri");
    evil.push(("redirect_uri", "https://evil.example/cb"));
    let resp = b.post_form(AUTHORIZE, &evil).await;
    assert_eq!(resp.status(), 400);
    assert!(resp.headers().get("location").is_none());
}

async fn userinfo_accepts_get_and_post_and_only_its_own_tokens(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = forum(&app).await;
    let mut b = grace(&app).await;
    let p = pkce();
    let c = approved_code(&mut b, &client, &p, &[]).await;
    let reply = tokens(&app, &client, &c, &p.verifier).await;
    let access = reply["access_token"].as_str().unwrap();
    let form = |body: String| {
        app.api.post(app.url(USERINFO)).header("content-type", "application/x-www-form-urlencoded").body(body)
    };
    let get = userinfo(&app, access).await;
    let post_header = app.api.post(app.url(USERINFO)).bearer_auth(access).send().await.unwrap();
    let post_body = form(format!("access_token={access}")).send().await.unwrap();
    let mut answers = Vec::new();
    for (what, resp) in [("GET", get), ("POST with the header", post_header), ("POST with a form field", post_body)] {
        assert_eq!(resp.status(), 200, "{what}");
        answers.push(resp.json::<Value>().await.unwrap());
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
    let lectern_token = app.sign_in(GRACE, STUDENT_PASSWORD).await.access_token;
    let id_token = reply["id_token"].as_str().unwrap();
    // Refusals: each a 401 with the RFC 6750 challenge, or a 400 for a token sent wrongly.
    let refusals: Vec<(&str, reqwest::Response, u16)> = vec![
        ("no token", app.api.get(app.url(USERINFO)).send().await.unwrap(), 401),
        ("a Lectern access token", userinfo(&app, &lectern_token).await, 401),
        ("an ID token", userinfo(&app, id_token).await, 401),
        ("an unknown token", userinfo(&app, &"A".repeat(43)).await, 401),
        (
            "another scheme",
            app.api.get(app.url(USERINFO)).header("authorization", format!("Basic {access}")).send().await.unwrap(),
            401,
        ),
        (
            "the token in the URL",
            app.api.get(format!("{}?access_token={access}", app.url(USERINFO))).send().await.unwrap(),
            400,
        ),
        ("two ways at once", form(format!("access_token={access}")).bearer_auth(access).send().await.unwrap(), 400),
        ("twice in the form", form(format!("access_token={access}&access_token={access}")).send().await.unwrap(), 400),
    ];
    for (what, resp, status) in refusals {
        assert_eq!(resp.status(), status, "{what}");
        let challenge = resp.headers()["www-authenticate"].to_str().unwrap().to_owned();
        match (status, what) {
            (401, "no token") => assert_eq!(challenge, r#"Bearer realm="lectern""#),
            (401, _) => assert_eq!(challenge, r#"Bearer realm="lectern", error="invalid_token""#, "{what}"),
            _ => assert_eq!(challenge, r#"Bearer realm="lectern", error="invalid_request""#, "{what}"),
        }
        assert_eq!(resp.headers()["content-type"], "application/problem+json", "{what}");
    }
    // Tokens live ten minutes.
    app.advance(600);
    assert_eq!(userinfo(&app, access).await.status(), 401, "expired");
}

async fn an_id_token_is_refused_as_an_access_token_by_every_service(backend: Backend) {
    let app = spawn_app(backend).await;
    let rs = forum(&app).await;
    let ed = register(&app, "Code Review", IdTokenAlg::EdDsa, false).await;
    let teacher = app.teacher("Ada").await;
    let course = app.create_course(&teacher, "Logic", true).await;
    let course_id = course["id"].as_str().unwrap();
    let mut b = grace(&app).await;
    let mut tokens_to_try = Vec::new();
    for client in [&rs, &ed] {
        let p = pkce();
        let c = approved_code(&mut b, client, &p, &[]).await;
        let reply = tokens(&app, client, &c, &p.verifier).await;
        tokens_to_try.push((
            format!("{} ID token", segment(reply["id_token"].as_str().unwrap(), 0)["alg"]),
            reply["id_token"].as_str().unwrap().to_owned(),
        ));
        tokens_to_try
            .push(("an OpenID Connect access token".to_owned(), reply["access_token"].as_str().unwrap().to_owned()));
    }
    let protected = [
        "/api/auth/me".to_owned(),
        "/api/courses".to_owned(),
        format!("/api/courses/{course_id}"),
        "/api/grading/me/grades".to_owned(),
        format!("/api/grading/courses/{course_id}/assignments"),
    ];
    for (what, token) in &tokens_to_try {
        for path in &protected {
            let resp = app.get(path, Some(token)).await;
            assert_eq!(resp.status(), 401, "{what} at {path}");
            assert_eq!(resp.headers()["www-authenticate"], r#"Bearer realm="lectern", error="invalid_token""#);
        }
        // Nor as the page cookie.
        let resp =
            app.api.get(app.url("/courses")).header("cookie", format!("lectern_at={token}")).send().await.unwrap();
        assert!(location(&resp).starts_with("/auth/sign-in"), "{what} as a cookie: {}", location(&resp));
    }
    // Grace's own access token works at the same endpoints: it is the token, not the person.
    let grace_token = app.sign_in(GRACE, STUDENT_PASSWORD).await.access_token;
    assert_eq!(app.get("/api/grading/me/grades", Some(&grace_token)).await.status(), 200);
}

async fn a_lectern_access_token_is_refused_at_the_token_endpoint(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = forum(&app).await;
    let mut b = grace(&app).await;
    let lectern_token = app.sign_in(GRACE, STUDENT_PASSWORD).await.access_token;
    let p = pkce();
    let c = approved_code(&mut b, &client, &p, &[]).await;
    let send = |auth: Option<String>, form: Vec<(&str, &str)>| {
        let mut req = app.api.post(app.url(TOKEN)).header("content-type", "application/x-www-form-urlencoded");
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        req.body(serde_urlencoded_body(&form)).send()
    };
    let cases = vec![
        (
            "as the client's bearer credentials",
            send(
                Some(format!("Bearer {lectern_token}")),
                vec![
                    ("grant_type", "authorization_code"),
                    ("code", &c),
                    ("redirect_uri", REDIRECT),
                    ("code_verifier", &p.verifier),
                ],
            )
            .await
            .unwrap(),
            (401, "invalid_client"),
        ),
        (
            "as the client secret",
            send(
                None,
                vec![
                    ("grant_type", "authorization_code"),
                    ("code", &c),
                    ("redirect_uri", REDIRECT),
                    ("code_verifier", &p.verifier),
                    ("client_id", &client.id),
                    ("client_secret", &lectern_token),
                ],
            )
            .await
            .unwrap(),
            (401, "invalid_client"),
        ),
        (
            "as the code",
            send(
                Some(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(format!(
                        "{}:{}",
                        client.id,
                        client.secret.as_deref().unwrap()
                    ))
                )),
                vec![
                    ("grant_type", "authorization_code"),
                    ("code", &lectern_token),
                    ("redirect_uri", REDIRECT),
                    ("code_verifier", &p.verifier),
                ],
            )
            .await
            .unwrap(),
            (400, "invalid_grant"),
        ),
    ];
    for (what, resp, (status, error)) in cases {
        assert_eq!(oauth_error(resp).await, (status, error.to_owned()), "{what}");
    }
    assert_eq!(exchange(&app, &client, &c, &p.verifier).await.status(), 200, "the real code still works");
}

async fn consent_is_remembered_per_application_and_scopes_and_revocable(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = forum(&app).await;
    let other = register(&app, "Library", IdTokenAlg::Rs256, false).await;
    let mut b = grace(&app).await;
    // Deny: the application is told, and nothing is remembered.
    let resp = b.get(&authorize_path(&client, &pkce(), &[("scope", "openid profile")])).await;
    let html = resp.text().await.unwrap();
    let resp = answer(&mut b, &html, "deny").await;
    let q = query_of(&location(&resp));
    assert_eq!((q["error"].as_str(), q["state"].as_str()), ("access_denied", "st-1"));
    assert_eq!(b.get(&authorize_path(&client, &pkce(), &[("scope", "openid profile")])).await.status(), 200);
    // Approve: the same request needs no page next time.
    let p = pkce();
    let c = approved_code(&mut b, &client, &p, &[("scope", "openid profile")]).await;
    let held = tokens(&app, &client, &c, &p.verifier).await;
    let resp = b.get(&authorize_path(&client, &pkce(), &[("scope", "openid profile")])).await;
    assert_eq!(resp.status(), 303, "remembered");
    let resp = b.get(&authorize_path(&client, &pkce(), &[("scope", "openid")])).await;
    assert_eq!(resp.status(), 303, "a narrower request is covered");
    let unspent = query_of(&location(&resp))["code"].clone();
    // More scopes, or another application: asked again.
    assert_eq!(b.get(&authorize_path(&client, &pkce(), &[])).await.status(), 200, "email was not allowed");
    assert_eq!(b.get(&authorize_path(&other, &pkce(), &[("scope", "openid profile")])).await.status(), 200);
    // Another person is asked for themselves.
    app.student("Edsger").await;
    let mut e = Browser::new(&app);
    e.sign_in("edsger@example.org", STUDENT_PASSWORD).await;
    assert_eq!(e.get(&authorize_path(&client, &pkce(), &[("scope", "openid")])).await.status(), 200);
    // The sessions page lists it; revoking forgets the consent and ends what the application holds.
    let (html, _) = b.page("/auth/sessions").await;
    assert!(html.contains("Connected applications") && html.contains("School Forum"), "{html}");
    assert!(html.contains("<code>profile</code>") && !html.contains("Library"), "{html}");
    let token = csrf_token(html.split_once("<h2 id=\"connected-applications\">").unwrap().1);
    let action = format!("/auth/oauth/connections/{}/revoke", client.id);
    assert!(html.contains(&action));
    // Someone else's form cannot revoke it (CSRF), nor can Edsger (nothing of his).
    let resp = b.post_form(&action, &[("csrf_token", "forged")]).await;
    assert_eq!(resp.status(), 403);
    let (ehtml, _) = e.page("/auth/sessions").await;
    let etoken = csrf_token(&ehtml);
    assert_eq!(e.post_form(&action, &[("csrf_token", &etoken)]).await.status(), 404);
    assert_eq!(userinfo(&app, held["access_token"].as_str().unwrap()).await.status(), 200);
    let resp = b.post_form(&action, &[("csrf_token", &token)]).await;
    assert_eq!((resp.status().as_u16(), location(&resp)), (303, "/auth/sessions?revoked=1".to_owned()));
    assert_eq!(userinfo(&app, held["access_token"].as_str().unwrap()).await.status(), 401, "its token is revoked");
    assert_eq!(oauth_error(exchange(&app, &client, &unspent, "x".repeat(43).as_str()).await).await.1, "invalid_grant");
    let (html, _) = b.page("/auth/sessions?revoked=1").await;
    assert!(html.contains("disconnected") && !html.contains("School Forum"), "{html}");
    assert_eq!(b.get(&authorize_path(&client, &pkce(), &[("scope", "openid")])).await.status(), 200, "asked again");
    assert_eq!(b.post_form(&action, &[("csrf_token", &token)]).await.status(), 404, "nothing left to revoke");
}

async fn signing_out_ends_what_the_session_gave_applications(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = forum(&app).await;
    let mut b = grace(&app).await;
    let p = pkce();
    let c = approved_code(&mut b, &client, &p, &[]).await;
    let held = tokens(&app, &client, &c, &p.verifier).await;
    let p2 = pkce();
    let unspent = approved_code(&mut b, &client, &p2, &[]).await;
    let (html, _) = b.page("/auth/sessions").await;
    let resp = b.post_form("/auth/sign-out", &[("csrf_token", &crate::helpers::sign_out_token(&html))]).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(userinfo(&app, held["access_token"].as_str().unwrap()).await.status(), 401);
    assert_eq!(oauth_error(exchange(&app, &client, &unspent, &p2.verifier).await).await.1, "invalid_grant");
}

async fn an_expired_session_cookie_is_refreshed_on_the_way(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = forum(&app).await;
    let mut b = grace(&app).await;
    approved_code(&mut b, &client, &pkce(), &[]).await; // allowed once
    app.advance(16 * 60); // the access cookie has expired; the session has not
    let p = pkce();
    let resp = b.get(&authorize_path(&client, &p, &[])).await;
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    // A page of Lectern's own takes the browser to the refresh, so the SameSite=Strict refresh
    // cookie goes along (a redirect from the application's site would not carry it).
    let target = unescape(html.split("url=").nth(1).unwrap().split('"').next().unwrap());
    assert!(target.starts_with("/auth/refresh?next="), "{target}");
    assert!(html.contains("http-equiv=\"refresh\""));
    let resp = b.get(&target).await;
    assert_eq!(resp.status(), 303);
    let back = location(&resp);
    assert!(back.starts_with(AUTHORIZE) && back.contains("lectern_refreshed=1"), "{back}");
    let to = authorize(&mut b, &back).await;
    assert_eq!(exchange(&app, &client, &query_of(&to)["code"], &p.verifier).await.status(), 200);
    // Without a refresh cookie the refresh fails, and the request says what that means.
    b.cookies.remove("lectern_rt");
    app.advance(16 * 60);
    for (changes, want_sign_in) in [(&[("prompt", "none")][..], false), (&[][..], true)] {
        let resp = b.get(&authorize_path(&client, &pkce(), changes)).await;
        let html = resp.text().await.unwrap();
        let target = unescape(html.split("url=").nth(1).unwrap().split('"').next().unwrap());
        let resp = b.get(&target).await;
        let back = location(&resp);
        assert!(back.starts_with(AUTHORIZE), "back to the request: {back}");
        let resp = b.get(&back).await;
        let to = location(&resp);
        if want_sign_in {
            assert!(to.starts_with("/auth/sign-in?next="), "{to}");
            assert!(!to.contains("lectern_refreshed"), "{to}");
        } else {
            assert_eq!(query_of(&to)["error"], "login_required", "{to}");
        }
    }
}

async fn forms_that_end_at_the_application_allow_it_in_form_action(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = forum(&app).await;
    let mut b = grace(&app).await;
    let p = pkce();
    let default_csp = lectern_common::middleware::CONTENT_SECURITY_POLICY;
    let csp = |resp: &reqwest::Response| resp.headers()["content-security-policy"].to_str().unwrap().to_owned();
    // The consent form's answer is a redirect to the application: browsers check form-action on it.
    let resp = b.get(&authorize_path(&client, &p, &[])).await;
    assert_eq!(resp.status(), 200);
    assert!(csp(&resp).contains("form-action 'self' https://forum.example;"), "{}", csp(&resp));
    // So is a sign-in that resumes a request of a registered redirect URI ...
    let next = authorize_path(&client, &p, &[]);
    let resp = app.get(&format!("/auth/sign-in?next={}", lectern_common::extract::urlencode(&next)), None).await;
    assert!(csp(&resp).contains("form-action 'self' https://forum.example;"), "{}", csp(&resp));
    // ... but a made-up one widens nothing.
    let evil = authorize_path(&client, &p, &[("redirect_uri", "https://evil.example/cb")]);
    let resp = app.get(&format!("/auth/sign-in?next={}", lectern_common::extract::urlencode(&evil)), None).await;
    assert_eq!(csp(&resp), default_csp);
    let resp = app.get("/auth/sign-in?next=%2Fcourses", None).await;
    assert_eq!(csp(&resp), default_csp);
}

async fn id_token_keys_rotate_like_the_others(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = forum(&app).await;
    let mut b = grace(&app).await;
    let id_kid = async |b: &mut Browser<'_>| {
        let p = pkce();
        let c = approved_code(b, &client, &p, &[]).await;
        let reply = tokens(&app, &client, &c, &p.verifier).await;
        let id_token = reply["id_token"].as_str().unwrap().to_owned();
        verify_id_token(&app, &client, &id_token).await;
        segment(&id_token, 0)["kid"].as_str().unwrap().to_owned()
    };
    let old = id_kid(&mut b).await;
    let rotated = crate::keys::rotate_all(&app).await;
    let next_rs = rotated.keys.iter().find(|(s, _)| s.purpose == "id_token" && s.alg == "RS256").unwrap().1.clone();
    let jwks: Value = app.get("/.well-known/jwks.json", None).await.json().await.unwrap();
    assert!(jwks["keys"].as_array().unwrap().iter().any(|k| k["kid"] == next_rs.as_str()), "published before it signs");
    assert_eq!(id_kid(&mut b).await, old, "the current key signs until the next activates");
    crate::keys::advance_and_reload(&app, auth_core::keys::ACTIVATION_DELAY.whole_seconds()).await;
    b.sign_in(GRACE, STUDENT_PASSWORD).await;
    assert_eq!(id_kid(&mut b).await, next_rs, "then the next one");
    // The old key is retired once its ID tokens have expired (10 minutes, plus leeway), not before.
    let lifetimes = app.auth.settings.key_lifetimes();
    let now = app.clock.now();
    let retire = |at: time::OffsetDateTime| {
        let (db, kid) = (app.db.clone(), old.clone());
        async move {
            db.run(move |c| auth_core::keys::retire(c, &kid, at, lifetimes).map_err(|e| DbError::Task(e.to_string())))
                .await
                .unwrap()
        }
    };
    assert!(matches!(retire(now).await, Err(auth_core::keys::RetireError::StillLive { .. })));
    assert_eq!(retire(now + lifetimes.id_token).await, Ok(()));
}

async fn the_command_line_registers_lists_and_removes_clients(backend: Backend) {
    let app = spawn_app(backend).await;
    let lectern = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_lectern"))
            .args(args)
            .env("LECTERN_DATABASE_URL", &app.config.database_url)
            .env("LECTERN_PUBLIC_URL", &app.address)
            .env("LECTERN_LOG", "error")
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, out, err) = lectern(&[
        "oidc",
        "clients",
        "add",
        "--name",
        "School Forum",
        "--redirect-uri",
        REDIRECT,
        "--redirect-uri",
        OTHER_REDIRECT,
        "--json",
    ]);
    assert!(ok, "{err}");
    let added: Value = serde_json::from_str(out.trim()).unwrap();
    let mut keys: Vec<&String> = added.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["client_id", "client_secret"], "exactly these members: {out}");
    let client = Client {
        id: added["client_id"].as_str().unwrap().into(),
        secret: Some(added["client_secret"].as_str().unwrap().into()),
    };
    assert_eq!(client.secret.as_deref().unwrap().len(), 43, "256 bits");
    let (ok, out, err) = lectern(&[
        "oidc",
        "clients",
        "add",
        "--name",
        "Phone App",
        "--redirect-uri",
        "com.example.app:/cb",
        "--public",
        "--id-token-alg",
        "EdDSA",
        "--json",
    ]);
    assert!(ok, "{err}");
    let public: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(public["client_secret"], Value::Null);
    let (ok, out, _) =
        lectern(&["oidc", "clients", "add", "--name", "Wiki", "--redirect-uri", "https://wiki.example/cb"]);
    assert!(
        ok && out.contains("client_id:") && out.contains("client_secret:") && out.contains("shown this once"),
        "{out}"
    );
    // The secret is stored hashed only.
    let stored: Vec<Option<String>> = app
        .db
        .run(|c| {
            use diesel::prelude::*;
            lectern_common::schema::oidc_clients::table
                .select(lectern_common::schema::oidc_clients::secret_hash)
                .load(c)
                .map_err(DbError::from)
        })
        .await
        .unwrap();
    let secret = client.secret.clone().unwrap();
    assert!(stored.iter().flatten().all(|h| *h != secret && h.len() == 43), "{stored:?}");
    // The registered client works.
    let mut b = grace(&app).await;
    let p = pkce();
    let c = approved_code(&mut b, &client, &p, &[]).await;
    assert_eq!(exchange(&app, &client, &c, &p.verifier).await.status(), 200);
    // Refusals.
    for (what, args) in [
        ("plain http to another host", vec!["--redirect-uri", "http://forum.example/cb"]),
        ("a fragment", vec!["--redirect-uri", "https://forum.example/cb#x"]),
        ("a relative URI", vec!["--redirect-uri", "/cb"]),
    ] {
        let mut all = vec!["oidc", "clients", "add", "--name", "X"];
        all.extend(args);
        let (ok, _, err) = lectern(&all);
        assert!(!ok && err.contains("redirect_uri"), "{what}: {err}");
    }
    let (ok, _, err) =
        lectern(&["oidc", "clients", "add", "--name", "X", "--redirect-uri", REDIRECT, "--id-token-alg", "HS256"]);
    assert!(!ok && err.contains("HS256"), "{err}");
    let (ok, out, _) = lectern(&["oidc", "clients", "list"]);
    assert!(
        ok && out.contains("School Forum")
            && out.contains("Phone App")
            && out.contains("public")
            && out.contains(REDIRECT),
        "{out}"
    );
    assert!(!out.contains(&secret), "list never shows a secret");
    let (ok, out, err) = lectern(&["oidc", "clients", "remove", &client.id]);
    assert!(ok && out.contains("removed"), "{err}");
    let (ok, _, err) = lectern(&["oidc", "clients", "remove", &client.id]);
    assert!(!ok && err.contains("no application"), "{err}");
    assert_eq!(b.get(&authorize_path(&client, &p, &[])).await.status(), 400, "a removed client is unknown");
}

async fn malformed_requests_get_clear_refusals(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = forum(&app).await;
    let raw = |body: &str, content_type: &str| {
        app.api.post(app.url(TOKEN)).header("content-type", content_type).body(body.to_owned()).send()
    };
    let form = "application/x-www-form-urlencoded";
    let cases = vec![
        (
            "JSON instead of a form",
            raw(r#"{"grant_type":"authorization_code"}"#, "application/json").await.unwrap(),
            415,
            "invalid_request",
        ),
        (
            "a body over 16 KiB",
            raw(&format!("grant_type=authorization_code&pad={}", "a".repeat(20_000)), form).await.unwrap(),
            413,
            "invalid_request",
        ),
        ("no grant_type", raw("code=x", form).await.unwrap(), 400, "invalid_request"),
        (
            "a grant_type that is not one",
            raw("grant_type=%zz%00%FF", form).await.unwrap(),
            400,
            "unsupported_grant_type",
        ),
        (
            "a missing code",
            raw(&format!("grant_type=authorization_code&client_id={}", client.id), form).await.unwrap(),
            400,
            "invalid_request",
        ),
    ];
    for (what, resp, status, error) in cases {
        assert_eq!(resp.headers()["cache-control"], "no-store", "{what}");
        assert_eq!(oauth_error(resp).await, (status, error.to_owned()), "{what}");
    }
    // Authorization requests that are not even well-formed: an error page, never a 500.
    let long = format!("{}&pad={}", authorize_path(&client, &pkce(), &[]), "a".repeat(5000));
    for (what, path, status) in [
        ("bad percent-encoding", format!("{AUTHORIZE}?client_id=%zz"), 400),
        ("nothing at all", AUTHORIZE.to_owned(), 400),
        ("over 4 KiB", long, 303),
    ] {
        let resp = app.get(&path, None).await;
        assert_eq!(resp.status(), status, "{what}");
        if status == 303 {
            assert_eq!(query_of(&location(&resp))["error"], "invalid_request", "{what}");
        }
    }
    let resp =
        app.api.post(app.url(AUTHORIZE)).header("content-type", "application/json").body("{}").send().await.unwrap();
    assert_eq!(resp.status(), 415);
    let resp = app
        .api
        .post(app.url(AUTHORIZE))
        .header("content-type", form)
        .body(format!("client_id={}&pad={}", client.id, "a".repeat(10_000)))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    // A consent form without a decision, or with a made-up one.
    let mut b = grace(&app).await;
    let resp = b.get(&authorize_path(&client, &pkce(), &[])).await;
    let html = resp.text().await.unwrap();
    let fields = consent_fields(&html);
    for decision in [None, Some("maybe")] {
        let mut f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        if let Some(d) = decision {
            f.push(("decision", d));
        }
        assert_eq!(b.post_form("/auth/oauth/consent", &f).await.status(), 400, "{decision:?}");
    }
}

/// On PostgreSQL the provider's tables live in the schema `auth`, which only auth-core's role may
/// use: a course or grading process cannot read a client's secret hash, a code or a token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_provider_tables_belong_to_auth_core_alone_on_postgres() {
    use diesel::prelude::*;
    use diesel::sql_types::{Bool, Text};
    #[derive(QueryableByName, Debug, PartialEq)]
    struct Grant {
        #[diesel(sql_type = Text)]
        table_name: String,
        #[diesel(sql_type = Text)]
        schema: String,
        #[diesel(sql_type = Bool)]
        auth_select: bool,
        #[diesel(sql_type = Bool)]
        auth_insert: bool,
        #[diesel(sql_type = Bool)]
        auth_update: bool,
        #[diesel(sql_type = Bool)]
        auth_delete: bool,
        #[diesel(sql_type = Bool)]
        service_any: bool,
        #[diesel(sql_type = Bool)]
        public_any: bool,
    }
    let app = spawn_app(Backend::Postgres).await;
    let (grants, service_usage): (Vec<Grant>, bool) = app
        .db
        .run(|c| {
            let grants = diesel::sql_query(
                "SELECT c.relname::text AS table_name, n.nspname::text AS schema, \
                 has_table_privilege('lectern_auth', c.oid, 'SELECT') AS auth_select, \
                 has_table_privilege('lectern_auth', c.oid, 'INSERT') AS auth_insert, \
                 has_table_privilege('lectern_auth', c.oid, 'UPDATE') AS auth_update, \
                 has_table_privilege('lectern_auth', c.oid, 'DELETE') AS auth_delete, \
                 has_table_privilege('lectern_service', c.oid, 'SELECT, INSERT, UPDATE, DELETE') AS service_any, \
                 has_table_privilege('public', c.oid, 'SELECT, INSERT, UPDATE, DELETE') AS public_any \
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE c.relname LIKE 'oidc\\_%' AND c.relkind = 'r' ORDER BY c.relname",
            )
            .load::<Grant>(c)?;
            #[derive(QueryableByName)]
            struct Usage {
                #[diesel(sql_type = Bool)]
                usage: bool,
            }
            let usage = diesel::sql_query("SELECT has_schema_privilege('lectern_service', 'auth', 'USAGE') AS usage")
                .get_result::<Usage>(c)?
                .usage;
            Ok::<_, DbError>((grants, usage))
        })
        .await
        .unwrap();
    let names: Vec<&str> = grants.iter().map(|g| g.table_name.as_str()).collect();
    assert_eq!(names, ["oidc_access_tokens", "oidc_clients", "oidc_codes", "oidc_consents", "oidc_redirect_uris"]);
    for g in &grants {
        assert_eq!(g.schema, "auth", "{g:?}");
        assert!(g.auth_select && g.auth_insert && g.auth_update && g.auth_delete, "auth-core's role may use it: {g:?}");
        assert!(!g.service_any && !g.public_any, "nobody else may: {g:?}");
    }
    assert!(!service_usage, "the services' role cannot even see the schema");
}
