//! Typed settings: built-in defaults < optional `styr.toml` < `STYR_*` environment variables.
//! Every value is parsed here, once; a bad one is reported naming the setting and the variable
//! that sets it. Secrets are held in [`SecretString`] and never printed.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use styr_workflow::delivery::{Channel, ChannelKind, Recipient};

use secrecy::SecretString;
use serde::Deserialize;
use styr_eventstore::{BackendKind, redact_url};

/// One setting: its key in `styr.toml`, the environment variable and the default.
struct Key {
    name: &'static str,
    env: &'static str,
    default: Option<&'static str>,
}

const KEYS: &[Key] = &[
    Key {
        name: "database_url",
        env: "STYR_DATABASE_URL",
        default: Some("sqlite://./data/styr.db"),
    },
    Key {
        name: "database_max_connections",
        env: "STYR_DATABASE_MAX_CONNECTIONS",
        default: Some("10"),
    },
    Key {
        name: "database_connect_timeout_secs",
        env: "STYR_DATABASE_CONNECT_TIMEOUT_SECS",
        default: Some("30"),
    },
    Key {
        name: "listen",
        env: "STYR_LISTEN",
        default: Some("127.0.0.1:8080"),
    },
    Key {
        name: "jwt_secret",
        env: "STYR_JWT_SECRET",
        default: None,
    },
    Key {
        name: "jwt_secret_file",
        env: "STYR_JWT_SECRET_FILE",
        default: Some("./data/jwt.secret"),
    },
    Key {
        name: "jwks",
        env: "STYR_JWKS",
        default: None,
    },
    Key {
        name: "jwt_issuer",
        env: "STYR_JWT_ISSUER",
        default: None,
    },
    Key {
        name: "jwt_audience",
        env: "STYR_JWT_AUDIENCE",
        default: None,
    },
    Key {
        name: "jwt_algorithms",
        env: "STYR_JWT_ALGORITHMS",
        default: None,
    },
    Key {
        name: "max_query_depth",
        env: "STYR_MAX_QUERY_DEPTH",
        default: Some("16"),
    },
    Key {
        name: "max_query_complexity",
        env: "STYR_MAX_QUERY_COMPLEXITY",
        default: Some("2000"),
    },
    Key {
        name: "max_query_aliases",
        env: "STYR_MAX_QUERY_ALIASES",
        default: Some("50"),
    },
    Key {
        name: "max_batch",
        env: "STYR_MAX_BATCH",
        default: Some("10"),
    },
    Key {
        name: "max_body_bytes",
        env: "STYR_MAX_BODY_BYTES",
        default: Some("1048576"),
    },
    Key {
        name: "request_timeout_secs",
        env: "STYR_REQUEST_TIMEOUT_SECS",
        default: Some("30"),
    },
    Key {
        name: "log_format",
        env: "STYR_LOG_FORMAT",
        default: Some("pretty"),
    },
    Key {
        name: "log_level",
        env: "STYR_LOG_LEVEL",
        default: Some("info"),
    },
    Key {
        name: "dev",
        env: "STYR_DEV",
        default: Some("false"),
    },
    Key {
        name: "shutdown_timeout_secs",
        env: "STYR_SHUTDOWN_TIMEOUT_SECS",
        default: Some("30"),
    },
    Key {
        name: "deadline_monitor_secs",
        env: "STYR_DEADLINE_MONITOR_SECS",
        default: Some("600"),
    },
    Key {
        name: "otlp_endpoint",
        env: "STYR_OTLP_ENDPOINT",
        default: None,
    },
    Key {
        name: "otlp_service_name",
        env: "STYR_OTLP_SERVICE_NAME",
        default: Some("styr"),
    },
    Key {
        name: "copy_dir",
        env: "STYR_COPY_DIR",
        default: None,
    },
    Key {
        name: "copy_webhook_url",
        env: "STYR_COPY_WEBHOOK_URL",
        default: None,
    },
    Key {
        name: "copy_webhook_token",
        env: "STYR_COPY_WEBHOOK_TOKEN",
        default: None,
    },
    Key {
        name: "copy_ministry_dir",
        env: "STYR_COPY_MINISTRY_DIR",
        default: None,
    },
    Key {
        name: "copy_delivery_secs",
        env: "STYR_COPY_DELIVERY_SECS",
        default: Some("10"),
    },
    Key {
        name: "checkpoint_key",
        env: "STYR_CHECKPOINT_KEY",
        default: None,
    },
    Key {
        name: "checkpoint_key_file",
        env: "STYR_CHECKPOINT_KEY_FILE",
        default: None,
    },
    Key {
        name: "checkpoint_public_key",
        env: "STYR_CHECKPOINT_PUBLIC_KEY",
        default: None,
    },
    Key {
        name: "oidc_issuer",
        env: "STYR_OIDC_ISSUER",
        default: None,
    },
    Key {
        name: "oidc_client_id",
        env: "STYR_OIDC_CLIENT_ID",
        default: None,
    },
    Key {
        name: "oidc_client_secret",
        env: "STYR_OIDC_CLIENT_SECRET",
        default: None,
    },
    Key {
        name: "oidc_redirect_url",
        env: "STYR_OIDC_REDIRECT_URL",
        default: None,
    },
    Key {
        name: "oidc_scopes",
        env: "STYR_OIDC_SCOPES",
        default: Some("openid profile"),
    },
];

/// The variable naming an alternative settings file (default `./styr.toml`, optional).
pub const CONFIG_FILE_VAR: &str = "STYR_CONFIG";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Where the HS256 signing secret for tokens comes from.
#[derive(Debug, Clone)]
pub enum JwtSecretSource {
    /// Given directly (`STYR_JWT_SECRET`).
    Value(SecretString),
    /// Read from a file, created with a random secret on first use.
    File(PathBuf),
}

/// Where the public keys for RS256/ES256 tokens come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksSource {
    /// A JWKS document on disk, re-read when a token names a key it does not hold.
    File(PathBuf),
    /// The identity provider's JWKS endpoint (`https://…`; plain `http://` only on the loopback
    /// interface, for a local sidecar), fetched at start-up, every few minutes, and when a
    /// token names a key not held.
    Url(String),
}

impl std::fmt::Display for JwksSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JwksSource::File(p) => write!(f, "{}", p.display()),
            JwksSource::Url(u) => f.write_str(u),
        }
    }
}

/// A token signature algorithm the server can accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TokenAlgorithm {
    /// HMAC with the shared secret.
    Hs256,
    /// RSA, key from the JWKS.
    Rs256,
    /// ECDSA P-256, key from the JWKS.
    Es256,
}

impl TokenAlgorithm {
    pub fn name(self) -> &'static str {
        match self {
            TokenAlgorithm::Hs256 => "HS256",
            TokenAlgorithm::Rs256 => "RS256",
            TokenAlgorithm::Es256 => "ES256",
        }
    }
}

/// Where `styr serve` sends its traces (OpenTelemetry over OTLP/HTTP with protobuf bodies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtlpSettings {
    /// The collector's base URL as configured, e.g. `http://collector:4318`.
    pub endpoint: String,
    /// The `service.name` resource attribute of every exported span.
    pub service_name: String,
}

impl OtlpSettings {
    /// The URL spans are posted to: the base URL with `/v1/traces`, unless it already ends so.
    pub fn traces_url(&self) -> String {
        let base = self.endpoint.trim_end_matches('/');
        if base.ends_with("/v1/traces") {
            base.to_owned()
        } else {
            format!("{base}/v1/traces")
        }
    }
}

/// Sign-in to the web pages through the organisation's identity provider (OpenID Connect,
/// authorization-code flow with PKCE). `None` unless an issuer is configured.
#[derive(Debug, Clone)]
pub struct OidcSettings {
    /// The provider's issuer URL; its discovery document is at
    /// `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    /// For a confidential client (sent with HTTP Basic authentication); a public client sends
    /// none and relies on PKCE alone.
    pub client_secret: Option<SecretString>,
    /// Where the provider sends the browser back: this server's `/auth/callback`, exactly as
    /// registered with the provider.
    pub redirect_url: String,
    /// The scopes asked for; always includes `openid`.
    pub scopes: Vec<String>,
}

/// Limits on what one request may cost.
#[derive(Debug, Clone)]
pub struct RequestLimits {
    /// Depth, complexity, aliases and introspection of one GraphQL document.
    pub graphql: styr_graphql::Limits,
    /// Operations in one batched request.
    pub max_batch: usize,
    /// Bytes in one request body.
    pub max_body_bytes: usize,
    /// How long one request (a whole batch) may run.
    pub request_timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// May contain a password: log [`Settings::database_url_redacted`] instead.
    pub database_url: String,
    pub database_max_connections: u32,
    pub database_connect_timeout: Duration,
    pub listen: SocketAddr,
    pub jwt_secret: JwtSecretSource,
    /// Public keys for RS256/ES256 tokens.
    pub jwks: Option<JwksSource>,
    /// When set, tokens must carry this `iss`.
    pub jwt_issuer: Option<String>,
    /// When set, tokens must carry this `aud`.
    pub jwt_audience: Option<String>,
    /// The algorithms accepted; each needs its key (HS256 the secret, RS256/ES256 the JWKS).
    pub jwt_algorithms: Vec<TokenAlgorithm>,
    pub limits: RequestLimits,
    pub log_format: LogFormat,
    pub log_level: String,
    /// Development conveniences: GraphiQL at `GET /graphql`, introspection.
    pub dev: bool,
    pub shutdown_timeout: Duration,
    /// How often the server marks deadlines that have passed as missed.
    pub deadline_monitor_every: Duration,
    /// Trace export; `None` (the default) installs no exporter at all.
    pub otlp: Option<OtlpSettings>,
    /// Where copies of the correspondence go (none configured: every copy stays owed).
    pub copy_channels: Vec<Channel>,
    pub copy_delivery_every: Duration,
    /// The Ed25519 key that signs log checkpoints (32 bytes, hex or base64).
    pub checkpoint_key: Option<SecretString>,
    /// The public key checkpoints are verified with; derived from the signing key if unset.
    pub checkpoint_public_key: Option<String>,
    /// Web sign-in through an identity provider; `None` leaves only the development picker.
    pub oidc: Option<OidcSettings>,
}

/// A bad setting: which one, where it came from, and what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("invalid setting {setting} ({env}): {message}")]
pub struct SettingsError {
    pub setting: String,
    pub env: String,
    pub message: String,
}

impl SettingsError {
    fn new(key: &Key, message: impl Into<String>) -> Self {
        Self {
            setting: key.name.to_owned(),
            env: key.env.to_owned(),
            message: message.into(),
        }
    }

    fn file(path: &Path, message: impl std::fmt::Display) -> Self {
        Self {
            setting: "config file".to_owned(),
            env: CONFIG_FILE_VAR.to_owned(),
            message: format!("{}: {message}", path.display()),
        }
    }
}

/// The file's shape: every key optional, unknown keys refused so a typo is not ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    database_url: Option<String>,
    database_max_connections: Option<u32>,
    database_connect_timeout_secs: Option<u64>,
    listen: Option<String>,
    jwt_secret: Option<String>,
    jwt_secret_file: Option<String>,
    jwks: Option<String>,
    jwt_issuer: Option<String>,
    jwt_audience: Option<String>,
    jwt_algorithms: Option<String>,
    max_query_depth: Option<u64>,
    max_query_complexity: Option<u64>,
    max_query_aliases: Option<u64>,
    max_batch: Option<u64>,
    max_body_bytes: Option<u64>,
    request_timeout_secs: Option<u64>,
    log_format: Option<String>,
    log_level: Option<String>,
    dev: Option<bool>,
    shutdown_timeout_secs: Option<u64>,
    deadline_monitor_secs: Option<u64>,
    otlp_endpoint: Option<String>,
    otlp_service_name: Option<String>,
    copy_dir: Option<String>,
    copy_webhook_url: Option<String>,
    copy_webhook_token: Option<String>,
    copy_ministry_dir: Option<String>,
    copy_delivery_secs: Option<u64>,
    checkpoint_key: Option<String>,
    checkpoint_key_file: Option<String>,
    checkpoint_public_key: Option<String>,
    oidc_issuer: Option<String>,
    oidc_client_id: Option<String>,
    oidc_client_secret: Option<String>,
    oidc_redirect_url: Option<String>,
    oidc_scopes: Option<String>,
}

impl Settings {
    /// Loads from the process environment and the settings file it points to.
    pub fn load() -> Result<Self, SettingsError> {
        let env: BTreeMap<String, String> = std::env::vars().collect();
        Self::from_sources(&env)
    }

    /// Loads from the given environment (tests pass their own).
    pub fn from_sources(env: &BTreeMap<String, String>) -> Result<Self, SettingsError> {
        let (path, required) = match env.get(CONFIG_FILE_VAR) {
            Some(p) => (PathBuf::from(p), true),
            None => (PathBuf::from("styr.toml"), false),
        };
        let file = read_file(&path, required)?;
        let file_values = file_values(&file);
        let value = |key: &Key| -> Option<String> {
            env.get(key.env)
                .cloned()
                .or_else(|| file_values.get(key.name).cloned())
                .or_else(|| key.default.map(str::to_owned))
        };
        let key = |name: &str| KEYS.iter().find(|k| k.name == name).expect("known key");
        let required_value = |name: &str| value(key(name)).unwrap_or_default();

        let database_url = required_value("database_url");
        BackendKind::from_url(&database_url).map_err(|_| {
            SettingsError::new(
                key("database_url"),
                format!(
                    "{} must start with sqlite:// or postgres://",
                    redact_url(&database_url)
                ),
            )
        })?;
        let listen_raw = required_value("listen");
        let listen = listen_raw.parse::<SocketAddr>().map_err(|_| {
            SettingsError::new(
                key("listen"),
                format!("{listen_raw:?} is not an address like 127.0.0.1:8080"),
            )
        })?;
        let log_format = match required_value("log_format").as_str() {
            "pretty" => LogFormat::Pretty,
            "json" => LogFormat::Json,
            other => {
                return Err(SettingsError::new(
                    key("log_format"),
                    format!("{other:?} is not one of json, pretty"),
                ));
            }
        };
        let jwt_secret = match value(key("jwt_secret")) {
            Some(s) if s.len() < 32 => {
                return Err(SettingsError::new(
                    key("jwt_secret"),
                    format!("must be at least 32 characters, it has {}", s.len()),
                ));
            }
            Some(s) => JwtSecretSource::Value(SecretString::from(s)),
            None => JwtSecretSource::File(PathBuf::from(required_value("jwt_secret_file"))),
        };
        let jwks = value(key("jwks"))
            .filter(|s| !s.trim().is_empty())
            .map(|s| parse_jwks(key("jwks"), &s))
            .transpose()?;
        let optional_text = |name: &str| value(key(name)).filter(|s| !s.trim().is_empty());
        let jwt_algorithms = match value(key("jwt_algorithms")) {
            Some(raw) => parse_algorithms(key("jwt_algorithms"), &raw, jwks.is_some())?,
            None if jwks.is_some() => vec![TokenAlgorithm::Rs256, TokenAlgorithm::Es256],
            None => vec![TokenAlgorithm::Hs256],
        };
        let dev = parse_bool(key("dev"), &required_value("dev"))?;
        let number = |name: &str, min: usize, max: usize| {
            parse_number(key(name), &required_value(name), min, max)
        };
        let otlp = optional_text("otlp_endpoint")
            .map(|raw| parse_otlp_endpoint(key("otlp_endpoint"), &raw))
            .transpose()?;
        let otlp_service_name = required_value("otlp_service_name").trim().to_owned();
        if otlp_service_name.is_empty() {
            return Err(SettingsError::new(
                key("otlp_service_name"),
                "must not be empty",
            ));
        }
        let otlp = otlp.map(|endpoint| OtlpSettings {
            endpoint,
            service_name: otlp_service_name,
        });
        let limits = RequestLimits {
            graphql: styr_graphql::Limits {
                max_depth: number("max_query_depth", 1, 1_000)?,
                max_complexity: number("max_query_complexity", 1, 10_000_000)?,
                max_aliases: number("max_query_aliases", 0, 1_000_000)?,
                introspection: dev,
            },
            max_batch: number("max_batch", 1, 1_000)?,
            max_body_bytes: number("max_body_bytes", 1_024, 1 << 30)?,
            request_timeout: Duration::from_secs(parse_number(
                key("request_timeout_secs"),
                &required_value("request_timeout_secs"),
                1,
                3600,
            )?),
        };
        Ok(Settings {
            database_url,
            database_max_connections: parse_number(
                key("database_max_connections"),
                &required_value("database_max_connections"),
                1,
                1000,
            )?,
            database_connect_timeout: Duration::from_secs(parse_number(
                key("database_connect_timeout_secs"),
                &required_value("database_connect_timeout_secs"),
                0,
                3600,
            )?),
            listen,
            jwt_secret,
            jwks,
            jwt_issuer: optional_text("jwt_issuer"),
            jwt_audience: optional_text("jwt_audience"),
            jwt_algorithms,
            limits,
            log_format,
            log_level: required_value("log_level"),
            dev,
            shutdown_timeout: Duration::from_secs(parse_number(
                key("shutdown_timeout_secs"),
                &required_value("shutdown_timeout_secs"),
                0,
                3600,
            )?),
            deadline_monitor_every: Duration::from_secs(parse_number(
                key("deadline_monitor_secs"),
                &required_value("deadline_monitor_secs"),
                1,
                86_400,
            )?),
            otlp,
            copy_channels: copy_channels(&optional_text, &key)?,
            copy_delivery_every: Duration::from_secs(parse_number(
                key("copy_delivery_secs"),
                &required_value("copy_delivery_secs"),
                1,
                86_400,
            )?),
            checkpoint_key: match (
                optional_text("checkpoint_key"),
                optional_text("checkpoint_key_file"),
            ) {
                (Some(k), _) => Some(SecretString::from(k)),
                (None, Some(path)) => {
                    Some(SecretString::from(std::fs::read_to_string(&path).map_err(
                        |e| SettingsError::new(key("checkpoint_key_file"), format!("{path}: {e}")),
                    )?))
                }
                (None, None) => None,
            },
            checkpoint_public_key: optional_text("checkpoint_public_key"),
            oidc: oidc_settings(&optional_text, &key)?,
        })
    }

    pub fn database_url_redacted(&self) -> String {
        redact_url(&self.database_url)
    }
}

/// The configured copy channels: directory drops and a webhook for Riksrevisjonen, and a
/// directory drop for copies owed to the ministry.
fn copy_channels(
    optional_text: &dyn Fn(&str) -> Option<String>,
    key: &dyn Fn(&str) -> &'static Key,
) -> Result<Vec<Channel>, SettingsError> {
    let mut channels = Vec::new();
    if let Some(dir) = optional_text("copy_dir") {
        channels.push(Channel {
            name: "rr-directory".into(),
            recipient: Recipient::Riksrevisjonen,
            kind: ChannelKind::Directory { dir: dir.into() },
        });
    }
    if let Some(url) = optional_text("copy_webhook_url") {
        let url = url.trim().to_owned();
        let ok = url.parse::<ureq::http::Uri>().is_ok_and(|u| {
            matches!(u.scheme_str(), Some("http" | "https")) && u.authority().is_some()
        });
        if !ok {
            return Err(SettingsError::new(
                key("copy_webhook_url"),
                format!("{:?} is not an https:// URL", redact_url(&url)),
            ));
        }
        channels.push(Channel {
            name: "rr-webhook".into(),
            recipient: Recipient::Riksrevisjonen,
            kind: ChannelKind::Webhook {
                url,
                bearer_token: optional_text("copy_webhook_token"),
                timeout: Duration::from_secs(30),
            },
        });
    }
    if let Some(dir) = optional_text("copy_ministry_dir") {
        channels.push(Channel {
            name: "ministry-directory".into(),
            recipient: Recipient::Ministry,
            kind: ChannelKind::Directory { dir: dir.into() },
        });
    }
    Ok(channels)
}

/// The identity provider's settings: all or nothing, so a half-configured sign-in is a start-up
/// error rather than a broken `/login`.
fn oidc_settings(
    optional_text: &dyn Fn(&str) -> Option<String>,
    key: &dyn Fn(&str) -> &'static Key,
) -> Result<Option<OidcSettings>, SettingsError> {
    let issuer = optional_text("oidc_issuer");
    let client_id = optional_text("oidc_client_id");
    let redirect_url = optional_text("oidc_redirect_url");
    let client_secret = optional_text("oidc_client_secret");
    let Some(issuer) = issuer else {
        for name in ["oidc_client_id", "oidc_redirect_url", "oidc_client_secret"] {
            if optional_text(name).is_some() {
                return Err(SettingsError::new(
                    key(name),
                    "is set but STYR_OIDC_ISSUER is not; set the issuer too, or unset this",
                ));
            }
        }
        return Ok(None);
    };
    let issuer = parse_https_url(key("oidc_issuer"), issuer.trim())?;
    let client_id = client_id
        .map(|c| c.trim().to_owned())
        .ok_or_else(|| SettingsError::new(key("oidc_client_id"), "is required with an issuer"))?;
    let redirect_url = redirect_url.ok_or_else(|| {
        SettingsError::new(key("oidc_redirect_url"), "is required with an issuer")
    })?;
    let redirect_url = parse_https_url(key("oidc_redirect_url"), redirect_url.trim())?;
    let path = redirect_url
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
        .unwrap_or("");
    if !path.ends_with("/auth/callback") {
        return Err(SettingsError::new(
            key("oidc_redirect_url"),
            format!(
                "{redirect_url:?} must end in /auth/callback, where the server takes the answer"
            ),
        ));
    }
    let mut scopes: Vec<String> = optional_text("oidc_scopes")
        .unwrap_or_default()
        .split([' ', ','])
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if !scopes.iter().any(|s| s == "openid") {
        scopes.insert(0, "openid".to_owned());
    }
    Ok(Some(OidcSettings {
        issuer,
        client_id,
        client_secret: client_secret.map(SecretString::from),
        redirect_url,
        scopes,
    }))
}

/// An `https://` URL, or `http://` on the loopback interface (a local test provider); no
/// credentials, no query, no fragment.
fn parse_https_url(key: &Key, raw: &str) -> Result<String, SettingsError> {
    let not_ok = |why: &str| SettingsError::new(key, format!("{:?} {why}", redact_url(raw)));
    let uri = raw
        .parse::<ureq::http::Uri>()
        .map_err(|_| not_ok("is not a URL"))?;
    let authority = uri.authority().ok_or_else(|| not_ok("has no host"))?;
    if authority.as_str().contains('@') {
        return Err(not_ok("must not hold credentials"));
    }
    if uri.query().is_some() || raw.contains('#') {
        return Err(not_ok("must not have a query or fragment"));
    }
    match uri.scheme_str() {
        Some("https") => {}
        Some("http")
            if matches!(
                authority.host(),
                "127.0.0.1" | "localhost" | "[::1]" | "::1"
            ) => {}
        _ => {
            return Err(not_ok(
                "must use https:// (plain http:// only on the loopback interface)",
            ));
        }
    }
    Ok(raw.to_owned())
}

fn read_file(path: &Path, required: bool) -> Result<FileSettings, SettingsError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
            return Ok(FileSettings::default());
        }
        Err(e) => return Err(SettingsError::file(path, e)),
    };
    toml::from_str::<FileSettings>(&text).map_err(|e| SettingsError::file(path, e.message()))
}

fn file_values(f: &FileSettings) -> BTreeMap<&'static str, String> {
    let mut m = BTreeMap::new();
    let mut put = |k: &'static str, v: Option<String>| {
        if let Some(v) = v {
            m.insert(k, v);
        }
    };
    put("database_url", f.database_url.clone());
    put(
        "database_max_connections",
        f.database_max_connections.map(|v| v.to_string()),
    );
    put(
        "database_connect_timeout_secs",
        f.database_connect_timeout_secs.map(|v| v.to_string()),
    );
    put("listen", f.listen.clone());
    put("jwt_secret", f.jwt_secret.clone());
    put("jwt_secret_file", f.jwt_secret_file.clone());
    put("jwks", f.jwks.clone());
    put("jwt_issuer", f.jwt_issuer.clone());
    put("jwt_audience", f.jwt_audience.clone());
    put("jwt_algorithms", f.jwt_algorithms.clone());
    put("max_query_depth", f.max_query_depth.map(|v| v.to_string()));
    put(
        "max_query_complexity",
        f.max_query_complexity.map(|v| v.to_string()),
    );
    put(
        "max_query_aliases",
        f.max_query_aliases.map(|v| v.to_string()),
    );
    put("max_batch", f.max_batch.map(|v| v.to_string()));
    put("max_body_bytes", f.max_body_bytes.map(|v| v.to_string()));
    put(
        "request_timeout_secs",
        f.request_timeout_secs.map(|v| v.to_string()),
    );
    put("log_format", f.log_format.clone());
    put("log_level", f.log_level.clone());
    put("dev", f.dev.map(|v| v.to_string()));
    put(
        "shutdown_timeout_secs",
        f.shutdown_timeout_secs.map(|v| v.to_string()),
    );
    put(
        "deadline_monitor_secs",
        f.deadline_monitor_secs.map(|v| v.to_string()),
    );
    put("otlp_endpoint", f.otlp_endpoint.clone());
    put("otlp_service_name", f.otlp_service_name.clone());
    put("copy_dir", f.copy_dir.clone());
    put("copy_webhook_url", f.copy_webhook_url.clone());
    put("copy_webhook_token", f.copy_webhook_token.clone());
    put("copy_ministry_dir", f.copy_ministry_dir.clone());
    put(
        "copy_delivery_secs",
        f.copy_delivery_secs.map(|v| v.to_string()),
    );
    put("checkpoint_key", f.checkpoint_key.clone());
    put("checkpoint_key_file", f.checkpoint_key_file.clone());
    put("checkpoint_public_key", f.checkpoint_public_key.clone());
    put("oidc_issuer", f.oidc_issuer.clone());
    put("oidc_client_id", f.oidc_client_id.clone());
    put("oidc_client_secret", f.oidc_client_secret.clone());
    put("oidc_redirect_url", f.oidc_redirect_url.clone());
    put("oidc_scopes", f.oidc_scopes.clone());
    m
}

/// An `http://` or `https://` URL with a host, e.g. `http://collector:4318`. Credentials in
/// the URL are refused (they would be logged); a collector that wants them gets a header
/// through `OTEL_EXPORTER_OTLP_HEADERS`.
fn parse_otlp_endpoint(key: &Key, raw: &str) -> Result<String, SettingsError> {
    let raw = raw.trim();
    let shown = redact_url(raw);
    let not_a_url = || {
        SettingsError::new(
            key,
            format!("{shown:?} is not an http:// or https:// URL like http://collector:4318"),
        )
    };
    let uri = raw.parse::<ureq::http::Uri>().map_err(|_| not_a_url())?;
    let authority = match (uri.scheme_str(), uri.authority()) {
        (Some("http" | "https"), Some(authority)) => authority,
        _ => return Err(not_a_url()),
    };
    if authority.as_str().contains('@') {
        return Err(SettingsError::new(
            key,
            "credentials do not belong in the URL; send them as a header with \
             OTEL_EXPORTER_OTLP_HEADERS",
        ));
    }
    if authority.host().is_empty() {
        return Err(not_a_url());
    }
    if uri.query().is_some() {
        return Err(SettingsError::new(
            key,
            format!("{shown:?} has a query; give the collector's base URL"),
        ));
    }
    Ok(raw.to_owned())
}

fn parse_jwks(key: &Key, raw: &str) -> Result<JwksSource, SettingsError> {
    let raw = raw.trim();
    if let Some(rest) = raw.strip_prefix("http://") {
        let host = rest.split(['/', '?']).next().unwrap_or("");
        let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
        if !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
            return Err(SettingsError::new(
                key,
                "a JWKS URL must use https:// (plain http:// is allowed only on the loopback interface)",
            ));
        }
        return Ok(JwksSource::Url(raw.to_owned()));
    }
    if raw.starts_with("https://") {
        return Ok(JwksSource::Url(raw.to_owned()));
    }
    Ok(JwksSource::File(PathBuf::from(raw)))
}

/// `HS256,RS256,ES256` (any subset, any order). Each needs its key: RS256 and ES256 a JWKS.
fn parse_algorithms(
    key: &Key,
    raw: &str,
    have_jwks: bool,
) -> Result<Vec<TokenAlgorithm>, SettingsError> {
    let mut algorithms = Vec::new();
    for name in raw.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let algorithm = match name.to_ascii_uppercase().as_str() {
            "HS256" => TokenAlgorithm::Hs256,
            "RS256" => TokenAlgorithm::Rs256,
            "ES256" => TokenAlgorithm::Es256,
            _ => {
                return Err(SettingsError::new(
                    key,
                    format!("{name:?} is not one of HS256, RS256, ES256"),
                ));
            }
        };
        if algorithm != TokenAlgorithm::Hs256 && !have_jwks {
            return Err(SettingsError::new(
                key,
                format!("{name} needs public keys: set STYR_JWKS"),
            ));
        }
        if !algorithms.contains(&algorithm) {
            algorithms.push(algorithm);
        }
    }
    if algorithms.is_empty() {
        return Err(SettingsError::new(
            key,
            "name at least one of HS256, RS256, ES256",
        ));
    }
    algorithms.sort();
    Ok(algorithms)
}

fn parse_number<T>(key: &Key, raw: &str, min: T, max: T) -> Result<T, SettingsError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    match raw.trim().parse::<T>() {
        Ok(v) if v >= min && v <= max => Ok(v),
        _ => Err(SettingsError::new(
            key,
            format!("{raw:?} is not a whole number from {min} to {max}"),
        )),
    }
}

fn parse_bool(key: &Key, raw: &str) -> Result<bool, SettingsError> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        other => Err(SettingsError::new(
            key,
            format!("{other:?} is not true or false"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_run_on_embedded_sqlite() {
        let s = Settings::from_sources(&env(&[])).unwrap();
        assert_eq!(s.database_url, "sqlite://./data/styr.db");
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
        assert!(!s.dev);
        assert!(matches!(s.jwt_secret, JwtSecretSource::File(_)));
    }

    #[test]
    fn token_algorithms_follow_the_keys_configured() {
        let s = Settings::from_sources(&env(&[])).unwrap();
        assert_eq!(s.jwt_algorithms, [TokenAlgorithm::Hs256]);
        assert_eq!((s.jwt_issuer, s.jwt_audience, s.jwks), (None, None, None));
        let s = Settings::from_sources(&env(&[("STYR_JWKS", "/etc/styr/jwks.json")])).unwrap();
        assert_eq!(
            s.jwt_algorithms,
            [TokenAlgorithm::Rs256, TokenAlgorithm::Es256]
        );
        assert_eq!(
            s.jwks,
            Some(JwksSource::File(PathBuf::from("/etc/styr/jwks.json")))
        );
        let s = Settings::from_sources(&env(&[
            ("STYR_JWKS", "/etc/styr/jwks.json"),
            ("STYR_JWT_ALGORITHMS", "es256, HS256,ES256"),
            ("STYR_JWT_ISSUER", "https://idp.example"),
            ("STYR_JWT_AUDIENCE", "styr"),
        ]))
        .unwrap();
        assert_eq!(
            s.jwt_algorithms,
            [TokenAlgorithm::Hs256, TokenAlgorithm::Es256]
        );
        assert_eq!(s.jwt_issuer.as_deref(), Some("https://idp.example"));
        assert_eq!(s.jwt_audience.as_deref(), Some("styr"));
    }

    #[test]
    fn limits_have_defaults_and_introspection_follows_dev() {
        let s = Settings::from_sources(&env(&[])).unwrap();
        assert_eq!(s.limits.graphql, styr_graphql::Limits::default());
        assert_eq!(s.limits.max_batch, 10);
        assert_eq!(s.limits.max_body_bytes, 1 << 20);
        assert_eq!(s.limits.request_timeout, Duration::from_secs(30));
        let s = Settings::from_sources(&env(&[
            ("STYR_DEV", "true"),
            ("STYR_MAX_QUERY_DEPTH", "8"),
            ("STYR_MAX_QUERY_ALIASES", "0"),
        ]))
        .unwrap();
        assert!(s.limits.graphql.introspection);
        assert_eq!(s.limits.graphql.max_depth, 8);
        assert_eq!(s.limits.graphql.max_aliases, 0);
    }

    #[test]
    fn environment_overrides_file_overrides_defaults() {
        let dir = std::env::temp_dir().join(format!("styr-settings-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("styr.toml");
        std::fs::write(
            &file,
            "listen = \"0.0.0.0:9000\"\ndev = true\ndatabase_max_connections = 4\n",
        )
        .unwrap();
        let path = file.to_str().unwrap();
        let s = Settings::from_sources(&env(&[(CONFIG_FILE_VAR, path)])).unwrap();
        assert_eq!(s.listen.to_string(), "0.0.0.0:9000");
        assert!(s.dev);
        assert_eq!(s.database_max_connections, 4);
        let s = Settings::from_sources(&env(&[
            (CONFIG_FILE_VAR, path),
            ("STYR_LISTEN", "127.0.0.1:1"),
        ]))
        .unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:1");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn bad_values_name_the_setting() {
        let cases = [
            ("STYR_LISTEN", "nowhere", "listen"),
            ("STYR_DATABASE_URL", "mysql://u:pw@h/db", "database_url"),
            ("STYR_LOG_FORMAT", "xml", "log_format"),
            ("STYR_DEV", "maybe", "dev"),
            (
                "STYR_DATABASE_MAX_CONNECTIONS",
                "0",
                "database_max_connections",
            ),
            ("STYR_JWT_SECRET", "short", "jwt_secret"),
            ("STYR_JWT_ALGORITHMS", "HS512", "jwt_algorithms"),
            ("STYR_JWT_ALGORITHMS", "RS256", "jwt_algorithms"),
            ("STYR_JWT_ALGORITHMS", " , ", "jwt_algorithms"),
            ("STYR_JWKS", "http://idp.example/jwks", "jwks"),
            ("STYR_MAX_QUERY_DEPTH", "0", "max_query_depth"),
            ("STYR_MAX_QUERY_COMPLEXITY", "lots", "max_query_complexity"),
            ("STYR_MAX_QUERY_ALIASES", "-1", "max_query_aliases"),
            ("STYR_MAX_BATCH", "0", "max_batch"),
            ("STYR_MAX_BODY_BYTES", "100", "max_body_bytes"),
            ("STYR_REQUEST_TIMEOUT_SECS", "0", "request_timeout_secs"),
            ("STYR_OTLP_ENDPOINT", "collector:4318", "otlp_endpoint"),
            (
                "STYR_OTLP_ENDPOINT",
                "grpc://collector:4317",
                "otlp_endpoint",
            ),
            ("STYR_OTLP_ENDPOINT", "http://", "otlp_endpoint"),
            (
                "STYR_OTLP_ENDPOINT",
                "http://u:pw@collector:4318",
                "otlp_endpoint",
            ),
            (
                "STYR_OTLP_ENDPOINT",
                "ftp://u:pw@collector",
                "otlp_endpoint",
            ),
            ("STYR_OTLP_SERVICE_NAME", " ", "otlp_service_name"),
        ];
        for (var, value, setting) in cases {
            let err = Settings::from_sources(&env(&[(var, value)])).unwrap_err();
            assert_eq!(err.setting, setting);
            assert_eq!(err.env, var);
            let text = err.to_string();
            assert!(!text.contains("pw@"), "passwords are masked: {text}");
        }
    }

    #[test]
    fn a_jwks_url_must_be_https_unless_on_loopback() {
        for (raw, ok) in [
            (
                "https://idp.example/realms/styr/protocol/openid-connect/certs",
                true,
            ),
            ("http://127.0.0.1:9000/jwks", true),
            ("http://localhost/jwks", true),
            ("http://idp.example/jwks", false),
            ("http://127.0.0.1.evil.example/jwks", false),
        ] {
            let s = Settings::from_sources(&env(&[("STYR_JWKS", raw)]));
            match (ok, s) {
                (true, Ok(s)) => assert_eq!(s.jwks, Some(JwksSource::Url(raw.to_owned()))),
                (false, Err(e)) => assert!(e.to_string().contains("https://"), "{e}"),
                (expected, got) => panic!("{raw}: expected ok={expected}, got {got:?}"),
            }
        }
    }

    #[test]
    fn trace_export_is_off_unless_an_endpoint_is_set() {
        let s = Settings::from_sources(&env(&[])).unwrap();
        assert_eq!(s.otlp, None);
        let s = Settings::from_sources(&env(&[("STYR_OTLP_ENDPOINT", " ")])).unwrap();
        assert_eq!(s.otlp, None, "blank is unset");
        let s = Settings::from_sources(&env(&[("STYR_OTLP_ENDPOINT", "http://collector:4318")]))
            .unwrap();
        let otlp = s.otlp.unwrap();
        assert_eq!(otlp.service_name, "styr");
        assert_eq!(otlp.traces_url(), "http://collector:4318/v1/traces");
        for (endpoint, url) in [
            ("https://otel.example/", "https://otel.example/v1/traces"),
            (
                "https://otel.example/otlp",
                "https://otel.example/otlp/v1/traces",
            ),
            ("http://[::1]:4318/v1/traces", "http://[::1]:4318/v1/traces"),
        ] {
            let s = Settings::from_sources(&env(&[
                ("STYR_OTLP_ENDPOINT", endpoint),
                ("STYR_OTLP_SERVICE_NAME", "styr-test"),
            ]))
            .unwrap();
            let otlp = s.otlp.unwrap();
            assert_eq!(otlp.traces_url(), url);
            assert_eq!(otlp.service_name, "styr-test");
        }
    }

    #[test]
    fn sign_in_through_a_provider_is_all_or_nothing() {
        let s = Settings::from_sources(&env(&[])).unwrap();
        assert!(s.oidc.is_none());
        let full = [
            ("STYR_OIDC_ISSUER", "https://login.example/realms/styr"),
            ("STYR_OIDC_CLIENT_ID", "styr-web"),
            ("STYR_OIDC_CLIENT_SECRET", "s3cret-value"),
            (
                "STYR_OIDC_REDIRECT_URL",
                "https://styr.example/auth/callback",
            ),
            ("STYR_OIDC_SCOPES", "profile email"),
        ];
        let s = Settings::from_sources(&env(&full)).unwrap();
        let oidc = s.oidc.clone().unwrap();
        assert_eq!(oidc.client_id, "styr-web");
        assert_eq!(oidc.scopes, ["openid", "profile", "email"]);
        assert!(
            !format!("{s:?}").contains("s3cret-value"),
            "the client secret is never printed"
        );
        for (missing, setting) in [
            ("STYR_OIDC_CLIENT_ID", "oidc_client_id"),
            ("STYR_OIDC_REDIRECT_URL", "oidc_redirect_url"),
            ("STYR_OIDC_ISSUER", "oidc_client_id"),
        ] {
            let partial: Vec<_> = full
                .iter()
                .copied()
                .filter(|(k, _)| *k != missing)
                .collect();
            let err = Settings::from_sources(&env(&partial)).unwrap_err();
            assert_eq!(err.setting, setting, "without {missing}");
        }
        for (var, value) in [
            ("STYR_OIDC_ISSUER", "http://login.example/realms/styr"),
            ("STYR_OIDC_ISSUER", "https://u:pw@login.example"),
            ("STYR_OIDC_REDIRECT_URL", "https://styr.example/callback"),
            (
                "STYR_OIDC_REDIRECT_URL",
                "http://styr.example/auth/callback",
            ),
        ] {
            let mut bad: Vec<_> = full.iter().copied().filter(|(k, _)| *k != var).collect();
            bad.push((var, value));
            let err = Settings::from_sources(&env(&bad)).unwrap_err();
            assert_eq!(err.env, var, "{value}");
            assert!(!err.to_string().contains("pw@"), "{err}");
        }
        let mut local: Vec<_> = full.to_vec();
        local.retain(|(k, _)| !k.starts_with("STYR_OIDC_ISSUER"));
        local.push(("STYR_OIDC_ISSUER", "http://127.0.0.1:9000"));
        assert!(Settings::from_sources(&env(&local)).unwrap().oidc.is_some());
    }

    #[test]
    fn the_example_file_in_infra_is_valid() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/styr.example.toml");
        let s = Settings::from_sources(&env(&[(CONFIG_FILE_VAR, path)])).unwrap();
        assert_eq!(s.log_format, LogFormat::Json);
        assert!(matches!(s.jwt_secret, JwtSecretSource::File(_)));
    }

    #[test]
    fn a_typo_in_the_file_is_refused() {
        let dir = std::env::temp_dir().join(format!("styr-settings-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("styr.toml");
        std::fs::write(&file, "lisen = \"0.0.0.0:9000\"\n").unwrap();
        let err =
            Settings::from_sources(&env(&[(CONFIG_FILE_VAR, file.to_str().unwrap())])).unwrap_err();
        assert!(err.to_string().contains("lisen"), "{err}");
        let missing = Settings::from_sources(&env(&[(CONFIG_FILE_VAR, "/nonexistent/styr.toml")]));
        assert!(missing.is_err(), "a named file must exist");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
