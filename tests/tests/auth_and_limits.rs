//! Bearer-token authentication and the abuse limits, over real HTTP, on both backends.
//!
//! Two kinds of server: the default one, which accepts HS256 tokens signed with the shared
//! secret, and an "identity provider" one, which accepts RS256/ES256 tokens verified against
//! `services/server/tests/fixtures/jwks.json` and checks issuer and audience. The private keys
//! that sign the test tokens sit next to it (see the fixtures' README).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use styr_eventstore::BackendKind;
use styr_tests::{JWT_SECRET, RawResponse, TestApp, fixture, spawn_app, spawn_app_with};

const ISSUER: &str = "https://idp.test/realms/styr";
const AUDIENCE: &str = "styr-api";

/// Runs each test once per backend; each test starts the server it needs.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[actix_web::test]
                async fn $name() {
                    super::$name(styr_eventstore::BackendKind::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[actix_web::test]
                async fn $name() {
                    super::$name(styr_eventstore::BackendKind::Postgres).await;
                }
            )*
        }
    };
}

on_both_backends!(
    hs256_tokens_with_the_shared_secret_are_accepted,
    rs256_and_es256_tokens_from_the_jwks_are_accepted,
    minted_tokens_carry_the_configured_issuer_and_audience,
    alg_none_is_refused,
    an_hs256_token_is_refused_when_only_the_jwks_is_configured,
    an_rs256_token_is_refused_when_only_the_secret_is_configured,
    an_hs256_token_signed_with_the_rsa_public_key_is_refused,
    a_bad_signature_is_refused,
    an_expired_token_is_refused,
    a_token_without_exp_is_refused,
    a_token_not_yet_valid_is_refused,
    a_wrong_issuer_is_refused,
    a_wrong_or_missing_audience_is_refused,
    an_unknown_kid_is_refused,
    a_key_added_to_the_jwks_file_is_picked_up,
    a_jwks_served_by_url_is_fetched_and_refreshed,
    an_unknown_role_is_refused,
    garbage_is_refused,
    a_scheme_other_than_bearer_is_refused,
    anonymous_requests_and_probes_need_no_token,
    websocket_connections_check_the_token,
    query_depth_is_limited,
    query_complexity_is_limited,
    aliases_are_limited,
    the_request_body_size_is_limited,
    batches_are_served_and_their_length_limited,
    introspection_is_off_unless_in_development,
    slow_requests_time_out,
);

// ---------------------------------------------------------------------------------------------
// Servers and tokens

/// A server that trusts the test identity provider's JWKS (RS256/ES256 only).
async fn idp_app(kind: BackendKind, extra: &[(&str, &str)]) -> TestApp {
    let jwks = fixture("jwks.json");
    let mut settings = vec![
        ("STYR_JWKS", jwks.to_str().unwrap()),
        ("STYR_JWT_ISSUER", ISSUER),
        ("STYR_JWT_AUDIENCE", AUDIENCE),
    ];
    settings.extend_from_slice(extra);
    spawn_app_with(kind, &settings).await
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Valid claims for an agency coordinator at DMP, from the test identity provider.
fn claims() -> Value {
    json!({
        "sub": "kari.nordmann",
        "name": "Kari Nordmann",
        "role": "agency",
        "org": "DMP",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now(),
        "nbf": now() - 10,
        "exp": now() + 600,
    })
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

fn without(mut claims: Value, key: &str) -> Value {
    claims.as_object_mut().unwrap().remove(key);
    claims
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap()
}

fn header(alg: Algorithm, kid: Option<&str>) -> Header {
    let mut h = Header::new(alg);
    h.kid = kid.map(str::to_owned);
    h
}

fn rs256(kid: &str, claims: &Value) -> String {
    rs256_with_key("rsa1.der", kid, claims)
}

fn rs256_with_key(key_file: &str, kid: &str, claims: &Value) -> String {
    let key = EncodingKey::from_rsa_der(&read(key_file));
    jsonwebtoken::encode(&header(Algorithm::RS256, Some(kid)), claims, &key).unwrap()
}

fn es256(claims: &Value) -> String {
    let key = EncodingKey::from_ec_der(&read("ec1.p8.der"));
    jsonwebtoken::encode(&header(Algorithm::ES256, Some("test-ec-1")), claims, &key).unwrap()
}

fn hs256_with(secret: &[u8], kid: Option<&str>, claims: &Value) -> String {
    let key = EncodingKey::from_secret(secret);
    jsonwebtoken::encode(&header(Algorithm::HS256, kid), claims, &key).unwrap()
}

/// Signed with the test servers' shared secret.
fn hs256(claims: &Value) -> String {
    hs256_with(JWT_SECRET.as_bytes(), None, claims)
}

/// Unpadded base64url, as JWTs use, written out so the tests need no extra crate.
fn base64_url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

const ME: &str = "{ me { subject role organisation } }";

/// The request is served with the token's identity.
async fn assert_accepted(app: &TestApp, token: &str) {
    let res = app
        .post_graphql(
            json!({ "query": ME }).to_string(),
            Some(&format!("Bearer {token}")),
        )
        .await;
    assert_eq!(res.status, 200, "{res:?}");
    assert_eq!(
        res.body["data"]["me"]["organisation"], "DMP",
        "the identity reaches the resolvers: {res:?}"
    );
}

/// The request is refused with 401 and the same body, whatever was wrong.
async fn assert_refused(app: &TestApp, authorization: &str) {
    let res = app
        .post_graphql(
            json!({ "query": "{ __typename }" }).to_string(),
            Some(authorization),
        )
        .await;
    assert_refused_response(&res, authorization);
}

fn assert_refused_response(res: &RawResponse, what: &str) {
    assert_eq!(res.status, 401, "{what}: {res:?}");
    assert_eq!(
        res.body,
        json!({ "errors": [{
            "message": "the bearer token is not valid",
            "extensions": { "code": "UNAUTHENTICATED" }
        }] }),
        "{what}: one message for every failure, nothing more"
    );
    assert_eq!(
        res.www_authenticate.as_deref(),
        Some("Bearer error=\"invalid_token\""),
        "{what}"
    );
}

// ---------------------------------------------------------------------------------------------
// Authentication

async fn hs256_tokens_with_the_shared_secret_are_accepted(kind: BackendKind) {
    let app = spawn_app(kind).await;
    let plain = without(without(claims(), "iss"), "aud");
    assert_accepted(&app, &hs256(&plain)).await;
    assert_accepted(&app, &app.token("agency", "DMP")).await;
    // The scheme is case-insensitive (RFC 6750).
    let res = app
        .post_graphql(
            json!({ "query": ME }).to_string(),
            Some(&format!("bearer {}", hs256(&plain))),
        )
        .await;
    assert_eq!(
        res.body["data"]["me"]["subject"], "kari.nordmann",
        "{res:?}"
    );
}

async fn rs256_and_es256_tokens_from_the_jwks_are_accepted(kind: BackendKind) {
    let app = idp_app(kind, &[]).await;
    assert_accepted(&app, &rs256("test-rsa-1", &claims())).await;
    assert_accepted(&app, &es256(&claims())).await;
    // A token may list several audiences as long as one is ours.
    let many = with(claims(), "aud", json!(["another-api", AUDIENCE]));
    assert_accepted(&app, &rs256("test-rsa-1", &many)).await;
}

async fn minted_tokens_carry_the_configured_issuer_and_audience(kind: BackendKind) {
    let extra = [("STYR_JWT_ISSUER", ISSUER), ("STYR_JWT_AUDIENCE", AUDIENCE)];
    let app = spawn_app_with(kind, &extra).await;
    let mut env: std::collections::BTreeMap<String, String> = extra
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    env.insert("STYR_JWT_SECRET".into(), JWT_SECRET.into());
    let settings = styr::Settings::from_sources(&env).unwrap();
    let minted = styr::auth::TokenKeys::from_settings(&settings)
        .unwrap()
        .issue(&styr::auth::TokenRequest {
            role: "agency".into(),
            org: "DMP".into(),
            sub: None,
            name: None,
            dept: None,
            ttl: Duration::from_secs(60),
        })
        .unwrap();
    assert_accepted(&app, &minted).await;
    // The helper's tokens carry neither, so this server refuses them.
    assert_refused(&app, &format!("Bearer {}", app.token("agency", "DMP"))).await;
}

async fn alg_none_is_refused(kind: BackendKind) {
    let app = spawn_app(kind).await;
    let unsigned = |alg: &str| {
        format!(
            "{}.{}.",
            base64_url(json!({ "alg": alg, "typ": "JWT" }).to_string().as_bytes()),
            base64_url(claims().to_string().as_bytes())
        )
    };
    for alg in ["none", "None", "NONE"] {
        assert_refused(&app, &format!("Bearer {}", unsigned(alg))).await;
    }
    // The same with a signature part that is not empty.
    let mut forged = unsigned("none");
    forged.push_str("c2lnbmF0dXJl");
    assert_refused(&app, &format!("Bearer {forged}")).await;
}

async fn an_hs256_token_is_refused_when_only_the_jwks_is_configured(kind: BackendKind) {
    let app = idp_app(kind, &[]).await;
    // Signed with the very secret this server has on disk: still not an accepted algorithm.
    assert_refused(&app, &format!("Bearer {}", hs256(&claims()))).await;
}

async fn an_rs256_token_is_refused_when_only_the_secret_is_configured(kind: BackendKind) {
    let app = spawn_app(kind).await;
    let plain = without(without(claims(), "iss"), "aud");
    assert_refused(&app, &format!("Bearer {}", rs256("test-rsa-1", &plain))).await;
    assert_refused(&app, &format!("Bearer {}", es256(&plain))).await;
}

async fn an_hs256_token_signed_with_the_rsa_public_key_is_refused(kind: BackendKind) {
    // Both kinds accepted: the classic confusion attack signs HS256 with the public key.
    let app = idp_app(kind, &[("STYR_JWT_ALGORITHMS", "HS256,RS256,ES256")]).await;
    assert_accepted(&app, &hs256(&claims())).await;
    assert_accepted(&app, &rs256("test-rsa-1", &claims())).await;
    let public_pem = read("rsa1.pub.pem");
    let jwks = read("jwks.json");
    for (what, secret) in [("PEM", &public_pem), ("JWKS", &jwks)] {
        for kid in [Some("test-rsa-1"), None] {
            let token = hs256_with(secret, kid, &claims());
            let res = app
                .post_graphql(
                    json!({ "query": "{ __typename }" }).to_string(),
                    Some(&format!("Bearer {token}")),
                )
                .await;
            assert_refused_response(&res, &format!("HS256 with the public key as {what}"));
        }
    }
}

async fn a_bad_signature_is_refused(kind: BackendKind) {
    let app = idp_app(kind, &[]).await;
    // Another private key under the known key's id.
    let other = rs256_with_key("rsa2.der", "test-rsa-1", &claims());
    assert_refused(&app, &format!("Bearer {other}")).await;
    // A genuine token whose claims were changed after signing.
    let genuine = rs256("test-rsa-1", &claims());
    let parts: Vec<&str> = genuine.split('.').collect();
    let admin = base64_url(
        with(claims(), "role", json!("admin"))
            .to_string()
            .as_bytes(),
    );
    assert_refused(&app, &format!("Bearer {}.{admin}.{}", parts[0], parts[2])).await;
    // An RS256 token whose kid names the EC key.
    let crossed = rs256("test-ec-1", &claims());
    assert_refused(&app, &format!("Bearer {crossed}")).await;
    // HS256 with another secret on a default server.
    let hs = spawn_app(kind).await;
    let plain = without(without(claims(), "iss"), "aud");
    let wrong = hs256_with(b"another-secret-that-is-long-enough-0000", None, &plain);
    assert_refused(&hs, &format!("Bearer {wrong}")).await;
}

async fn an_expired_token_is_refused(kind: BackendKind) {
    let app = idp_app(kind, &[]).await;
    let expired = with(claims(), "exp", json!(now() - 3600));
    assert_refused(&app, &format!("Bearer {}", rs256("test-rsa-1", &expired))).await;
    // Within the 30 s leeway it still counts as valid.
    let just = with(claims(), "exp", json!(now() - 5));
    assert_accepted(&app, &rs256("test-rsa-1", &just)).await;
}

async fn a_token_without_exp_is_refused(kind: BackendKind) {
    let app = idp_app(kind, &[]).await;
    let no_exp = without(claims(), "exp");
    assert_refused(&app, &format!("Bearer {}", rs256("test-rsa-1", &no_exp))).await;
    let hs = spawn_app(kind).await;
    let plain = without(without(without(claims(), "iss"), "aud"), "exp");
    assert_refused(&hs, &format!("Bearer {}", hs256(&plain))).await;
}

async fn a_token_not_yet_valid_is_refused(kind: BackendKind) {
    let app = idp_app(kind, &[]).await;
    let later = with(claims(), "nbf", json!(now() + 3600));
    assert_refused(&app, &format!("Bearer {}", rs256("test-rsa-1", &later))).await;
}

async fn a_wrong_issuer_is_refused(kind: BackendKind) {
    let app = idp_app(kind, &[]).await;
    let other = with(claims(), "iss", json!("https://evil.test"));
    assert_refused(&app, &format!("Bearer {}", rs256("test-rsa-1", &other))).await;
    let none = without(claims(), "iss");
    assert_refused(&app, &format!("Bearer {}", rs256("test-rsa-1", &none))).await;
}

async fn a_wrong_or_missing_audience_is_refused(kind: BackendKind) {
    let app = idp_app(kind, &[]).await;
    let other = with(claims(), "aud", json!("another-api"));
    assert_refused(&app, &format!("Bearer {}", rs256("test-rsa-1", &other))).await;
    let none = without(claims(), "aud");
    assert_refused(&app, &format!("Bearer {}", rs256("test-rsa-1", &none))).await;
    // A server with no audience configured refuses tokens meant for a named one.
    let hs = spawn_app(kind).await;
    let aimed = without(with(claims(), "aud", json!("another-api")), "iss");
    assert_refused(&hs, &format!("Bearer {}", hs256(&aimed))).await;
}

async fn an_unknown_kid_is_refused(kind: BackendKind) {
    let app = idp_app(kind, &[]).await;
    // rsa2 is a real key, but not in the JWKS.
    let unknown = rs256_with_key("rsa2.der", "test-rsa-2", &claims());
    assert_refused(&app, &format!("Bearer {unknown}")).await;
    let made_up = rs256("no-such-key", &claims());
    assert_refused(&app, &format!("Bearer {made_up}")).await;
    // An RS256 token must name its key.
    let key = EncodingKey::from_rsa_der(&read("rsa1.der"));
    let nameless = jsonwebtoken::encode(&header(Algorithm::RS256, None), &claims(), &key).unwrap();
    assert_refused(&app, &format!("Bearer {nameless}")).await;
}

async fn a_key_added_to_the_jwks_file_is_picked_up(kind: BackendKind) {
    let dir = std::env::temp_dir().join(format!("styr-jwks-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("jwks.json");
    std::fs::copy(fixture("jwks.json"), &path).unwrap();
    let app = spawn_app_with(
        kind,
        &[
            ("STYR_JWKS", path.to_str().unwrap()),
            ("STYR_JWT_ISSUER", ISSUER),
            ("STYR_JWT_AUDIENCE", AUDIENCE),
        ],
    )
    .await;
    let rotated = rs256_with_key("rsa2.der", "test-rsa-2", &claims());
    // The identity provider publishes its new key; the server re-reads the set when a token
    // names a key it does not hold.
    std::fs::copy(fixture("jwks-rotated.json"), &path).unwrap();
    assert_accepted(&app, &rotated).await;
    assert_accepted(&app, &rs256("test-rsa-1", &claims())).await;
    std::fs::remove_dir_all(dir).unwrap();
}

/// A stand-in identity provider: serves whatever JWKS document the test puts in it, from its
/// own thread (the server under test fetches synchronously while verifying a token).
fn jwks_endpoint(document: std::sync::Arc<std::sync::Mutex<String>>) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            actix_web::HttpServer::new(move || {
                let document = document.clone();
                actix_web::App::new().route(
                    "/jwks",
                    actix_web::web::get().to(move || {
                        let body = document.lock().unwrap().clone();
                        async move {
                            actix_web::HttpResponse::Ok()
                                .content_type("application/json")
                                .body(body)
                        }
                    }),
                )
            })
            .workers(1)
            .disable_signals()
            .listen(listener)
            .unwrap()
            .run()
            .await
        })
    });
    format!("http://127.0.0.1:{port}/jwks")
}

async fn a_jwks_served_by_url_is_fetched_and_refreshed(kind: BackendKind) {
    let document = std::sync::Arc::new(std::sync::Mutex::new(
        String::from_utf8(read("jwks.json")).unwrap(),
    ));
    let url = jwks_endpoint(document.clone());
    let app = spawn_app_with(
        kind,
        &[
            ("STYR_JWKS", &url),
            ("STYR_JWT_ISSUER", ISSUER),
            ("STYR_JWT_AUDIENCE", AUDIENCE),
        ],
    )
    .await;
    assert_accepted(&app, &rs256("test-rsa-1", &claims())).await;
    // The provider rotates in a new key; a token naming it makes the server fetch again.
    *document.lock().unwrap() = String::from_utf8(read("jwks-rotated.json")).unwrap();
    assert_accepted(&app, &rs256_with_key("rsa2.der", "test-rsa-2", &claims())).await;
    // Unreachable at start-up: the server does not start, and says why.
    let settings = styr::Settings::from_sources(&std::collections::BTreeMap::from([
        ("STYR_DATABASE_URL".to_owned(), app.db.url().to_owned()),
        ("STYR_LISTEN".to_owned(), "127.0.0.1:0".to_owned()),
        ("STYR_JWKS".to_owned(), "http://127.0.0.1:9/jwks".to_owned()),
    ]))
    .unwrap();
    let err = styr::Application::build(&settings)
        .await
        .err()
        .expect("refuses to start");
    assert!(err.to_string().contains("JWKS"), "{err}");
}

async fn an_unknown_role_is_refused(kind: BackendKind) {
    let app = idp_app(kind, &[]).await;
    for role in ["boss", "Agency", ""] {
        let claims = with(claims(), "role", json!(role));
        assert_refused(&app, &format!("Bearer {}", rs256("test-rsa-1", &claims))).await;
    }
    // Claims the domain cannot represent fail the same way.
    let bad_org = with(claims(), "org", json!("not a code"));
    assert_refused(&app, &format!("Bearer {}", rs256("test-rsa-1", &bad_org))).await;
    let no_role = without(claims(), "role");
    assert_refused(&app, &format!("Bearer {}", rs256("test-rsa-1", &no_role))).await;
}

async fn garbage_is_refused(kind: BackendKind) {
    let app = spawn_app(kind).await;
    for value in [
        "Bearer not-a-jwt",
        "Bearer a.b.c",
        "Bearer ",
        "Bearer",
        "Bearer ....",
        "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0",
        "Bearer eyJ9.eyJ9.eyJ9",
    ] {
        assert_refused(&app, value).await;
    }
}

async fn a_scheme_other_than_bearer_is_refused(kind: BackendKind) {
    let app = spawn_app(kind).await;
    let token = app.token("agency", "DMP");
    assert_refused(&app, "Basic dXNlcjpwYXNzd29yZA==").await;
    assert_refused(&app, &format!("Token {token}")).await;
    assert_refused(&app, &token).await;
}

async fn anonymous_requests_and_probes_need_no_token(kind: BackendKind) {
    let app = idp_app(kind, &[]).await;
    let res = app
        .post_graphql(json!({ "query": "{ __typename }" }).to_string(), None)
        .await;
    assert_eq!(res.body["data"]["__typename"], "Query", "{res:?}");
    let res = app
        .post_graphql(json!({ "query": ME }).to_string(), None)
        .await;
    assert_eq!(res.status, 200, "resolvers decide what needs a caller");
    assert_eq!(
        res.body["errors"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );
    for path in ["/healthz", "/readyz", "/metrics"] {
        let res = app
            .client
            .get(format!("{}{path}", app.address))
            .insert_header(("Authorization", "Bearer garbage"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200, "{path} ignores tokens");
    }
}

async fn websocket_connections_check_the_token(kind: BackendKind) {
    let app = spawn_app(kind).await;
    let connect = || async {
        app.client
            .ws(format!("ws://127.0.0.1:{}/graphql/ws", app.port))
            .protocols(["graphql-transport-ws"])
            .connect()
            .await
            .expect("websocket upgrade")
            .1
    };
    let send = |v: Value| awc::ws::Message::Text(v.to_string().into());
    // A good token in the init payload: acknowledged, and the identity is there.
    let mut ws = connect().await;
    let token = app.token("agency", "DMP");
    ws.send(send(json!({
        "type": "connection_init",
        "payload": { "Authorization": format!("Bearer {token}") }
    })))
    .await
    .unwrap();
    assert_eq!(next_frame(&mut ws).await["type"], "connection_ack");
    ws.send(send(json!({
        "id": "1", "type": "subscribe", "payload": { "query": ME }
    })))
    .await
    .unwrap();
    let msg = next_frame(&mut ws).await;
    assert_eq!(msg["payload"]["data"]["me"]["organisation"], "DMP", "{msg}");
    // A bad one: the connection is closed without an ack.
    let mut ws = connect().await;
    ws.send(send(json!({
        "type": "connection_init",
        "payload": { "Authorization": "Bearer not-a-jwt" }
    })))
    .await
    .unwrap();
    let closed = next_frame(&mut ws).await;
    assert_eq!(closed["closed"], true, "{closed}");
    // A bad Authorization header on the upgrade is refused before upgrading.
    let res = app
        .client
        .ws(format!("ws://127.0.0.1:{}/graphql/ws", app.port))
        .protocols(["graphql-transport-ws"])
        .header("Authorization", "Bearer not-a-jwt")
        .connect()
        .await;
    match res {
        Err(awc::error::WsClientError::InvalidResponseStatus(status)) => {
            assert_eq!(status.as_u16(), 401)
        }
        other => panic!("expected 401, got {:?}", other.map(|_| ())),
    }
}

/// The next text frame as JSON, or `{"closed": true, "code": …}` for a close frame.
async fn next_frame(ws: &mut actix_codec::Framed<awc::BoxedSocket, awc::ws::Codec>) -> Value {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a message within 10 s");
        match frame {
            None => return json!({ "closed": true }),
            Some(Ok(awc::ws::Frame::Text(t))) => return serde_json::from_slice(&t).unwrap(),
            Some(Ok(awc::ws::Frame::Close(reason))) => {
                return json!({ "closed": true, "code": reason.map(|r| u16::from(r.code)) });
            }
            Some(Ok(awc::ws::Frame::Ping(_) | awc::ws::Frame::Pong(_))) => continue,
            Some(other) => panic!("unexpected frame {other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Abuse limits

fn assert_limit(res: &RawResponse, limit: &str, status: u16, message_part: &str) {
    assert_eq!(res.status, status, "{res:?}");
    let error = &res.body["errors"][0];
    assert_eq!(error["extensions"]["code"], "LIMIT_EXCEEDED", "{res:?}");
    assert_eq!(error["extensions"]["limit"], limit, "{res:?}");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains(message_part), "{message}");
    assert!(res.body.get("data").is_none_or(Value::is_null), "{res:?}");
}

async fn post(app: &TestApp, query: &str) -> RawResponse {
    app.post_graphql(json!({ "query": query }).to_string(), None)
        .await
}

fn aliases(n: usize, field: &str) -> String {
    let fields: Vec<String> = (0..n).map(|i| format!("a{i}: {field}")).collect();
    format!("{{ {} }}", fields.join(" "))
}

async fn query_depth_is_limited(kind: BackendKind) {
    let app = spawn_app_with(kind, &[("STYR_MAX_QUERY_DEPTH", "1")]).await;
    let res = post(&app, "{ version }").await;
    assert_eq!(res.body["data"]["version"], env!("CARGO_PKG_VERSION"));
    let res = post(&app, "{ health { status } }").await;
    assert_limit(&res, "depth", 200, "deeper than 1 level");
    // The default allows it.
    let app = spawn_app(kind).await;
    let res = post(&app, "{ health { status } }").await;
    assert_eq!(res.body["data"]["health"]["status"], "ok", "{res:?}");
}

async fn query_complexity_is_limited(kind: BackendKind) {
    let app = spawn_app_with(kind, &[("STYR_MAX_QUERY_COMPLEXITY", "3")]).await;
    let res = post(&app, &aliases(3, "version")).await;
    assert_eq!(res.body["data"]["a2"], env!("CARGO_PKG_VERSION"), "{res:?}");
    let res = post(&app, &aliases(4, "version")).await;
    assert_limit(&res, "complexity", 200, "limit of 3");
}

async fn aliases_are_limited(kind: BackendKind) {
    let app = spawn_app(kind).await;
    let res = post(&app, &aliases(50, "version")).await;
    assert_eq!(
        res.body["data"]["a49"],
        env!("CARGO_PKG_VERSION"),
        "{res:?}"
    );
    let res = post(&app, &aliases(51, "version")).await;
    assert_limit(&res, "aliases", 200, "51 aliases; at most 50");
    // Aliases hidden in a fragment count too.
    let app = spawn_app_with(kind, &[("STYR_MAX_QUERY_ALIASES", "2")]).await;
    let res = post(
        &app,
        "query { x: version ...F } fragment F on Query { y: version z: version }",
    )
    .await;
    assert_limit(&res, "aliases", 200, "3 aliases; at most 2");
}

async fn the_request_body_size_is_limited(kind: BackendKind) {
    let app = spawn_app_with(kind, &[("STYR_MAX_BODY_BYTES", "2048")]).await;
    let padded = |n: usize| json!({ "query": format!("{{ version }}{}", " ".repeat(n)) });
    let res = app.post_graphql(padded(1_500).to_string(), None).await;
    assert_eq!(res.body["data"]["version"], env!("CARGO_PKG_VERSION"));
    let res = app.post_graphql(padded(3_000).to_string(), None).await;
    assert_limit(&res, "body", 413, "larger than the limit of 2048 bytes");
    // Without a declared length (chunked), the limit holds while reading.
    let body = padded(3_000).to_string();
    let chunks = futures_util::stream::iter(
        body.into_bytes()
            .chunks(500)
            .map(|c| Ok::<_, std::io::Error>(actix_web::web::Bytes::copy_from_slice(c)))
            .collect::<Vec<_>>(),
    );
    let mut res = app
        .client
        .post(format!("{}/graphql", app.address))
        .insert_header(("content-type", "application/json"))
        .send_stream(chunks)
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 413);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["limit"], "body", "{body}");
    // The default is 1 MiB.
    let app = spawn_app(kind).await;
    let res = app.post_graphql(padded(1 << 20).to_string(), None).await;
    assert_limit(&res, "body", 413, "1048576 bytes");
}

async fn batches_are_served_and_their_length_limited(kind: BackendKind) {
    let app = spawn_app(kind).await;
    let batch = |n: usize| {
        Value::Array((0..n).map(|_| json!({ "query": "{ version }" })).collect()).to_string()
    };
    let res = app.post_graphql(batch(2), None).await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.body[1]["data"]["version"],
        env!("CARGO_PKG_VERSION"),
        "{res:?}"
    );
    let res = app.post_graphql(batch(10), None).await;
    assert_eq!(res.body.as_array().map(Vec::len), Some(10), "{res:?}");
    let res = app.post_graphql(batch(11), None).await;
    assert_limit(
        &res,
        "batch",
        400,
        "holds 11 operations; it must hold from 1 to 10",
    );
    let res = app.post_graphql(batch(0), None).await;
    assert_limit(&res, "batch", 400, "holds 0 operations");
    // Each operation in a batch is authenticated by the one header.
    let token = app.token("agency", "DMP");
    let res = app
        .post_graphql(
            json!([{ "query": ME }, { "query": ME }]).to_string(),
            Some(&format!("Bearer {token}")),
        )
        .await;
    assert_eq!(res.body[1]["data"]["me"]["organisation"], "DMP", "{res:?}");
    let app = spawn_app_with(kind, &[("STYR_MAX_BATCH", "1")]).await;
    let res = app.post_graphql(batch(2), None).await;
    assert_limit(&res, "batch", 400, "from 1 to 1");
}

async fn introspection_is_off_unless_in_development(kind: BackendKind) {
    let query = "{ __schema { queryType { name } } }";
    let app = spawn_app(kind).await;
    let res = post(&app, query).await;
    assert_limit(&res, "introspection", 200, "turned off");
    let res = post(&app, "{ __type(name: \"Query\") { name } }").await;
    assert_limit(&res, "introspection", 200, "turned off");
    let res = post(&app, "{ __typename }").await;
    assert_eq!(res.body["data"]["__typename"], "Query");
    let dev = spawn_app_with(kind, &[("STYR_DEV", "true")]).await;
    let res = post(&dev, query).await;
    assert_eq!(
        res.body["data"]["__schema"]["queryType"]["name"], "Query",
        "{res:?}"
    );
}

async fn slow_requests_time_out(kind: BackendKind) {
    // Thousands of fields that each ask the database twice: seconds of work in a debug build,
    // so a 1 s timeout must cut it short. Parsing and validating the document cannot be
    // interrupted, so it is kept small (a fraction of a second when the machine is quiet, a
    // few seconds when other tests load it).
    let n = 8_000;
    let n_text = n.to_string();
    let app = spawn_app_with(
        kind,
        &[
            ("STYR_REQUEST_TIMEOUT_SECS", "1"),
            ("STYR_MAX_QUERY_ALIASES", &n_text),
            ("STYR_MAX_QUERY_COMPLEXITY", "1000000"),
            ("STYR_MAX_BODY_BYTES", "10485760"),
        ],
    )
    .await;
    let started = std::time::Instant::now();
    let res = post(&app, &aliases(n, "health { status logPosition }")).await;
    let elapsed = started.elapsed();
    assert_eq!(res.status, 200, "{:?}", res.status);
    assert_eq!(
        res.body["errors"][0]["extensions"]["code"],
        "TIMEOUT",
        "{}",
        &res.body.to_string()[..200.min(res.body.to_string().len())]
    );
    assert!(
        elapsed < Duration::from_secs(10),
        "stopped at the timeout, not when done: {elapsed:?}"
    );
    // The server is still serving.
    let res = post(&app, "{ version }").await;
    assert_eq!(res.body["data"]["version"], env!("CARGO_PKG_VERSION"));
}
