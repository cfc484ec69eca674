//! Bearer tokens: HS256 JWTs carrying who the caller is (subject, name, role, organisation,
//! department). `styr token` issues development tokens; the server verifies them per request.

use std::path::Path;
use std::time::Duration;

use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::settings::JwtSecretSource;

/// The roles a token can carry.
pub const ROLES: [&str; 4] = ["ministry", "agency", "auditor", "admin"];

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
    pub iat: i64,
    pub exp: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the token is not valid: {0}")]
    InvalidToken(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("cannot read or create the token secret {path}: {message}")]
    Secret { path: String, message: String },
}

/// The signing key, resolved once at start-up.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
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
        })
    }

    pub fn issue(&self, request: &TokenRequest) -> Result<String, AuthError> {
        let claims = request.claims()?;
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AuthError::BadRequest(format!("cannot sign the token: {e}")))
    }

    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 30;
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map_err(|e| AuthError::InvalidToken(e.to_string()))?;
        let claims = data.claims;
        if !ROLES.contains(&claims.role.as_str()) {
            return Err(AuthError::InvalidToken(format!(
                "unknown role {:?}",
                claims.role
            )));
        }
        Ok(claims)
    }
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
        let code_ok = |c: &str| {
            (2..=12).contains(&c.len())
                && c.chars()
                    .all(|ch| ch.is_ascii_uppercase() || ch.is_ascii_digit())
        };
        if !code_ok(&self.org) {
            return Err(AuthError::BadRequest(format!(
                "organisation {:?} must be an upper-case code like HOD or DMP",
                self.org
            )));
        }
        if let Some(d) = self.dept.as_deref().filter(|d| !code_ok(d)) {
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
