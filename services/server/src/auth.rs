//! Bearer tokens: JWTs carrying who the caller is (subject, name, role, organisation,
//! department). The server accepts HS256 tokens signed with the shared secret (what
//! `styr token` issues) and RS256/ES256 tokens from an identity provider, verified against its
//! JWKS; which of these are accepted is configured (`STYR_JWT_ALGORITHMS`).
//!
//! Algorithm confusion is ruled out by construction: a token's `alg` picks the key *kind*
//! before anything is verified — HS256 only ever uses the shared secret, RS256/ES256 only ever
//! use a JWKS key of that family named by the token's `kid`, and `alg: none` is not an
//! algorithm the library knows.

use std::collections::HashMap;
use std::path::Path;
use std::sync::RwLock;
use std::time::{Duration, Instant, SystemTime};

use chrono::Utc;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::settings::{JwksSource, JwtSecretSource, Settings, TokenAlgorithm};

/// The roles a token can carry.
pub const ROLES: [&str; 4] = ["ministry", "agency", "auditor", "admin"];

/// Clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY_SECS: u64 = 30;

/// After a JWKS reload that did not find a token's `kid`, the next reload waits this long, so
/// tokens with made-up key ids cannot make the server re-read keys on every request.
const JWKS_RELOAD_BACKOFF: Duration = Duration::from_secs(30);

/// How often the JWKS file's modification time is looked at, so that a key the provider has
/// withdrawn stops verifying without a restart.
const JWKS_RECHECK: Duration = Duration::from_secs(60);
/// How often a JWKS fetched by URL is fetched again (besides on a key not held).
const JWKS_URL_RECHECK: Duration = Duration::from_secs(300);
/// The longest a JWKS fetch may take; it blocks the request that needed a key not held, at
/// most once per `JWKS_RELOAD_BACKOFF`.
const JWKS_FETCH_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub name: String,
    pub role: String,
    /// Organisation code: `HOD`, `DMP`, `RR`, …
    pub org: String,
    /// Ministry department (`SHA`, `EHE`, …), for ministry users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dept: Option<String>,
    #[serde(default)]
    pub iat: i64,
    pub exp: i64,
}

/// What a minted token carries beyond the identity.
#[derive(Serialize)]
struct MintedClaims<'a> {
    #[serde(flatten)]
    claims: &'a Claims,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<&'a str>,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The precise reason, for the log only: callers are told nothing more than that the
    /// token is not valid.
    #[error("the token is not valid: {0}")]
    InvalidToken(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("cannot read or create the token secret {path}: {message}")]
    Secret { path: String, message: String },
    #[error("cannot use the JWKS {path}: {message}")]
    Jwks { path: String, message: String },
}

fn invalid(reason: impl Into<String>) -> AuthError {
    AuthError::InvalidToken(reason.into())
}

/// The HS256 signing key, resolved once at start-up, with the issuer and audience that minted
/// tokens carry.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    issuer: Option<String>,
    audience: Option<String>,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKeys(..)")
    }
}

impl TokenKeys {
    pub fn from_source(source: &JwtSecretSource) -> Result<Self, AuthError> {
        let secret = match source {
            JwtSecretSource::Value(s) => s.clone(),
            JwtSecretSource::File(path) => load_or_create_secret(path)?,
        };
        let bytes = secret.expose_secret().as_bytes();
        Ok(Self {
            encoding: EncodingKey::from_secret(bytes),
            decoding: DecodingKey::from_secret(bytes),
            issuer: None,
            audience: None,
        })
    }

    /// The secret from the settings, minting tokens with their issuer and audience.
    pub fn from_settings(settings: &Settings) -> Result<Self, AuthError> {
        let mut keys = Self::from_source(&settings.jwt_secret)?;
        keys.issuer = settings.jwt_issuer.clone();
        keys.audience = settings.jwt_audience.clone();
        Ok(keys)
    }

    pub fn issue(&self, request: &TokenRequest) -> Result<String, AuthError> {
        let claims = request.claims()?;
        let minted = MintedClaims {
            claims: &claims,
            iss: self.issuer.as_deref(),
            aud: self.audience.as_deref(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &minted, &self.encoding)
            .map_err(|e| AuthError::BadRequest(format!("cannot sign the token: {e}")))
    }

    /// Verifies an HS256 token against this secret alone (no issuer or audience check).
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let verifier = Verifier {
            secret: Some(self.decoding.clone()),
            jwks: None,
            algorithms: vec![TokenAlgorithm::Hs256],
            issuer: None,
            audience: None,
        };
        verifier.verify(token)
    }
}

/// Checks bearer tokens as the settings say: which algorithms, which keys, which issuer and
/// audience.
pub struct Verifier {
    secret: Option<DecodingKey>,
    jwks: Option<Jwks>,
    algorithms: Vec<TokenAlgorithm>,
    issuer: Option<String>,
    audience: Option<String>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("algorithms", &self.algorithms)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// Loads the keys the accepted algorithms need; fails at start-up, not on the first
    /// request, when one is missing or unreadable.
    pub fn from_settings(settings: &Settings) -> Result<Self, AuthError> {
        let secret = if settings.jwt_algorithms.contains(&TokenAlgorithm::Hs256) {
            Some(TokenKeys::from_source(&settings.jwt_secret)?.decoding)
        } else {
            None
        };
        let jwks = match &settings.jwks {
            Some(source @ JwksSource::File(_)) => Some(Jwks::load(source.clone(), JWKS_RECHECK)?),
            Some(source @ JwksSource::Url(_)) => {
                Some(Jwks::load(source.clone(), JWKS_URL_RECHECK)?)
            }
            None => None,
        };
        Ok(Self {
            secret,
            jwks,
            algorithms: settings.jwt_algorithms.clone(),
            issuer: settings.jwt_issuer.clone(),
            audience: settings.jwt_audience.clone(),
        })
    }

    /// The verified claims, or why the token is refused (for the log, not the caller).
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| invalid(format!("unreadable header: {e}")))?;
        let accepted = match header.alg {
            Algorithm::HS256 => Some(TokenAlgorithm::Hs256),
            Algorithm::RS256 => Some(TokenAlgorithm::Rs256),
            Algorithm::ES256 => Some(TokenAlgorithm::Es256),
            _ => None,
        }
        .filter(|a| self.algorithms.contains(a))
        .ok_or_else(|| invalid(format!("algorithm {:?} is not accepted", header.alg)))?;
        let key = match accepted {
            TokenAlgorithm::Hs256 => self
                .secret
                .clone()
                .ok_or_else(|| invalid("HS256 is accepted but no secret is loaded"))?,
            TokenAlgorithm::Rs256 | TokenAlgorithm::Es256 => {
                let jwks = self
                    .jwks
                    .as_ref()
                    .ok_or_else(|| invalid("no JWKS is configured"))?;
                let kid = header
                    .kid
                    .as_deref()
                    .ok_or_else(|| invalid("the token names no key (kid)"))?;
                jwks.key(kid, header.alg)?
            }
        };
        let mut validation = Validation::new(header.alg);
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        let mut required = vec!["exp"];
        if let Some(iss) = &self.issuer {
            validation.set_issuer(&[iss]);
            required.push("iss");
        }
        // Without a configured audience the library still refuses a token that names one:
        // it is meant for another service.
        if let Some(aud) = &self.audience {
            validation.set_audience(&[aud]);
            required.push("aud");
        }
        validation.set_required_spec_claims(&required);
        let data = jsonwebtoken::decode::<Claims>(token, &key, &validation)
            .map_err(|e| invalid(e.to_string()))?;
        check_identity(data.claims)
    }
}

/// Signs and opens the server's own short tokens for the web pages: the session cookie and the
/// sign-in flow cookie.
///
/// Why the session is a server-signed token and not the identity provider's ID token: an ID
/// token's audience is the web client (not necessarily what `/graphql` accepts), it often lives
/// only minutes, and the provider may not be the one trusted for API tokens at all. So after
/// the ID token has been verified, its claims — checked by the same [`check_identity`] rules
/// as a bearer token's — are re-signed as a session that the pages turn into the same
/// `Identity` (claims and actor) `/graphql` builds, and authorization stays in one place.
///
/// The key is derived from the HS256 secret with a purpose label, so a session can never be
/// used as a bearer token nor a bearer token as a session, and each token names its purpose
/// (`aud`) as well. Several servers behind one address need the same secret
/// (`STYR_JWT_SECRET`).
#[derive(Clone)]
pub struct SessionKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl std::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKeys(..)")
    }
}

/// The `aud` of a web session token.
pub const SESSION_PURPOSE: &str = "styr:web-session";

impl SessionKeys {
    pub fn from_settings(settings: &Settings) -> Result<Self, AuthError> {
        let secret = match &settings.jwt_secret {
            JwtSecretSource::Value(s) => s.clone(),
            JwtSecretSource::File(path) => load_or_create_secret(path)?,
        };
        use sha2::Digest;
        let mut hash = sha2::Sha256::new();
        hash.update(b"styr web session key v1\0");
        hash.update(secret.expose_secret().as_bytes());
        let key = hash.finalize();
        Ok(Self {
            encoding: EncodingKey::from_secret(&key),
            decoding: DecodingKey::from_secret(&key),
        })
    }

    /// Signs `value` for `purpose`, valid for `ttl`.
    pub fn seal<T: Serialize>(
        &self,
        purpose: &str,
        value: &T,
        ttl: Duration,
    ) -> Result<String, AuthError> {
        let exp = Utc::now()
            .timestamp()
            .saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2));
        let serde_json::Value::Object(mut fields) = serde_json::to_value(value)
            .map_err(|e| AuthError::BadRequest(format!("cannot seal: {e}")))?
        else {
            return Err(AuthError::BadRequest("only a struct can be sealed".into()));
        };
        // The seal's own lifetime and purpose replace any the value carries.
        fields.insert("aud".into(), purpose.into());
        fields.insert("exp".into(), exp.into());
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &fields, &self.encoding)
            .map_err(|e| AuthError::BadRequest(format!("cannot sign: {e}")))
    }

    /// The value sealed for `purpose`, if the signature holds and it has not expired.
    pub fn open<T: serde::de::DeserializeOwned>(
        &self,
        purpose: &str,
        token: &str,
    ) -> Result<T, AuthError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_audience(&[purpose]);
        validation.set_required_spec_claims(&["exp", "aud"]);
        jsonwebtoken::decode::<T>(token, &self.decoding, &validation)
            .map(|d| d.claims)
            .map_err(|e| invalid(e.to_string()))
    }

    /// A session for these (already verified) claims.
    pub fn issue_session(&self, claims: &Claims, ttl: Duration) -> Result<String, AuthError> {
        self.seal(SESSION_PURPOSE, claims, ttl)
    }

    /// The claims of a session, checked as a bearer token's are.
    pub fn verify_session(&self, token: &str) -> Result<Claims, AuthError> {
        check_identity(self.open(SESSION_PURPOSE, token)?)
    }
}

/// What the claims must say beyond what the signature and times prove.
pub(crate) fn check_identity(claims: Claims) -> Result<Claims, AuthError> {
    if !ROLES.contains(&claims.role.as_str()) {
        return Err(invalid(format!("unknown role {:?}", claims.role)));
    }
    if claims.sub.trim().is_empty() || claims.name.trim().is_empty() {
        return Err(invalid("empty subject or name"));
    }
    if !is_code(&claims.org) {
        return Err(invalid(format!(
            "organisation {:?} is not a code",
            claims.org
        )));
    }
    if let Some(d) = claims.dept.as_deref().filter(|d| !is_code(d)) {
        return Err(invalid(format!("department {d:?} is not a code")));
    }
    Ok(claims)
}

fn is_code(c: &str) -> bool {
    (2..=12).contains(&c.len())
        && c.chars()
            .all(|ch| ch.is_ascii_uppercase() || ch.is_ascii_digit())
}

/// Public keys by `kid`, read again from their source when a token names one not held, and
/// every `recheck` (a file only when it has changed).
pub(crate) struct Jwks {
    source: JwksSource,
    recheck: Duration,
    cache: RwLock<JwksCache>,
}

struct JwksCache {
    keys: HashMap<String, JwksKey>,
    /// The file's modification time when the keys were read.
    modified: Option<SystemTime>,
    /// When the modification time was last looked at.
    checked: Instant,
    /// When a reload last failed to find a requested key.
    last_miss: Option<Instant>,
}

#[derive(Clone)]
struct JwksKey {
    algorithm: Algorithm,
    key: DecodingKey,
}

impl Jwks {
    /// Keys from a provider's `jwks_uri`, fetched again as a bearer token's JWKS URL is.
    pub(crate) fn from_url(url: &str) -> Result<Self, AuthError> {
        Self::load(JwksSource::Url(url.to_owned()), JWKS_URL_RECHECK)
    }

    fn load(source: JwksSource, recheck: Duration) -> Result<Self, AuthError> {
        let modified = modified(&source);
        let keys = read_jwks(&source)?;
        Ok(Self {
            source,
            recheck,
            cache: RwLock::new(JwksCache {
                keys,
                modified,
                checked: Instant::now(),
                last_miss: None,
            }),
        })
    }

    pub(crate) fn key(&self, kid: &str, alg: Algorithm) -> Result<DecodingKey, AuthError> {
        self.recheck_if_due();
        let found = {
            let cache = self.cache.read().unwrap_or_else(|e| e.into_inner());
            cache.keys.get(kid).cloned()
        };
        let found = match found {
            Some(k) => k,
            None => self.reload_for(kid)?,
        };
        if found.algorithm != alg {
            return Err(invalid(format!(
                "key {kid:?} is for {:?}, the token says {alg:?}",
                found.algorithm
            )));
        }
        Ok(found.key)
    }

    fn reload_for(&self, kid: &str) -> Result<JwksKey, AuthError> {
        let mut cache = self.cache.write().unwrap_or_else(|e| e.into_inner());
        // Another request may have reloaded while this one waited for the lock.
        if let Some(k) = cache.keys.get(kid) {
            return Ok(k.clone());
        }
        if cache
            .last_miss
            .is_some_and(|t| t.elapsed() < JWKS_RELOAD_BACKOFF)
        {
            return Err(invalid(format!("unknown key {kid:?}")));
        }
        self.reload(&mut cache);
        match cache.keys.get(kid) {
            Some(k) => {
                tracing::info!(kid, "JWKS reloaded with a new key");
                Ok(k.clone())
            }
            None => {
                cache.last_miss = Some(Instant::now());
                Err(invalid(format!("unknown key {kid:?}")))
            }
        }
    }

    fn recheck_if_due(&self) {
        let due = |cache: &JwksCache| cache.checked.elapsed() >= self.recheck;
        if !due(&self.cache.read().unwrap_or_else(|e| e.into_inner())) {
            return;
        }
        let mut cache = self.cache.write().unwrap_or_else(|e| e.into_inner());
        if !due(&cache) {
            return;
        }
        cache.checked = Instant::now();
        match &self.source {
            JwksSource::File(_) => {
                let now = modified(&self.source);
                if now.is_some() && now != cache.modified {
                    self.reload(&mut cache);
                }
            }
            JwksSource::Url(_) => self.reload(&mut cache),
        }
    }

    /// Replaces the keys held with the file's; keeps them when the file is unreadable.
    fn reload(&self, cache: &mut JwksCache) {
        let modified = modified(&self.source);
        match read_jwks(&self.source) {
            Ok(keys) => {
                cache.keys = keys;
                cache.modified = modified;
            }
            Err(e) => tracing::warn!(error = %e, "cannot reload the JWKS; keeping the keys held"),
        }
    }
}

fn modified(source: &JwksSource) -> Option<SystemTime> {
    match source {
        JwksSource::File(path) => std::fs::metadata(path).and_then(|m| m.modified()).ok(),
        JwksSource::Url(_) => None,
    }
}

/// The JWKS document's text, from its file or its URL.
fn fetch_jwks(source: &JwksSource) -> Result<String, String> {
    match source {
        JwksSource::File(path) => std::fs::read_to_string(path).map_err(|e| e.to_string()),
        JwksSource::Url(url) => {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .timeout_global(Some(JWKS_FETCH_TIMEOUT))
                .build()
                .into();
            let mut response = agent.get(url).call().map_err(|e| e.to_string())?;
            response
                .body_mut()
                .with_config()
                .limit(1 << 20)
                .read_to_string()
                .map_err(|e| e.to_string())
        }
    }
}

/// The RSA and P-256 signing keys of a JWKS. Keys without a `kid` cannot be chosen, symmetric
/// keys must never be published, and encryption keys do not sign, so all three are skipped
/// with a warning.
fn read_jwks(source: &JwksSource) -> Result<HashMap<String, JwksKey>, AuthError> {
    let path = source;
    let fail = |message: String| AuthError::Jwks {
        path: source.to_string(),
        message,
    };
    let text = fetch_jwks(source).map_err(fail)?;
    let set: JwkSet = serde_json::from_str(&text).map_err(|e| fail(e.to_string()))?;
    let mut keys = HashMap::new();
    for jwk in &set.keys {
        let Some(kid) = jwk.common.key_id.clone() else {
            tracing::warn!(path = %path, "JWKS key without kid skipped");
            continue;
        };
        if matches!(
            jwk.common.public_key_use,
            Some(PublicKeyUse::Encryption | PublicKeyUse::Other(_))
        ) {
            tracing::warn!(kid, path = %path, "JWKS key not meant for signatures skipped");
            continue;
        }
        let algorithm = match (&jwk.algorithm, jwk.common.key_algorithm) {
            (AlgorithmParameters::RSA(_), None | Some(KeyAlgorithm::RS256)) => Algorithm::RS256,
            (AlgorithmParameters::EllipticCurve(p), None | Some(KeyAlgorithm::ES256))
                if p.curve == EllipticCurve::P256 =>
            {
                Algorithm::ES256
            }
            _ => {
                tracing::warn!(kid, path = %path, "JWKS key of an unsupported kind skipped");
                continue;
            }
        };
        let key = DecodingKey::from_jwk(jwk).map_err(|e| fail(format!("key {kid:?}: {e}")))?;
        keys.insert(kid, JwksKey { algorithm, key });
    }
    if keys.is_empty() {
        return Err(fail("it holds no RS256 or ES256 key with a kid".into()));
    }
    Ok(keys)
}

/// What `styr token` asks for.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    pub role: String,
    pub org: String,
    pub sub: Option<String>,
    pub name: Option<String>,
    pub dept: Option<String>,
    pub ttl: Duration,
}

impl TokenRequest {
    fn claims(&self) -> Result<Claims, AuthError> {
        if !ROLES.contains(&self.role.as_str()) {
            return Err(AuthError::BadRequest(format!(
                "role {:?} is not one of {}",
                self.role,
                ROLES.join(", ")
            )));
        }
        if !is_code(&self.org) {
            return Err(AuthError::BadRequest(format!(
                "organisation {:?} must be an upper-case code like HOD or DMP",
                self.org
            )));
        }
        if let Some(d) = self.dept.as_deref().filter(|d| !is_code(d)) {
            return Err(AuthError::BadRequest(format!(
                "department {d:?} must be an upper-case code like SHA"
            )));
        }
        if self.ttl.is_zero() {
            return Err(AuthError::BadRequest(
                "the lifetime must be longer than zero".into(),
            ));
        }
        let now = Utc::now().timestamp();
        let sub = self
            .sub
            .clone()
            .unwrap_or_else(|| format!("{}-{}", self.role, self.org.to_lowercase()));
        Ok(Claims {
            name: self.name.clone().unwrap_or_else(|| sub.clone()),
            sub,
            role: self.role.clone(),
            org: self.org.clone(),
            dept: self.dept.clone(),
            iat: now,
            exp: now.saturating_add(i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX / 2)),
        })
    }
}

/// Parses `90s`, `30m`, `8h` or `7d`.
pub fn parse_ttl(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (digits, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 30m, 8h or 7d"))?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{s:?} is not a duration like 30m, 8h or 7d")),
    };
    n.checked_mul(secs)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{s:?} is too long"))
}

/// Reads the secret file, or creates it with 32 random bytes (hex) readable by the owner only,
/// so a fresh install works without configuration and the secret survives restarts.
fn load_or_create_secret(path: &Path) -> Result<SecretString, AuthError> {
    let fail = |message: String| AuthError::Secret {
        path: path.display().to_string(),
        message,
    };
    match std::fs::read_to_string(path) {
        Ok(s) if s.trim().len() >= 32 => return Ok(SecretString::from(s.trim().to_owned())),
        Ok(_) => {
            return Err(fail(
                "the secret in it is shorter than 32 characters".into(),
            ));
        }
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(fail(e.to_string())),
        Err(_) => {}
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))?;
    }
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| fail(e.to_string()))?;
    let secret = hex::encode(bytes);
    write_private(path, &secret).map_err(|e| fail(e.to_string()))?;
    Ok(SecretString::from(secret))
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn keys() -> TokenKeys {
        TokenKeys::from_source(&JwtSecretSource::Value(SecretString::from(
            "a-test-secret-that-is-long-enough-123".to_owned(),
        )))
        .unwrap()
    }

    fn request(role: &str, org: &str) -> TokenRequest {
        TokenRequest {
            role: role.into(),
            org: org.into(),
            sub: None,
            name: None,
            dept: Some("SHA".into()),
            ttl: Duration::from_secs(3600),
        }
    }

    #[test]
    fn issued_tokens_verify_with_their_claims() {
        let k = keys();
        let token = k.issue(&request("ministry", "HOD")).unwrap();
        let claims = k.verify(&token).unwrap();
        assert_eq!(
            (claims.role.as_str(), claims.org.as_str()),
            ("ministry", "HOD")
        );
        assert_eq!(claims.dept.as_deref(), Some("SHA"));
        assert_eq!(claims.exp - claims.iat, 3600);
    }

    #[test]
    fn tokens_from_another_secret_or_tampered_are_refused() {
        let token = keys().issue(&request("agency", "DMP")).unwrap();
        let other = TokenKeys::from_source(&JwtSecretSource::Value(SecretString::from(
            "another-secret-that-is-long-enough-456".to_owned(),
        )))
        .unwrap();
        assert!(other.verify(&token).is_err());
        let mut forged = token.clone();
        forged.insert(forged.len() - 3, 'x');
        assert!(keys().verify(&forged).is_err());
        assert!(keys().verify("not a token").is_err());
    }

    #[test]
    fn bad_requests_are_refused() {
        assert!(keys().issue(&request("boss", "HOD")).is_err());
        assert!(keys().issue(&request("agency", "dmp")).is_err());
        let mut zero = request("agency", "DMP");
        zero.ttl = Duration::ZERO;
        assert!(keys().issue(&zero).is_err());
    }

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name)
    }

    fn jwks_settings(path: &Path) -> Settings {
        let env = std::collections::BTreeMap::from([(
            "STYR_JWKS".to_owned(),
            path.to_str().unwrap().to_owned(),
        )]);
        Settings::from_sources(&env).unwrap()
    }

    #[test]
    fn the_jwks_holds_only_signing_keys_with_ids() {
        let keys = read_jwks(&JwksSource::File(fixture("jwks.json"))).unwrap();
        let mut kinds: Vec<_> = keys
            .iter()
            .map(|(kid, k)| (kid.as_str(), k.algorithm))
            .collect();
        kinds.sort_by_key(|(kid, _)| *kid);
        assert_eq!(
            kinds,
            [
                ("test-ec-1", Algorithm::ES256),
                ("test-rsa-1", Algorithm::RS256)
            ]
        );
        assert!(Verifier::from_settings(&jwks_settings(&fixture("jwks.json"))).is_ok());
    }

    #[test]
    fn a_key_withdrawn_from_the_jwks_file_stops_verifying() {
        let dir = std::env::temp_dir().join(format!("styr-jwks-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("jwks.json");
        std::fs::copy(fixture("jwks.json"), &path).unwrap();
        let verifier = Verifier {
            secret: None,
            jwks: Some(Jwks::load(JwksSource::File(path.clone()), Duration::ZERO).unwrap()),
            algorithms: vec![TokenAlgorithm::Rs256, TokenAlgorithm::Es256],
            issuer: None,
            audience: None,
        };
        let claims = Claims {
            sub: "kari".into(),
            name: "Kari".into(),
            role: "agency".into(),
            org: "DMP".into(),
            dept: None,
            iat: Utc::now().timestamp(),
            exp: Utc::now().timestamp() + 600,
        };
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some("test-rsa-1".into());
        let key = EncodingKey::from_rsa_der(&std::fs::read(fixture("rsa1.der")).unwrap());
        let token = jsonwebtoken::encode(&header, &claims, &key).unwrap();
        assert_eq!(verifier.verify(&token).unwrap(), claims);
        // The provider withdraws the RSA key and keeps the EC one.
        let mut set: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        set["keys"]
            .as_array_mut()
            .unwrap()
            .retain(|k| k["kid"] != "test-rsa-1");
        std::fs::write(&path, set.to_string()).unwrap();
        let refused = verifier.verify(&token);
        assert!(
            matches!(&refused, Err(AuthError::InvalidToken(m)) if m.contains("unknown key")),
            "{refused:?}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_missing_or_useless_jwks_stops_start_up() {
        let missing = Verifier::from_settings(&jwks_settings(Path::new("/nonexistent/jwks.json")));
        assert!(matches!(missing, Err(AuthError::Jwks { .. })));
        let dir = std::env::temp_dir().join(format!("styr-jwks-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("jwks.json");
        // A symmetric key, a key without an id and an encryption key are skipped, leaving
        // nothing to verify with.
        std::fs::write(
            &path,
            r#"{"keys":[{"kty":"oct","kid":"k","k":"c2VjcmV0"},
                {"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"},
                {"kty":"RSA","use":"enc","kid":"e","n":"AQAB","e":"AQAB"}]}"#,
        )
        .unwrap();
        let useless = Verifier::from_settings(&jwks_settings(&path));
        assert!(
            matches!(&useless, Err(AuthError::Jwks { message, .. }) if message.contains("no RS256 or ES256")),
            "{useless:?}"
        );
        std::fs::write(&path, "not json").unwrap();
        assert!(Verifier::from_settings(&jwks_settings(&path)).is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn sessions_are_neither_bearer_tokens_nor_flows() {
        let settings = Settings::from_sources(&std::collections::BTreeMap::from([(
            "STYR_JWT_SECRET".to_owned(),
            "a-test-secret-that-is-long-enough-123".to_owned(),
        )]))
        .unwrap();
        let sessions = SessionKeys::from_settings(&settings).unwrap();
        let claims = keys().verify(&keys().issue(&request("agency", "DMP")).unwrap());
        let claims = claims.unwrap();
        let session = sessions
            .issue_session(&claims, Duration::from_secs(600))
            .unwrap();
        let back = sessions.verify_session(&session).unwrap();
        assert_eq!(
            (back.sub, back.org),
            (claims.sub.clone(), claims.org.clone())
        );
        assert!(back.exp > claims.iat, "the session's own lifetime");
        // The same secret, but a derived key: a session is no bearer token, and the reverse.
        assert!(keys().verify(&session).is_err());
        let bearer = keys().issue(&request("agency", "DMP")).unwrap();
        assert!(sessions.verify_session(&bearer).is_err());
        // Sealed for another purpose, it is not a session either.
        let other = sessions
            .seal("styr:oidc-flow", &claims, Duration::from_secs(600))
            .unwrap();
        assert!(sessions.verify_session(&other).is_err());
        let mut forged = session.clone();
        forged.insert(forged.len() - 3, 'x');
        assert!(sessions.verify_session(&forged).is_err());
        // An identity the rules refuse does not become a session that verifies.
        let mut boss = claims.clone();
        boss.role = "boss".into();
        let refused = sessions
            .issue_session(&boss, Duration::from_secs(600))
            .unwrap();
        assert!(sessions.verify_session(&refused).is_err());
    }

    #[test]
    fn ttl_parses_units() {
        assert_eq!(parse_ttl("8h").unwrap(), Duration::from_secs(8 * 3600));
        assert_eq!(parse_ttl("30m").unwrap(), Duration::from_secs(1800));
        assert_eq!(parse_ttl("2d").unwrap(), Duration::from_secs(172_800));
        assert!(parse_ttl("8").is_err());
        assert!(parse_ttl("h").is_err());
        assert!(parse_ttl("5w").is_err());
    }

    #[test]
    fn the_secret_file_is_created_once_and_kept() {
        let dir = std::env::temp_dir().join(format!("styr-secret-{}", uuid::Uuid::new_v4()));
        let path = dir.join("jwt.secret");
        let first = load_or_create_secret(&path).unwrap();
        let second = load_or_create_secret(&path).unwrap();
        assert_eq!(first.expose_secret(), second.expose_secret());
        assert_eq!(first.expose_secret().len(), 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
