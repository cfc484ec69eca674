//! Web pages served by the server itself: server-rendered HTML (maud), no script needed. The
//! pages run GraphQL documents against the same schema in-process with the actor built from the
//! session exactly as `/graphql` builds it from a bearer token, so they can show and do nothing
//! a role could not through the API.
//!
//! The session is a cookie holding a signed token: a server-signed session after sign-in through
//! the identity provider (`oidc.rs`), or a development token from the picker. Every
//! state-changing form carries a CSRF token that must match a second cookie (double submit).

mod i18n;
mod layout;
mod new_assignment;
mod oidc;
mod pages;
// The pages of issue 9 beyond the board and the assignment; their words are in `words.rs`.
mod audit_pages;
mod calendar;
mod deviations;
mod drafting;
mod forms;
mod letters;
mod pdf;
mod reports;
mod words;

use actix_web::cookie::{Cookie, SameSite, time};
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use async_graphql::{Executor, Request, Variables};
use maud::{Markup, html};
use serde_json::Value;
use std::collections::HashMap;

use super::{AppState, Identity, identify, identity_of};
pub use i18n::Lang;

pub const SESSION_COOKIE: &str = "styr_session";
pub const CSRF_COOKIE: &str = "styr_csrf";
pub const LANG_COOKIE: &str = "styr_lang";
/// The name of the hidden CSRF field in every form.
pub const CSRF_FIELD: &str = "csrf";
/// How long a development sign-in lasts.
const SESSION_HOURS: u64 = 8;

const CSS: &str = include_str!("styr.css");

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(pages::board))
        .route("/login", web::get().to(login_page))
        .route("/login", web::post().to(login))
        .route("/logout", web::post().to(logout))
        .route("/login/oidc", web::get().to(oidc::start))
        .route("/auth/callback", web::get().to(oidc::callback))
        .route("/static/styr.css", web::get().to(css))
        // Before `/assignments/{id}`, which would take "new" for an id.
        .route("/assignments/new", web::get().to(new_assignment::form))
        .route("/assignments/new", web::post().to(new_assignment::issue))
        .route("/assignments/{id}", web::get().to(pages::assignment))
        .route(
            "/assignments/{id}/{action}",
            web::post().to(pages::assignment_action),
        )
        .route("/audit/assignments/{id}", web::get().to(pages::audit));
    more_routes(cfg);
}

/// The letter (and its drafting), supplement, import, calendar, deviation, audit and report
/// pages.
fn more_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/letters", web::get().to(letters::list))
        .route("/letters", web::post().to(drafting::draft_letter))
        // Before `/letters/{id}`, which would take `new` for an id.
        .route("/letters/new", web::get().to(drafting::new_letter))
        .route("/letters/{id}", web::get().to(letters::letter))
        .route(
            "/letters/{id}/items/{action}",
            web::post().to(drafting::item_action),
        )
        .route(
            "/letters/{id}/supplements",
            web::post().to(letters::draft_supplement),
        )
        .route("/letters/{id}/issue", web::post().to(letters::issue_letter))
        .route("/letters/{id}/appendix", web::get().to(reports::appendix))
        .route("/letters/{id}/tertial", web::get().to(reports::tertial))
        .route("/supplements/{id}", web::get().to(letters::supplement))
        .route(
            "/supplements/{id}/{action}",
            web::post().to(letters::supplement_action),
        )
        .service(
            // A whole letter's text, percent-encoded, is far beyond the default form limit.
            web::resource("/import")
                .app_data(web::FormConfig::default().limit(letters::IMPORT_FORM_LIMIT))
                .route(web::get().to(letters::import_form))
                .route(web::post().to(letters::import)),
        )
        .route("/calendar", web::get().to(calendar::calendar))
        .route("/calendar", web::post().to(calendar::schedule))
        .route("/calendar/{id}", web::get().to(calendar::item))
        .route("/calendar/{id}/{action}", web::post().to(calendar::act))
        .route("/deviations", web::get().to(deviations::list))
        .route("/deviations", web::post().to(deviations::report))
        .route("/deviations/{id}/{step}", web::post().to(deviations::step))
        .route("/audit", web::get().to(audit_pages::overview))
        .route("/audit/letters/{id}", web::get().to(audit_pages::letter))
        .route(
            "/audit/assignments/{id}/diff",
            web::get().to(audit_pages::assignment_diff),
        );
}

async fn css() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(CSS)
}

/// What every page knows about the request: language, who is signed in, the CSRF token, and
/// cookies to set on the way out.
pub struct Page {
    pub lang: Lang,
    pub identity: Option<Identity>,
    pub csrf: String,
    /// The page's path and query without `lang`, ending in `?` or `&`: append `lang=…`.
    pub path: String,
    cookies: Vec<Cookie<'static>>,
    secure: bool,
}

impl Page {
    /// Reads the language (`?lang=` then the cookie), the session and the CSRF cookie.
    /// An invalid or expired session is dropped (and its cookie cleared).
    pub fn of(req: &HttpRequest, state: &AppState) -> Page {
        let secure = secure_cookies(req, state.dev);
        let mut cookies = Vec::new();
        let from_query = query_map(req.query_string())
            .get("lang")
            .and_then(|l| Lang::parse(l));
        let lang = match from_query {
            Some(l) => {
                cookies.push(cookie(LANG_COOKIE, l.code(), secure, false, Some(365 * 24)));
                l
            }
            None => req
                .cookie(LANG_COOKIE)
                .and_then(|c| Lang::parse(c.value()))
                .unwrap_or(Lang::Nb),
        };
        let identity = req.cookie(SESSION_COOKIE).and_then(|c| {
            // A session from the identity provider's sign-in, or a development token that the
            // API's verifier accepts; both become an identity the same way.
            let session = state
                .oidc
                .as_ref()
                .map(|o| o.sessions.verify_session(c.value()).and_then(identity_of));
            let as_session = match session {
                Some(Ok(identity)) => return Some(identity),
                Some(Err(e)) => Some(e),
                None => None,
            };
            match identify(&format!("Bearer {}", c.value()), &state.verifier) {
                Ok(identity) => Some(identity),
                Err(reason) => {
                    // Both readings failed; the session's reason is the likelier one to matter.
                    let as_session = as_session.map(|e| e.to_string());
                    tracing::info!(reason = %reason, as_session = ?as_session, "session token refused");
                    cookies.push(expired(SESSION_COOKIE, secure));
                    None
                }
            }
        });
        let csrf = match req.cookie(CSRF_COOKIE) {
            Some(c) if c.value().len() == 64 => c.value().to_owned(),
            _ => {
                let token = random_token();
                cookies.push(cookie(CSRF_COOKIE, &token, secure, true, None));
                token
            }
        };
        // The language link keeps the page's other parameters (the board's filters).
        let mut switch = url_query_without_lang(req.query_string());
        switch.push_str(if switch.is_empty() { "?" } else { "&" });
        Page {
            lang,
            identity,
            csrf,
            path: format!("{}{switch}", req.path()),
            cookies,
            secure,
        }
    }

    pub fn t(&self, key: &'static str) -> &'static str {
        self.lang.t(key)
    }

    /// An HTML response with the page's cookies.
    pub fn respond(self, status: StatusCode, body: Markup) -> HttpResponse {
        let mut response = HttpResponse::build(status);
        response
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header(("X-Frame-Options", "DENY"))
            // No script and no inline style anywhere: the pages work without either.
            .insert_header((
                "Content-Security-Policy",
                "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
                 frame-ancestors 'none'; base-uri 'none'",
            ))
            .insert_header(("Referrer-Policy", "same-origin"));
        for c in self.cookies {
            response.cookie(c);
        }
        response.body(body.into_string())
    }

    /// A file to save rather than show (`Content-Disposition: attachment`), with the page's
    /// cookies. `file_name` is put in the header as given: callers keep it to letters, digits,
    /// `-` and `.`.
    pub fn attachment(self, content_type: &str, file_name: &str, body: Vec<u8>) -> HttpResponse {
        let mut response = HttpResponse::Ok();
        response
            .content_type(content_type)
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header(("X-Content-Type-Options", "nosniff"))
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ));
        for c in self.cookies {
            response.cookie(c);
        }
        response.body(body)
    }

    /// A redirect after a POST (303, so the browser GETs the target), with the page's cookies.
    pub fn see_other(self, location: &str) -> HttpResponse {
        let mut response = HttpResponse::SeeOther();
        response.insert_header((header::LOCATION, location.to_owned()));
        for c in self.cookies {
            response.cookie(c);
        }
        response.finish()
    }

    /// A page with a heading and a paragraph, for refusals.
    pub fn message(
        self,
        status: StatusCode,
        title: &'static str,
        text: &'static str,
    ) -> HttpResponse {
        let body = layout::page(
            &self,
            self.t(title),
            html! {
                h1 { (self.t(title)) }
                p { (self.t(text)) }
                p { a href="/" { (self.t("back_to_board")) } }
            },
        );
        self.respond(status, body)
    }

    /// The hidden CSRF field for a form.
    pub fn csrf_field(&self) -> Markup {
        html! { input type="hidden" name=(CSRF_FIELD) value=(self.csrf); }
    }

    /// Whether a submitted form carries the CSRF token of this browser's cookie.
    pub fn csrf_ok(&self, req: &HttpRequest, form: &HashMap<String, String>) -> bool {
        let (Some(cookie), Some(field)) = (req.cookie(CSRF_COOKIE), form.get(CSRF_FIELD)) else {
            return false;
        };
        cookie.value().len() == 64 && constant_time_eq(cookie.value(), field)
    }

    /// Runs a form's command as [`Self::graphql`] does, unless the form's own checks already
    /// found `errors` (then nothing runs and those are the answer).
    pub async fn submit(
        &self,
        state: &AppState,
        errors: Vec<GqlError>,
        document: &str,
        variables: Value,
    ) -> Result<Value, Vec<GqlError>> {
        if errors.is_empty() {
            self.graphql(state, document, variables).await
        } else {
            Err(errors)
        }
    }

    /// Runs a GraphQL document as the signed-in user against the server's schema.
    pub async fn graphql(
        &self,
        state: &AppState,
        document: &str,
        variables: Value,
    ) -> Result<Value, Vec<GqlError>> {
        let mut request = Request::new(document).variables(Variables::from_json(variables));
        if let Some(identity) = &self.identity {
            request = request
                .data(identity.claims.clone())
                .data(identity.actor.clone());
        }
        let response =
            match tokio::time::timeout(state.limits.request_timeout, state.api.execute(request))
                .await
            {
                Ok(response) => response,
                Err(_) => {
                    return Err(vec![GqlError {
                        code: "TIMEOUT".into(),
                        field: None,
                        message: "timeout".into(),
                    }]);
                }
            };
        if !response.errors.is_empty() {
            return Err(response
                .errors
                .into_iter()
                .map(|e| {
                    let ext = |k: &str| match e.extensions.as_ref().and_then(|x| x.get(k)) {
                        Some(async_graphql::Value::String(s)) => Some(s.clone()),
                        _ => None,
                    };
                    GqlError {
                        code: ext("code").unwrap_or_else(|| "INTERNAL".into()),
                        field: ext("field"),
                        message: e.message,
                    }
                })
                .collect());
        }
        Ok(response.data.into_json().unwrap_or(Value::Null))
    }

    /// Signs the browser in with the session `token` and sends it to the board.
    pub fn start_session(mut self, token: &str) -> HttpResponse {
        let secure = self.secure;
        self.cookies.push(cookie(
            SESSION_COOKIE,
            token,
            secure,
            true,
            Some(SESSION_HOURS as i64),
        ));
        self.see_other("/")
    }

    /// Sends to the sign-in page.
    pub fn redirect_to_login(self) -> HttpResponse {
        self.see_other("/login")
    }

    /// A form posted by a signed-in user: the page and the user's organisation, or the answer
    /// to send instead — refused (403) without this browser's CSRF token, to the sign-in page
    /// when nobody is signed in.
    pub fn signed_in_post(
        req: &HttpRequest,
        state: &AppState,
        form: &HashMap<String, String>,
    ) -> Result<(Page, String), Box<HttpResponse>> {
        let page = Page::of(req, state);
        if !page.csrf_ok(req, form) {
            return Err(Box::new(page.message(
                StatusCode::FORBIDDEN,
                "forbidden",
                "csrf",
            )));
        }
        let Some(identity) = &page.identity else {
            return Err(Box::new(page.redirect_to_login()));
        };
        let organisation = identity.actor.organisation.as_str().to_owned();
        Ok((page, organisation))
    }
}

/// One GraphQL error as the pages use it.
#[derive(Debug, Clone)]
pub struct GqlError {
    pub code: String,
    /// The input field it concerns, in snake case (`cause_and_consequence`), if any.
    pub field: Option<String>,
    pub message: String,
}

impl GqlError {
    /// The form field this error belongs to: the last segment of its `field`, in snake case.
    pub fn form_field(&self) -> Option<String> {
        let last = self.field.as_deref()?.rsplit('.').next()?;
        let mut out = String::new();
        for c in last.chars() {
            if c.is_ascii_uppercase() {
                out.push('_');
                out.push(c.to_ascii_lowercase());
            } else {
                out.push(c);
            }
        }
        Some(out)
    }
}

/// Plain-http localhost in development is the only place cookies go without `Secure`.
fn secure_cookies(req: &HttpRequest, dev: bool) -> bool {
    let info = req.connection_info();
    let host = info.host().rsplit_once(':').map_or(info.host(), |(h, _)| h);
    let loopback = matches!(host, "localhost" | "127.0.0.1" | "[::1]");
    !(dev && info.scheme() == "http" && loopback)
}

fn cookie(
    name: &'static str,
    value: &str,
    secure: bool,
    http_only: bool,
    hours: Option<i64>,
) -> Cookie<'static> {
    let mut c = Cookie::build(name, value.to_owned())
        .path("/")
        .same_site(SameSite::Lax)
        .http_only(http_only)
        .secure(secure)
        .finish();
    if let Some(h) = hours {
        c.set_max_age(time::Duration::hours(h));
    }
    c
}

fn expired(name: &'static str, secure: bool) -> Cookie<'static> {
    let mut c = cookie(name, "", secure, true, None);
    c.set_max_age(time::Duration::ZERO);
    c
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source works");
    hex::encode(bytes)
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// `?a=1&b=2` from the query string without its `lang` parameter, or empty.
fn url_query_without_lang(query: &str) -> String {
    let kept: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && *p != "lang" && !p.starts_with("lang="))
        .collect();
    if kept.is_empty() {
        String::new()
    } else {
        format!("?{}", kept.join("&"))
    }
}

pub fn query_map(query: &str) -> HashMap<String, String> {
    web::Query::<HashMap<String, String>>::from_query(query)
        .map(|q| q.into_inner())
        .unwrap_or_default()
}

/// A development identity the sign-in page offers.
struct DevIdentity {
    key: &'static str,
    label: &'static str,
    role: &'static str,
    org: &'static str,
    sub: &'static str,
    /// The person's name alone: the pages add the organisation beside it (the header, the
    /// timeline, the audit trail), so a name carrying it too read "Dag Moen (DMP) (DMP)".
    name: &'static str,
}

const DEV_IDENTITIES: [DevIdentity; 3] = [
    DevIdentity {
        key: "hod",
        label: "dev.hod",
        role: "ministry",
        org: "HOD",
        sub: "dev-hod-saksbehandler",
        name: "Hanne Olsen",
    },
    DevIdentity {
        key: "dmp",
        label: "dev.dmp",
        role: "agency",
        org: "DMP",
        sub: "dev-dmp-koordinator",
        name: "Dag Moen",
    },
    DevIdentity {
        key: "rr",
        label: "dev.rr",
        role: "auditor",
        org: "RR",
        sub: "dev-rr-revisor",
        name: "Rita Rud",
    },
];

async fn login_page(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let page = Page::of(&req, &state);
    let dev = state.dev && state.dev_keys.is_some();
    // In production the identity provider is the only way in: go straight there.
    if state.oidc.is_some() && !dev {
        return oidc::redirect_to_provider(page, &state);
    }
    let body = login_markup(&page, dev, state.oidc.is_some());
    page.respond(StatusCode::OK, body)
}

fn login_markup(page: &Page, dev: bool, oidc: bool) -> Markup {
    layout::page(
        page,
        page.t("login.title"),
        html! {
            h1 { (page.t("login.title")) }
            @if dev {
                p { (page.t("login.dev")) }
                form method="post" action="/login" {
                    (page.csrf_field())
                    fieldset {
                        legend { (page.t("login.identity")) }
                        @for (i, d) in DEV_IDENTITIES.iter().enumerate() {
                            div.choice {
                                input type="radio" name="identity" id={"identity-" (d.key)}
                                    value=(d.key) checked[i == 0];
                                label for={"identity-" (d.key)} { (page.t(d.label)) }
                            }
                        }
                    }
                    button type="submit" { (page.t("sign_in")) }
                }
            } @else if !oidc {
                p { (page.t("login.no_oidc")) }
            }
            @if oidc {
                p { a href="/login/oidc" { (oidc::provider_link(page.lang)) } }
            }
        },
    )
}

async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let page = Page::of(&req, &state);
    let keys = match (&state.dev_keys, state.dev) {
        (Some(keys), true) => keys,
        _ => return page.message(StatusCode::NOT_FOUND, "not_found", "not_found.text"),
    };
    if !page.csrf_ok(&req, &form) {
        return page.message(StatusCode::FORBIDDEN, "forbidden", "csrf");
    }
    let Some(d) = form
        .get("identity")
        .and_then(|k| DEV_IDENTITIES.iter().find(|d| d.key == k))
    else {
        let body = login_markup(&page, true, state.oidc.is_some());
        return page.respond(StatusCode::UNPROCESSABLE_ENTITY, body);
    };
    let token = keys.issue(&crate::auth::TokenRequest {
        role: d.role.into(),
        org: d.org.into(),
        sub: Some(d.sub.into()),
        name: Some(d.name.into()),
        dept: None,
        ttl: std::time::Duration::from_secs(SESSION_HOURS * 3600),
    });
    // The token must pass the same verifier /graphql uses (it does not if only a JWKS is
    // trusted); otherwise signing in would silently not stick.
    let token = match token.map(|t| {
        let ok = identify(&format!("Bearer {t}"), &state.verifier);
        (t, ok)
    }) {
        Ok((t, Ok(_))) => t,
        Ok((_, Err(e))) | Err(e) => {
            tracing::warn!(error = %e, "development sign-in is not possible with these token settings");
            return page.message(
                StatusCode::SERVICE_UNAVAILABLE,
                "forbidden",
                "login.no_oidc",
            );
        }
    };
    page.start_session(&token)
}

async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let mut page = Page::of(&req, &state);
    if !page.csrf_ok(&req, &form) {
        return page.message(StatusCode::FORBIDDEN, "forbidden", "csrf");
    }
    let secure = page.secure;
    page.cookies.push(expired(SESSION_COOKIE, secure));
    page.see_other("/login")
}
