//! OpenID Connect, the relying party's side of the authorization-code flow with PKCE (S256),
//! for the web pages' sign-in: discovery of the provider's endpoints, the authorization URL,
//! the code exchange at the token endpoint, and verification of the ID token.
//!
//! Everything here speaks HTTP to the provider with blocking `ureq` (the client the server
//! already has for JWKS and traces); callers run it off the async threads. What the browser
//! sees — redirects, cookies, error pages — is `app/site/oidc.rs`.
//!
//! The ID token is checked as strictly as a bearer token: the provider's JWKS key named by
//! `kid` (RS256 or ES256 only, the key kind fixed by `alg`), `iss` equal to the discovered
//! issuer, `aud` containing the client id (and `azp` equal to it when there are several),
//! `exp`, the `nonce` of this browser's sign-in, and the role and organisation rules of
//! [`crate::auth`]. The claims are the ones a bearer token carries (`sub`, `name`, `role`,
//! `org`, optional `dept`); the provider is configured to put them in the ID token.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::Digest;

use crate::auth::{AuthError, Claims, Jwks, LEEWAY_SECS, check_identity};
use crate::settings::OidcSettings;

/// The longest one call to the provider may take; a sign-in waits for it.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);
/// The most of a provider's answer that is read.
const MAX_ANSWER_BYTES: u64 = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// Discovery at start-up failed: the server does not start half-configured.
    #[error("cannot use the identity provider {issuer}: {message}")]
    Discovery { issuer: String, message: String },
    /// The token endpoint did not give an ID token for the code (detail for the log only).
    #[error("the code exchange failed: {0}")]
    Exchange(String),
    /// The ID token is not acceptable (detail for the log only).
    #[error("the ID token is refused: {0}")]
    IdToken(#[from] AuthError),
}

/// Web sign-in as configured: the provider, and the keys that seal its flows and the sessions
/// it leads to. The keys exist only with a provider, so a server without one never reads or
/// creates the HS256 secret file for them.
pub struct SignIn {
    pub provider: Provider,
    pub sessions: crate::auth::SessionKeys,
}

/// What the provider publishes at `/.well-known/openid-configuration` that this needs.
#[derive(Debug, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    #[serde(default)]
    code_challenge_methods_supported: Option<Vec<String>>,
}

/// A discovered provider and this server's registration with it.
pub struct Provider {
    issuer: String,
    client_id: String,
    client_secret: Option<SecretString>,
    redirect_url: String,
    scope: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks: Jwks,
    agent: ureq::Agent,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("redirect_url", &self.redirect_url)
            .finish_non_exhaustive()
    }
}

/// One sign-in's secrets: `state` binds the answer to this browser, `nonce` binds the ID token
/// to this sign-in, the PKCE verifier binds the code to whoever started it.
#[derive(Debug, Clone, serde::Serialize, Deserialize)]
pub struct Flow {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
}

impl Flow {
    pub fn new() -> Self {
        Flow {
            state: random_url_token(),
            nonce: random_url_token(),
            // 32 random bytes give the 43-character verifier RFC 7636 asks for at least.
            verifier: random_url_token(),
        }
    }

    /// `BASE64URL(SHA256(verifier))`, the S256 challenge.
    pub fn challenge(&self) -> String {
        URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(self.verifier.as_bytes()))
    }
}

impl Default for Flow {
    fn default() -> Self {
        Self::new()
    }
}

fn random_url_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source works");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// An endpoint the provider names must be as safe as the issuer itself.
fn safe_endpoint(url: &str) -> bool {
    let host_of = |rest: &str| {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
        matches!(host, "127.0.0.1" | "localhost" | "[::1]")
    };
    url.starts_with("https://") || url.strip_prefix("http://").is_some_and(host_of)
}

impl Provider {
    /// Reads the provider's discovery document and keys (blocking). The issuer may be given
    /// with or without the `/.well-known/openid-configuration` suffix.
    pub fn discover(settings: &OidcSettings) -> Result<Self, OidcError> {
        let base = settings
            .issuer
            .trim_end_matches('/')
            .trim_end_matches("/.well-known/openid-configuration")
            .trim_end_matches('/')
            .to_owned();
        let fail = |message: String| OidcError::Discovery {
            issuer: base.clone(),
            message,
        };
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(PROVIDER_TIMEOUT))
            .build()
            .into();
        let url = format!("{base}/.well-known/openid-configuration");
        let text = agent
            .get(&url)
            .call()
            .map_err(|e| fail(format!("{url}: {e}")))?
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER_BYTES)
            .read_to_string()
            .map_err(|e| fail(format!("{url}: {e}")))?;
        let discovery: Discovery = serde_json::from_str(&text)
            .map_err(|e| fail(format!("{url} is not a discovery document: {e}")))?;
        // The document must be the issuer's own (OpenID Connect Discovery, section 4.3).
        if discovery.issuer.trim_end_matches('/') != base {
            return Err(fail(format!(
                "the discovery document names the issuer {:?}",
                discovery.issuer
            )));
        }
        for endpoint in [
            &discovery.authorization_endpoint,
            &discovery.token_endpoint,
            &discovery.jwks_uri,
        ] {
            if !safe_endpoint(endpoint) {
                return Err(fail(format!(
                    "the endpoint {endpoint:?} is not https:// (http:// only on the loopback interface)"
                )));
            }
        }
        if let Some(methods) = &discovery.code_challenge_methods_supported
            && !methods.iter().any(|m| m == "S256")
        {
            return Err(fail("the provider does not support PKCE with S256".into()));
        }
        let jwks = Jwks::from_url(&discovery.jwks_uri).map_err(|e| fail(e.to_string()))?;
        Ok(Provider {
            issuer: discovery.issuer,
            client_id: settings.client_id.clone(),
            client_secret: settings.client_secret.clone(),
            redirect_url: settings.redirect_url.clone(),
            scope: settings.scopes.join(" "),
            authorization_endpoint: discovery.authorization_endpoint,
            token_endpoint: discovery.token_endpoint,
            jwks,
            agent,
        })
    }

    /// Where to send the browser to sign in.
    pub fn authorization_url(&self, flow: &Flow) -> String {
        let challenge = flow.challenge();
        let query = serde_urlencoded::to_string([
            ("response_type", "code"),
            ("client_id", self.client_id.as_str()),
            ("redirect_uri", self.redirect_url.as_str()),
            ("scope", self.scope.as_str()),
            ("state", flow.state.as_str()),
            ("nonce", flow.nonce.as_str()),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ])
        .expect("string pairs always encode");
        let joiner = if self.authorization_endpoint.contains('?') {
            '&'
        } else {
            '?'
        };
        format!("{}{joiner}{query}", self.authorization_endpoint)
    }

    /// Exchanges the code for tokens and returns the verified identity of the ID token
    /// (blocking).
    pub fn finish(&self, code: &str, flow: &Flow) -> Result<Claims, OidcError> {
        let id_token = self.exchange(code, &flow.verifier)?;
        Ok(self.verify_id_token(&id_token, &flow.nonce)?)
    }

    fn exchange(&self, code: &str, verifier: &str) -> Result<String, OidcError> {
        let mut request = self
            .agent
            .post(&self.token_endpoint)
            .config()
            .http_status_as_error(false)
            .build()
            .header("Accept", "application/json");
        if let Some(secret) = &self.client_secret {
            // RFC 6749 2.3.1: both parts form-encoded, then Basic.
            let encode = |s: &str| {
                serde_urlencoded::to_string([("", s)])
                    .map(|e| e.trim_start_matches('=').to_owned())
                    .unwrap_or_default()
            };
            let pair = format!(
                "{}:{}",
                encode(&self.client_id),
                encode(secret.expose_secret())
            );
            request = request.header(
                "Authorization",
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                ),
            );
        }
        let mut response = request
            .send_form([
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", self.redirect_url.as_str()),
                ("client_id", self.client_id.as_str()),
                ("code_verifier", verifier),
            ])
            .map_err(|e| OidcError::Exchange(format!("{}: {e}", self.token_endpoint)))?;
        let status = response.status();
        let text = response
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER_BYTES)
            .read_to_string()
            .map_err(|e| OidcError::Exchange(e.to_string()))?;
        #[derive(Deserialize)]
        struct Answer {
            id_token: Option<String>,
            error: Option<String>,
            error_description: Option<String>,
        }
        let answer: Answer = serde_json::from_str(&text).map_err(|_| {
            OidcError::Exchange(format!("status {status} and an answer that is not JSON"))
        })?;
        match (status.is_success(), answer.id_token) {
            (true, Some(token)) => Ok(token),
            (true, None) => Err(OidcError::Exchange("the answer holds no id_token".into())),
            (false, _) => Err(OidcError::Exchange(format!(
                "status {status}: {} {}",
                answer.error.unwrap_or_default(),
                answer.error_description.unwrap_or_default()
            ))),
        }
    }

    /// The identity in an ID token issued by this provider for this client and this sign-in.
    pub fn verify_id_token(&self, token: &str, nonce: &str) -> Result<Claims, AuthError> {
        let invalid = |m: String| AuthError::InvalidToken(m);
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| invalid(format!("unreadable header: {e}")))?;
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
            return Err(invalid(format!(
                "algorithm {:?} is not accepted",
                header.alg
            )));
        }
        let kid = header
            .kid
            .as_deref()
            .ok_or_else(|| invalid("the ID token names no key (kid)".into()))?;
        let key = self.jwks.key(kid, header.alg)?;
        let mut validation = Validation::new(header.alg);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.client_id]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        #[derive(Deserialize)]
        struct IdToken {
            #[serde(flatten)]
            claims: Claims,
            nonce: Option<String>,
            azp: Option<String>,
            /// One audience or a list (already checked to contain this client).
            #[serde(default)]
            aud: serde_json::Value,
        }
        let data = jsonwebtoken::decode::<IdToken>(token, &key, &validation)
            .map_err(|e| invalid(e.to_string()))?;
        let id = data.claims;
        if id.nonce.as_deref().map(str::as_bytes) != Some(nonce.as_bytes()) {
            return Err(invalid("the nonce is not this sign-in's".into()));
        }
        // With several audiences the token must have been issued to this client (Core 3.1.3.7).
        if id.aud.as_array().is_some_and(|list| list.len() > 1)
            && id.azp.as_deref() != Some(self.client_id.as_str())
        {
            return Err(invalid(
                "several audiences and azp is not this client".into(),
            ));
        }
        if let Some(azp) = &id.azp
            && azp != &self.client_id
        {
            return Err(invalid(format!("azp {azp:?} is not this client")));
        }
        check_identity(id.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_is_s256_of_the_verifier() {
        // RFC 7636, appendix B.
        let flow = Flow {
            state: String::new(),
            nonce: String::new(),
            verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into(),
        };
        assert_eq!(
            flow.challenge(),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let fresh = Flow::new();
        assert_eq!(fresh.verifier.len(), 43);
        assert_ne!(fresh.state, fresh.nonce);
    }

    #[test]
    fn endpoints_must_be_https_or_loopback() {
        assert!(safe_endpoint("https://idp.example/token"));
        assert!(safe_endpoint("http://127.0.0.1:9000/token"));
        assert!(safe_endpoint("http://localhost/token"));
        assert!(!safe_endpoint("http://idp.example/token"));
        assert!(!safe_endpoint("http://127.0.0.1.evil.example/token"));
    }
}
