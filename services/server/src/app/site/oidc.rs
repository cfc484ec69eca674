//! Sign-in through the organisation's identity provider, the browser's side: `/login` (in
//! production) and `/login/oidc` send the browser to the provider with a fresh `state`, `nonce`
//! and PKCE challenge; `/auth/callback` takes the answer, checks `state` against this
//! browser's flow cookie, has the code exchanged and the ID token verified
//! ([`crate::oidc::Provider`]), and sets the session.
//!
//! The flow's secrets travel in a short-lived cookie signed by the server (`HttpOnly`,
//! `SameSite=Lax` so that it comes along on the provider's top-level redirect back), not in
//! server memory, so any server behind the address can finish a sign-in another started. It is
//! used once: every answer clears it. A refused sign-in also clears any session, so a failure
//! never leaves the browser signed in (nor does it sign out a browser that started no sign-in),
//! and says which of the expected failures it was.

use actix_web::cookie::{Cookie, SameSite, time};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::html;

use super::{
    AppState, Lang, Page, SESSION_COOKIE, SESSION_HOURS, constant_time_eq, expired, identity_of,
    layout, query_map,
};
use crate::oidc::{Flow, OidcError};

const FLOW_COOKIE: &str = "styr_oidc";
/// The `aud` of a sealed flow cookie: it can never pass for a session or the reverse.
const FLOW_PURPOSE: &str = "styr:oidc-flow";
/// How long a browser may take at the provider before the sign-in must start over.
const FLOW_MINUTES: i64 = 10;

/// `GET /login/oidc`: the explicit way to the provider (offered beside the development picker).
pub async fn start(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let page = Page::of(&req, &state);
    redirect_to_provider(page, &state)
}

/// Starts a sign-in: seals a new flow into the flow cookie and sends the browser to the
/// provider's authorization endpoint.
pub fn redirect_to_provider(mut page: Page, state: &AppState) -> HttpResponse {
    let Some(oidc) = &state.oidc else {
        return page.message(StatusCode::NOT_FOUND, "not_found", "not_found.text");
    };
    let flow = Flow::new();
    let sealed = oidc.sessions.seal(
        FLOW_PURPOSE,
        &flow,
        std::time::Duration::from_secs(FLOW_MINUTES as u64 * 60),
    );
    let sealed = match sealed {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot seal the sign-in flow");
            return refuse(page, Refusal::Exchange, false);
        }
    };
    let mut c = Cookie::build(FLOW_COOKIE, sealed)
        .path("/")
        .same_site(SameSite::Lax)
        .http_only(true)
        .secure(page.secure)
        .finish();
    c.set_max_age(time::Duration::minutes(FLOW_MINUTES));
    page.cookies.push(c);
    page.see_other(&oidc.provider.authorization_url(&flow))
}

/// `GET /auth/callback?code=…&state=…` (or `?error=…`): where the provider sends the browser.
pub async fn callback(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let mut page = Page::of(&req, &state);
    let secure = page.secure;
    page.cookies.push(expired_flow(secure));
    let Some(oidc) = state.oidc.clone() else {
        return page.message(StatusCode::NOT_FOUND, "not_found", "not_found.text");
    };
    let q = query_map(req.query_string());
    let flow = req.cookie(FLOW_COOKIE).and_then(|c| {
        oidc.sessions
            .open::<Flow>(FLOW_PURPOSE, c.value())
            .inspect_err(|e| tracing::info!(error = %e, "sign-in flow cookie refused"))
            .ok()
    });
    if let Some(error) = q.get("error") {
        tracing::info!(error, description = ?q.get("error_description"), "the identity provider refused the sign-in");
        let refusal = if error == "access_denied" {
            Refusal::Denied
        } else {
            Refusal::Provider(error.clone())
        };
        return refuse(page, refusal, flow.is_some());
    }
    // Without a flow this browser started, nothing here may touch its session: otherwise a
    // link to this address would sign anyone out.
    let Some(flow) = flow else {
        return refuse(page, Refusal::NoFlow, false);
    };
    let (Some(code), Some(answered)) = (q.get("code").cloned(), q.get("state")) else {
        return refuse(page, Refusal::WrongState, true);
    };
    if !constant_time_eq(answered, &flow.state) {
        tracing::warn!("sign-in answer with a state that is not this browser's");
        return refuse(page, Refusal::WrongState, true);
    }
    let for_exchange = oidc.clone();
    let finished = web::block(move || for_exchange.provider.finish(&code, &flow)).await;
    let claims = match finished {
        Ok(Ok(claims)) => claims,
        Ok(Err(e @ OidcError::Exchange(_))) | Ok(Err(e @ OidcError::Discovery { .. })) => {
            tracing::warn!(error = %e, "sign-in failed");
            return refuse(page, Refusal::Exchange, true);
        }
        Ok(Err(e @ OidcError::IdToken(_))) => {
            tracing::warn!(error = %e, "sign-in refused");
            return refuse(page, Refusal::IdToken, true);
        }
        Err(e) => {
            tracing::error!(error = %e, "sign-in could not run");
            return refuse(page, Refusal::Exchange, true);
        }
    };
    // The claims passed the identity rules; the actor must build too, or the session would
    // be refused on the next page.
    let session = identity_of(claims.clone()).and_then(|_| {
        oidc.sessions.issue_session(
            &claims,
            std::time::Duration::from_secs(SESSION_HOURS * 3600),
        )
    });
    match session {
        Ok(token) => {
            tracing::info!(sub = %claims.sub, role = %claims.role, org = %claims.org, "signed in through the identity provider");
            page.start_session(&token)
        }
        Err(e) => {
            tracing::warn!(error = %e, "sign-in refused");
            refuse(page, Refusal::IdToken, true)
        }
    }
}

fn expired_flow(secure: bool) -> Cookie<'static> {
    let mut c = Cookie::build(FLOW_COOKIE, "")
        .path("/")
        .same_site(SameSite::Lax)
        .http_only(true)
        .secure(secure)
        .finish();
    c.set_max_age(time::Duration::ZERO);
    c
}

/// Why a sign-in did not complete, as the user is told.
enum Refusal {
    /// The user (or the provider's policy) said no.
    Denied,
    /// The provider answered with another error code.
    Provider(String),
    /// No flow cookie, or an expired one: started long ago or in another browser.
    NoFlow,
    /// The answer's `state` is not this browser's.
    WrongState,
    /// The code could not be exchanged.
    Exchange,
    /// The ID token, or the identity in it, is not acceptable.
    IdToken,
}

/// The page for a sign-in that did not complete. When this browser had started one
/// (`end_session`), any session it had ends too: it asked to become someone, and is nobody.
fn refuse(mut page: Page, refusal: Refusal, end_session: bool) -> HttpResponse {
    if end_session {
        let secure = page.secure;
        page.cookies.push(expired(SESSION_COOKIE, secure));
        page.identity = None;
    }
    let lang = page.lang;
    let (status, key) = match &refusal {
        Refusal::Denied => (StatusCode::FORBIDDEN, "denied"),
        Refusal::Provider(_) => (StatusCode::BAD_GATEWAY, "provider"),
        Refusal::NoFlow => (StatusCode::BAD_REQUEST, "no_flow"),
        Refusal::WrongState => (StatusCode::BAD_REQUEST, "wrong_state"),
        Refusal::Exchange => (StatusCode::BAD_GATEWAY, "exchange"),
        Refusal::IdToken => (StatusCode::FORBIDDEN, "id_token"),
    };
    // Only a code-shaped value is shown back: the parameter is whatever the URL said.
    let code = match &refusal {
        Refusal::Provider(c)
            if (1..=64).contains(&c.len())
                && c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') =>
        {
            Some(c.as_str())
        }
        _ => None,
    };
    let title = words(lang, "title");
    let body = layout::page(
        &page,
        title,
        html! {
            h1 { (title) }
            p.error id={ "signin-" (key) } { (words(lang, key)) }
            @if let Some(code) = code { p { (words(lang, "code")) " " code { (code) } } }
            p { a href="/login/oidc" { (words(lang, "again")) } }
        },
    );
    page.respond(status, body)
}

/// The link to the provider beside the development picker.
pub fn provider_link(lang: Lang) -> &'static str {
    words(lang, "link")
}

/// This module's words, (key, bokmål, English), kept here beside the only code that uses them.
const WORDS: &[(&str, &str, &str)] = &[
    (
        "title",
        "Innloggingen ble ikke fullført",
        "Sign-in was not completed",
    ),
    (
        "denied",
        "Innloggingen ble avbrutt eller avvist hos identitetsleverandøren.",
        "The sign-in was cancelled or refused at the identity provider.",
    ),
    (
        "provider",
        "Identitetsleverandøren svarte med en feil.",
        "The identity provider answered with an error.",
    ),
    (
        "no_flow",
        "Innloggingen er utløpt eller ble startet i en annen nettleser. Start på nytt.",
        "The sign-in has expired or was started in another browser. Start again.",
    ),
    (
        "wrong_state",
        "Svaret fra identitetsleverandøren hører ikke til denne innloggingen. Start på nytt.",
        "The identity provider's answer does not belong to this sign-in. Start again.",
    ),
    (
        "exchange",
        "Innloggingen kunne ikke fullføres hos identitetsleverandøren. Prøv igjen om litt.",
        "The sign-in could not be completed with the identity provider. Try again shortly.",
    ),
    (
        "id_token",
        "Identiteten fra identitetsleverandøren kunne ikke godtas (ugyldig eller utløpt, eller uten rolle og virksomhet).",
        "The identity from the identity provider could not be accepted (invalid or expired, or without a role and organisation).",
    ),
    ("code", "Feilkode:", "Error code:"),
    ("again", "Logg inn på nytt", "Sign in again"),
    (
        "link",
        "Logg inn med identitetsleverandøren",
        "Sign in with the identity provider",
    ),
];

fn words(lang: Lang, key: &str) -> &'static str {
    WORDS
        .iter()
        .find(|(k, _, _)| *k == key)
        .map_or("", |(_, nb, en)| match lang {
            Lang::Nb => nb,
            Lang::En => en,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_has_words_in_both_languages() {
        for key in [
            "title",
            "denied",
            "provider",
            "no_flow",
            "wrong_state",
            "exchange",
            "id_token",
            "code",
            "again",
            "link",
        ] {
            assert!(!words(Lang::Nb, key).is_empty(), "{key}");
            assert!(!words(Lang::En, key).is_empty(), "{key}");
        }
    }
}
