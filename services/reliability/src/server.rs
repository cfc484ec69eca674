//! Running `styr serve` as a child process and talking GraphQL to it over plain HTTP, the
//! way the harness's clients do: blocking, with short timeouts, tolerant of a server that
//! has just been killed.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use serde_json::{Value, json};

pub const SECRET: &str = "reliability-harness-secret-0123456789abcdef";

/// The `styr` binary next to this one (both are built into the same target directory).
pub fn styr_binary() -> anyhow::Result<PathBuf> {
    let me = std::env::current_exe()?;
    let path = me
        .parent()
        .ok_or_else(|| anyhow!("no directory for {}", me.display()))?
        .join("styr");
    if !path.exists() {
        bail!(
            "{} does not exist: build it first (cargo build -p styr, or run through `cargo run -p styr-reliability`, which builds the workspace's binaries)",
            path.display()
        );
    }
    Ok(path)
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(18080)
}

/// One `styr serve` process.
pub struct Server {
    pub port: u16,
    pub database_url: String,
    child: Option<Child>,
    extra: Vec<(String, String)>,
}

impl Server {
    pub fn start(database_url: &str, extra: &[(&str, &str)]) -> anyhow::Result<Self> {
        let mut s = Server {
            port: free_port(),
            database_url: database_url.to_owned(),
            child: None,
            extra: extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        };
        s.spawn()?;
        Ok(s)
    }

    fn spawn(&mut self) -> anyhow::Result<()> {
        let mut cmd = Command::new(styr_binary()?);
        cmd.arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("STYR_DATABASE_URL", &self.database_url)
            .env("STYR_LISTEN", format!("127.0.0.1:{}", self.port))
            .env("STYR_JWT_SECRET", SECRET)
            .env("STYR_LOG_LEVEL", "error")
            .env("STYR_LOG_FORMAT", "json")
            .env("STYR_DATABASE_CONNECT_TIMEOUT_SECS", "60")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (k, v) in &self.extra {
            cmd.env(k, v);
        }
        self.child = Some(cmd.spawn().context("cannot start styr serve")?);
        self.wait_ready(Duration::from_secs(60))
    }

    /// Waits until `/readyz` answers 200.
    pub fn wait_ready(&self, within: Duration) -> anyhow::Result<()> {
        let started = Instant::now();
        while started.elapsed() < within {
            if get(self.port, "/readyz").is_ok_and(|(s, _)| s == 200) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!("the server on port {} did not become ready", self.port)
    }

    /// `kill -9`: no shutdown, no flush, whatever was in flight is cut.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.kill9();
        self.spawn()
    }

    /// SIGTERM and wait.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(15);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .build()
        .into()
}

pub fn get(port: u16, path: &str) -> anyhow::Result<(u16, String)> {
    let mut res = agent(Duration::from_secs(5))
        .get(&format!("http://127.0.0.1:{port}{path}"))
        .call()?;
    let status = res.status().as_u16();
    Ok((status, res.body_mut().read_to_string().unwrap_or_default()))
}

/// POSTs raw bytes to `/graphql`; returns the status and the body parsed as JSON (`Null` if
/// it is not JSON).
pub fn post_raw(
    port: u16,
    token: Option<&str>,
    body: &[u8],
    timeout: Duration,
) -> anyhow::Result<(u16, Value)> {
    let mut req = agent(timeout)
        .post(&format!("http://127.0.0.1:{port}/graphql"))
        .header("Content-Type", "application/json");
    if let Some(t) = token {
        req = req.header("Authorization", &format!("Bearer {t}"));
    }
    let mut res = req.send(body)?;
    let status = res.status().as_u16();
    let text = res
        .body_mut()
        .with_config()
        .limit(16 << 20)
        .read_to_string()
        .unwrap_or_default();
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

pub fn gql(port: u16, token: &str, query: &str, variables: Value) -> anyhow::Result<(u16, Value)> {
    let body = serde_json::to_vec(&json!({ "query": query, "variables": variables }))?;
    post_raw(port, Some(token), &body, Duration::from_secs(20))
}

/// A development token for `role`/`org`, signed with the harness's secret.
pub fn token(role: &str, org: &str) -> anyhow::Result<String> {
    let keys = styr::auth::TokenKeys::from_source(&styr::settings::JwtSecretSource::Value(
        SECRET.to_owned().into(),
    ))?;
    Ok(keys.issue(&styr::auth::TokenRequest {
        role: role.into(),
        org: org.into(),
        sub: None,
        name: None,
        dept: None,
        ttl: Duration::from_secs(3600),
    })?)
}

/// Issues `n` assignments (TB2024-1 …) as the ministry; returns their ids.
pub fn seed_assignments(port: u16, n: usize) -> anyhow::Result<Vec<String>> {
    let hod = token("ministry", "HOD")?;
    let mut ids = Vec::with_capacity(n);
    for i in 1..=n {
        let (status, body) = gql(
            port,
            &hod,
            "mutation($input: IssueAssignmentInput!) { issueAssignment(input: $input) { assignment { id } } }",
            json!({ "input": { "reference": format!("TB2024-{i}"), "ministry": "HOD", "agency": "DMP",
                "year": 2024, "title": format!("Oppdrag {i}"), "description": "",
                "parts": [{ "deadline": "2024-12-01" }] } }),
        )?;
        let id = body["data"]["issueAssignment"]["assignment"]["id"]
            .as_str()
            .ok_or_else(|| anyhow!("seeding failed ({status}): {body}"))?;
        ids.push(id.to_owned());
    }
    Ok(ids)
}

/// The port the clients currently talk to (a restarted server may move).
pub struct Target(AtomicU16);

impl Target {
    pub fn new(port: u16) -> Self {
        Target(AtomicU16::new(port))
    }
    pub fn get(&self) -> u16 {
        self.0.load(Ordering::SeqCst)
    }
    pub fn set(&self, port: u16) {
        self.0.store(port, Ordering::SeqCst);
    }
}
