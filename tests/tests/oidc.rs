//! Sign-in through an OpenID Connect provider, over real HTTP on SQLite and PostgreSQL. The
//! provider is a fake started inside each test (discovery, JWKS, an authorization endpoint
//! that signs the user straight in or refuses, and a token endpoint that checks the client's
//! secret, the single-use code, the redirect URI and the PKCE verifier), signing ID tokens with
//! the fixed test keys in `services/server/tests/fixtures`.
//!
//! The round trip: `/login` → provider → `/auth/callback` → the board as the provider's user,
//! with the same scoping as the API and a session that is not a bearer token; then sign-out.
//! The refusals — wrong state, no flow cookie, a denial at the provider, a failed exchange, a
//! wrong nonce, an expired or mis-signed ID token — each end on their error page with no
//! session.

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::Mutex;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use sha2::Digest;
use styr_eventstore::BackendKind;
use styr_tests::web::{Browser, Page as Response};
use styr_tests::{TestApp, spawn_app_with};

styr_tests::on_both_kinds!(
    a_user_signs_in_through_the_provider_and_out_again,
    an_answer_with_another_state_or_without_the_flow_cookie_is_refused,
    a_denial_at_the_provider_is_shown_and_signs_nobody_in,
    a_failed_code_exchange_signs_nobody_in,
    an_id_token_with_another_nonce_is_refused,
    an_expired_id_token_is_refused,
    a_mis_signed_id_token_is_refused,
    an_id_token_without_a_role_is_refused,
    in_development_the_picker_offers_the_provider_too,
);

const CLIENT_ID: &str = "styr-web";
const CLIENT_SECRET: &str = "a client secret with spaces & symbols";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(styr_tests::fixture(name)).unwrap()
}

/// What the fake provider puts in (or does with) the next ID token.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Answer {
    Good,
    /// The user refuses at the provider.
    Deny,
    /// The token endpoint refuses the code.
    TokenError,
    WrongNonce,
    Expired,
    /// Signed with a key not in the JWKS, under the published key's id.
    MisSigned,
    /// No `role` claim: an identity the server cannot map.
    NoRole,
}

struct Grant {
    challenge: String,
    nonce: String,
    redirect_uri: String,
}

struct IdpState {
    base: String,
    answer: Answer,
    codes: HashMap<String, Grant>,
    /// Codes exchanged successfully.
    exchanged: usize,
}

type Shared = web::Data<Mutex<IdpState>>;

struct Idp {
    base: String,
    state: Shared,
    handle: ServerHandle,
}

impl Idp {
    async fn start() -> Idp {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let state = web::Data::new(Mutex::new(IdpState {
            base: base.clone(),
            answer: Answer::Good,
            codes: HashMap::new(),
            exchanged: 0,
        }));
        let for_app = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(for_app.clone())
                .route(
                    "/.well-known/openid-configuration",
                    web::get().to(discovery),
                )
                .route("/jwks", web::get().to(jwks))
                .route("/authorize", web::get().to(authorize))
                .route("/token", web::post().to(token))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Idp {
            base,
            state,
            handle,
        }
    }

    fn answer(&self, answer: Answer) {
        self.state.lock().unwrap().answer = answer;
    }

    fn exchanged(&self) -> usize {
        self.state.lock().unwrap().exchanged
    }
}

async fn discovery(state: Shared) -> HttpResponse {
    let base = state.lock().unwrap().base.clone();
    HttpResponse::Ok().json(json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "jwks_uri": format!("{base}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        "code_challenge_methods_supported": ["S256"],
    }))
}

async fn jwks() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(fixture("jwks.json"))
}

/// Signs the user straight in (or refuses, as told) and sends the browser back.
async fn authorize(state: Shared, q: web::Query<HashMap<String, String>>) -> HttpResponse {
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    let redirect_uri = get("redirect_uri");
    let ok = get("response_type") == "code"
        && get("client_id") == CLIENT_ID
        && get("code_challenge_method") == "S256"
        && get("code_challenge").len() == 43
        && get("scope").split(' ').any(|s| s == "openid")
        && !get("nonce").is_empty()
        && redirect_uri.ends_with("/auth/callback");
    if !ok {
        return HttpResponse::BadRequest().body(format!("bad authorization request: {q:?}"));
    }
    let mut s = state.lock().unwrap();
    let back = if s.answer == Answer::Deny {
        serde_urlencoded::to_string([
            ("error", "access_denied"),
            ("error_description", "The user said no"),
            ("state", &get("state")),
        ])
        .unwrap()
    } else {
        let code = uuid::Uuid::new_v4().to_string();
        s.codes.insert(
            code.clone(),
            Grant {
                challenge: get("code_challenge"),
                nonce: get("nonce"),
                redirect_uri: redirect_uri.clone(),
            },
        );
        serde_urlencoded::to_string([("code", code.as_str()), ("state", &get("state"))]).unwrap()
    };
    HttpResponse::Found()
        .insert_header(("Location", format!("{redirect_uri}?{back}")))
        .finish()
}

/// The token endpoint: client authentication, a single-use code, the same redirect URI, and
/// the PKCE verifier whose S256 is the challenge of the authorization request.
async fn token(
    state: Shared,
    req: HttpRequest,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let refuse = |error: &str| HttpResponse::BadRequest().json(json!({ "error": error }));
    let encode = |s: &str| {
        serde_urlencoded::to_string([("", s)])
            .unwrap()
            .trim_start_matches('=')
            .to_owned()
    };
    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", encode(CLIENT_ID), encode(CLIENT_SECRET)))
    );
    if req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        != Some(basic.as_str())
    {
        return HttpResponse::Unauthorized().json(json!({ "error": "invalid_client" }));
    }
    let mut s = state.lock().unwrap();
    if s.answer == Answer::TokenError {
        return refuse("invalid_grant");
    }
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    if get("grant_type") != "authorization_code" {
        return refuse("unsupported_grant_type");
    }
    let Some(grant) = s.codes.remove(&get("code")) else {
        return refuse("invalid_grant");
    };
    let challenge = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(get("code_verifier").as_bytes()));
    if challenge != grant.challenge || get("redirect_uri") != grant.redirect_uri {
        return refuse("invalid_grant");
    }
    s.exchanged += 1;
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({
        "iss": s.base, "aud": CLIENT_ID, "sub": "kari-dmp-0042", "name": "Kari Nordmann (DMP)",
        "role": "agency", "org": "DMP", "iat": now, "exp": now + 300, "nonce": grant.nonce,
    });
    let mut key = EncodingKey::from_rsa_der(&fixture("rsa1.der"));
    match s.answer {
        Answer::WrongNonce => claims["nonce"] = json!("a nonce from another sign-in"),
        Answer::Expired => {
            claims["iat"] = json!(now - 7200);
            claims["exp"] = json!(now - 3600);
        }
        Answer::MisSigned => key = EncodingKey::from_rsa_der(&fixture("rsa2.der")),
        Answer::NoRole => {
            claims.as_object_mut().unwrap().remove("role");
        }
        Answer::Good | Answer::Deny | Answer::TokenError => {}
    }
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("test-rsa-1".into());
    let id_token = jsonwebtoken::encode(&header, &claims, &key).unwrap();
    HttpResponse::Ok().json(json!({
        "access_token": "opaque", "token_type": "Bearer", "expires_in": 300, "id_token": id_token,
    }))
}

/// The server, configured for the fake provider (not in development mode: no picker).
async fn app_with(kind: BackendKind, idp: &Idp) -> TestApp {
    app_with_extra(kind, idp, &[]).await
}

async fn app_with_extra(kind: BackendKind, idp: &Idp, extra: &[(&str, &str)]) -> TestApp {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let redirect = format!("http://127.0.0.1:{port}/auth/callback");
    let mut settings = vec![
        ("STYR_LISTEN", listen.as_str()),
        ("STYR_OIDC_ISSUER", &idp.base),
        ("STYR_OIDC_CLIENT_ID", CLIENT_ID),
        ("STYR_OIDC_CLIENT_SECRET", CLIENT_SECRET),
        ("STYR_OIDC_REDIRECT_URL", &redirect),
    ];
    settings.extend_from_slice(extra);
    spawn_app_with(kind, &settings).await
}

/// What the sign-in through the provider asks of the browser.
trait AtProvider {
    async fn visit_provider(&mut self, idp: &Idp) -> (HashMap<String, String>, String);
    async fn assert_signed_out(&mut self);
}

impl AtProvider for Browser<'_> {
    /// `/login` and the provider: returns the authorization request's parameters and the URL
    /// the provider sends the browser back to.
    async fn visit_provider(&mut self, idp: &Idp) -> (HashMap<String, String>, String) {
        let login = self.get("/login").await;
        assert_eq!(login.status, 303, "{}", login.body);
        let to_idp = login.location.clone().expect("a redirect to the provider");
        assert!(
            to_idp.starts_with(&format!("{}/authorize?", idp.base)),
            "{to_idp}"
        );
        let flow = login.set_cookie("styr_oidc").expect("a flow cookie");
        for attribute in ["HttpOnly", "Secure", "SameSite=Lax"] {
            assert!(flow.contains(attribute), "{attribute} missing: {flow}");
        }
        let params: HashMap<String, String> =
            serde_urlencoded::from_str(to_idp.split_once('?').unwrap().1).unwrap();
        let at_idp = self.get(&to_idp).await;
        assert_eq!(at_idp.status, 302, "{}", at_idp.body);
        (params, at_idp.location.expect("back to the server"))
    }

    /// Not signed in: the board sends to the sign-in page.
    async fn assert_signed_out(&mut self) {
        assert!(
            !self.cookies.contains_key("styr_session"),
            "{:?}",
            self.cookies
        );
        let board = self.get("/").await;
        assert_eq!(
            (board.status, board.location.as_deref()),
            (303, Some("/login"))
        );
    }
}

async fn issue(app: &TestApp, agency: &str, reference: &str, title: &str) -> String {
    styr_tests::issue_assignment(
        app,
        json!({
            "reference": reference, "ministry": "HOD", "agency": agency, "year": 2024,
            "department": "FHA", "title": title, "description": "Utrede og foreslå regulering",
            "parts": [ { "label": "a", "deadline": "2024-03-01" } ]
        }),
    )
    .await
}

async fn a_user_signs_in_through_the_provider_and_out_again(kind: BackendKind) {
    let idp = Idp::start().await;
    let app = app_with(kind, &idp).await;
    let ours = issue(
        &app,
        "DMP",
        "TB2024-12",
        "Nasjonal strategi for legemiddelberedskap",
    )
    .await;
    let theirs = issue(
        &app,
        "FHI",
        "TB2024-30",
        "Ventetider i spesialisthelsetjenesten",
    )
    .await;
    let mut browser = Browser::new(&app);

    let (params, back) = browser.visit_provider(&idp).await;
    assert_eq!(params["response_type"], "code");
    assert_eq!(params["client_id"], CLIENT_ID);
    assert_eq!(
        params["redirect_uri"],
        format!("{}/auth/callback", app.address)
    );
    assert_eq!(params["scope"], "openid profile");
    assert_eq!(params["code_challenge_method"], "S256");
    assert_eq!(params["code_challenge"].len(), 43);
    assert!(params["state"].len() >= 43 && params["nonce"].len() >= 43);
    assert_ne!(params["state"], params["nonce"]);
    assert!(!params.contains_key("code_verifier"));

    let callback = browser.get(&back).await;
    assert_eq!(
        (callback.status, callback.location.as_deref()),
        (303, Some("/")),
        "{}",
        callback.body
    );
    assert_eq!(idp.exchanged(), 1);
    let session = callback.set_cookie("styr_session").expect("a session");
    for attribute in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(
            session.contains(attribute),
            "{attribute} missing: {session}"
        );
    }
    let flow = callback
        .set_cookie("styr_oidc")
        .expect("the flow cookie cleared");
    assert!(flow.contains("Max-Age=0"), "{flow}");

    // The board as the provider's user, scoped as the API scopes an agency.
    let board = browser.get("/").await;
    assert_eq!(board.status, 200, "{}", board.body);
    board.assert_has("Kari Nordmann (DMP)");
    assert!(
        board
            .body
            .contains("Nasjonal strategi for legemiddelberedskap")
    );
    board.assert_lacks("Ventetider");
    assert_eq!(
        browser.get(&format!("/assignments/{ours}")).await.status,
        200
    );
    assert_eq!(
        browser.get(&format!("/assignments/{theirs}")).await.status,
        404
    );

    // The session cookie is the pages' alone: it is not a bearer token for the API.
    let token = browser.cookies["styr_session"].clone();
    let api = app
        .post_graphql(
            r#"{"query":"{ __typename }"}"#,
            Some(&format!("Bearer {token}")),
        )
        .await;
    assert_eq!(api.status, 401);

    // The provider's answer replayed finds no flow (it was used once) and exchanges nothing;
    // nor does it touch the session, as a link from anywhere must not sign anyone out.
    let replay = browser.get(&back).await;
    assert_eq!(replay.status, 400, "{}", replay.body);
    assert!(replay.body.contains(r#"id="signin-no_flow""#));
    assert!(replay.set_cookie("styr_session").is_none());
    assert_eq!(idp.exchanged(), 1);
    let forged = browser.get("/auth/callback?error=access_denied").await;
    assert_eq!(forged.status, 403);
    assert!(forged.set_cookie("styr_session").is_none());
    assert_eq!(browser.get("/").await.status, 200);

    // Signing out clears the session.
    let csrf = browser.cookies["styr_csrf"].clone();
    let out = browser.post("/logout", &[("csrf", &csrf)], false).await;
    assert_eq!(out.status, 303);
    let cleared = out.set_cookie("styr_session").expect("the session cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    browser.assert_signed_out().await;

    idp.handle.stop(true).await;
    app.stop().await;
}

/// Asserts a refused callback: the status, the error shown, nobody signed in afterwards.
async fn assert_refused(browser: &mut Browser<'_>, callback: Response, status: u16, id: &str) {
    assert_eq!(callback.status, status, "{}", callback.body);
    callback.assert_has(&format!(r#"id="signin-{id}""#));
    assert!(!callback.body.contains("Kari Nordmann"));
    assert!(!callback.sets_session(), "{:?}", callback.set_cookies);
    browser.assert_signed_out().await;
}

async fn an_answer_with_another_state_or_without_the_flow_cookie_is_refused(kind: BackendKind) {
    let idp = Idp::start().await;
    let app = app_with(kind, &idp).await;
    let mut browser = Browser::new(&app);
    let (params, back) = browser.visit_provider(&idp).await;
    // An attacker's answer (their code, their state) planted on this browser.
    let forged = back.replace(&params["state"], "another-browsers-state");
    assert_ne!(forged, back);
    let refused = browser.get(&forged).await;
    assert_refused(&mut browser, refused, 400, "wrong_state").await;
    assert_eq!(idp.exchanged(), 0, "nothing is exchanged on a wrong state");

    // A sign-in started while signed in ends the old session when it fails.
    let (_, back) = browser.visit_provider(&idp).await;
    assert_eq!(browser.get(&back).await.status, 303);
    assert_eq!(browser.get("/").await.status, 200);
    let (params, back) = browser.visit_provider(&idp).await;
    let refused = browser
        .get(&back.replace(&params["state"], "another-browsers-state"))
        .await;
    assert_refused(&mut browser, refused, 400, "wrong_state").await;
    assert_eq!(idp.exchanged(), 1);

    // The genuine answer taken to another browser (no flow cookie) is refused as well.
    let (_, back) = browser.visit_provider(&idp).await;
    let mut other = Browser::new(&app);
    let refused = other.get(&back).await;
    assert_refused(&mut other, refused, 400, "no_flow").await;
    assert_eq!(idp.exchanged(), 1);
    idp.handle.stop(true).await;
    app.stop().await;
}

async fn a_denial_at_the_provider_is_shown_and_signs_nobody_in(kind: BackendKind) {
    let idp = Idp::start().await;
    let app = app_with(kind, &idp).await;
    idp.answer(Answer::Deny);
    let mut browser = Browser::new(&app);
    let (_, back) = browser.visit_provider(&idp).await;
    assert!(back.contains("error=access_denied"), "{back}");
    let refused = browser.get(&back).await;
    assert_refused(&mut browser, refused, 403, "denied").await;

    // Another error code is named on the page; markup in the parameter is not echoed.
    let mut browser = Browser::new(&app);
    let refused = browser
        .get("/auth/callback?error=%3Cscript%3Ex%3C%2Fscript%3E&state=x")
        .await;
    assert!(!refused.body.contains("<script>"));
    assert_refused(&mut browser, refused, 502, "provider").await;
    let mut browser = Browser::new(&app);
    let refused = browser
        .get("/auth/callback?error=temporarily_unavailable")
        .await;
    assert!(
        refused
            .body
            .contains("<code>temporarily_unavailable</code>")
    );
    assert_refused(&mut browser, refused, 502, "provider").await;
    idp.handle.stop(true).await;
    app.stop().await;
}

async fn a_failed_code_exchange_signs_nobody_in(kind: BackendKind) {
    let idp = Idp::start().await;
    let app = app_with(kind, &idp).await;
    idp.answer(Answer::TokenError);
    let mut browser = Browser::new(&app);
    let (_, back) = browser.visit_provider(&idp).await;
    let refused = browser.get(&back).await;
    assert_refused(&mut browser, refused, 502, "exchange").await;
    idp.handle.stop(true).await;
    app.stop().await;
}

/// A sign-in whose ID token the provider spoils as `answer` says.
async fn refused_id_token(kind: BackendKind, answer: Answer) {
    let idp = Idp::start().await;
    let app = app_with(kind, &idp).await;
    idp.answer(answer);
    let mut browser = Browser::new(&app);
    let (_, back) = browser.visit_provider(&idp).await;
    let refused = browser.get(&back).await;
    assert_eq!(idp.exchanged(), 1, "{answer:?}: the code was exchanged");
    assert_refused(&mut browser, refused, 403, "id_token").await;

    // The same provider's good token still signs in: the refusal was the token's fault.
    idp.answer(Answer::Good);
    let (_, back) = browser.visit_provider(&idp).await;
    let ok = browser.get(&back).await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert!(ok.sets_session());
    idp.handle.stop(true).await;
    app.stop().await;
}

async fn an_id_token_with_another_nonce_is_refused(kind: BackendKind) {
    refused_id_token(kind, Answer::WrongNonce).await;
}

async fn an_expired_id_token_is_refused(kind: BackendKind) {
    refused_id_token(kind, Answer::Expired).await;
}

async fn a_mis_signed_id_token_is_refused(kind: BackendKind) {
    refused_id_token(kind, Answer::MisSigned).await;
}

async fn an_id_token_without_a_role_is_refused(kind: BackendKind) {
    refused_id_token(kind, Answer::NoRole).await;
}

async fn in_development_the_picker_offers_the_provider_too(kind: BackendKind) {
    let idp = Idp::start().await;
    let app = app_with_extra(kind, &idp, &[("STYR_DEV", "true")]).await;
    let mut browser = Browser::new(&app);
    let login = browser.get("/login").await;
    assert_eq!(login.status, 200);
    assert_eq!(login.body.matches(r#"name="identity""#).count(), 3);
    login.assert_has(r#"href="/login/oidc""#);
    let start = browser.get("/login/oidc").await;
    assert_eq!(start.status, 303);
    let to_idp = start.location.unwrap();
    assert!(to_idp.starts_with(&format!("{}/authorize?", idp.base)));
    let back = browser.get(&to_idp).await.location.unwrap();
    let callback = browser.get(&back).await;
    assert_eq!(callback.status, 303, "{}", callback.body);
    assert!(browser.get("/").await.body.contains("Kari Nordmann (DMP)"));
    idp.handle.stop(true).await;
    app.stop().await;
}
