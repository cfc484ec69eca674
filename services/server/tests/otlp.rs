//! Trace export as an operator sees it: `styr serve` with `STYR_OTLP_ENDPOINT` pointing at a
//! small fake collector (a plain HTTP/1.1 listener that records every POST), a few requests,
//! SIGTERM, and the spans that arrived, decoded from their protobuf bodies.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use prost::Message;
use styr_eventstore::testing::{ScratchDir, TestDatabase};

const SECRET: &str = "otlp-test-secret-0123456789abcdefghijkl";
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

/// One request the fake collector received.
#[derive(Debug, Clone)]
struct Received {
    method: String,
    path: String,
    content_type: String,
    body: Vec<u8>,
}

/// Answers every request with 200 and an empty body, as an OTLP/HTTP collector does on success.
struct FakeCollector {
    port: u16,
    received: Arc<Mutex<Vec<Received>>>,
}

impl FakeCollector {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = received.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let log = log.clone();
                std::thread::spawn(move || serve_connection(stream, &log));
            }
        });
        Self { port, received }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

/// Reads requests off one keep-alive connection until the client closes it.
fn serve_connection(stream: TcpStream, log: &Mutex<Vec<Received>>) {
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = request_line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_owned();
        let path = parts.next().unwrap_or_default().to_owned();
        let mut headers = HashMap::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
            }
        }
        let length: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .expect("the exporter declares the body's length");
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        log.lock().unwrap().push(Received {
            method,
            path,
            content_type: headers.get("content-type").cloned().unwrap_or_default(),
            body,
        });
        writer
            .write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n",
            )
            .unwrap();
    }
}

/// `styr` with a clean environment: only what the test sets, in the scratch working directory
/// `dir`.
fn styr(db: &TestDatabase, dir: &ScratchDir) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_styr"));
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("STYR_JWT_SECRET", SECRET)
        .env("STYR_DATABASE_URL", db.url())
        .env("STYR_LISTEN", "127.0.0.1:0")
        .env("STYR_LOG_FORMAT", "json")
        .stdin(Stdio::null());
    cmd
}

/// A running `styr serve` and the log lines it has printed so far.
struct Server {
    child: Child,
    port: u16,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(mut cmd: Command) -> Self {
        let mut child = cmd
            .arg("serve")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut seen = Vec::new();
        let port = loop {
            let Some(Ok(line)) = stdout.next() else {
                panic!("serve stopped before it listened: {seen:#?}");
            };
            if let Some(rest) = line.split("listening on http://127.0.0.1:").nth(1) {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                seen.push(line.clone());
                break digits.parse::<u16>().unwrap();
            }
            seen.push(line);
        };
        let lines = Arc::new(Mutex::new(seen));
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in stdout.map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Self { child, port, lines }
    }

    /// Sends one request and returns the status line, the headers (lower-case names) and the
    /// body.
    fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (String, HashMap<String, String>, String) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\nConnection: close\r\n",
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        write!(stream, "{head}\r\n{body}").unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let (head, body) = response.split_once("\r\n\r\n").unwrap();
        let mut lines = head.lines();
        let status = lines.next().unwrap().to_owned();
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        (status, headers, body.to_owned())
    }

    /// SIGTERM, then waits for a clean exit.
    fn stop(mut self) -> Vec<String> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let status = wait_with_timeout(&mut self.child, Duration::from_secs(30));
        assert!(
            status.success(),
            "a SIGTERM stop is a clean exit: {status:?}"
        );
        // The reader thread drains what is left once the pipe closes.
        std::thread::sleep(Duration::from_millis(200));
        self.lines.lock().unwrap().clone()
    }
}

fn wait_with_timeout(child: &mut Child, timeout: Duration) -> ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            panic!("the server did not stop within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn text(attributes: &[KeyValue], key: &str) -> Option<String> {
    let value = attributes.iter().find(|kv| kv.key == key)?.value.as_ref()?;
    match value.value.as_ref()? {
        any_value::Value::StringValue(s) => Some(s.clone()),
        any_value::Value::IntValue(i) => Some(i.to_string()),
        any_value::Value::BoolValue(b) => Some(b.to_string()),
        other => Some(format!("{other:?}")),
    }
}

fn from_hex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn serve_exports_request_and_graphql_spans_to_the_collector_and_flushes_on_sigterm() {
    let collector = FakeCollector::start();
    let db = TestDatabase::sqlite();
    let dir = ScratchDir::new("styr-otlp");
    let mut cmd = styr(&db, &dir);
    cmd.env("STYR_OTLP_ENDPOINT", collector.url())
        .env("STYR_OTLP_SERVICE_NAME", "styr-otlp-test")
        // Nothing leaves on the batch timer during the test: what arrives was sent on stop.
        .env("OTEL_BSP_SCHEDULE_DELAY", "600000");
    let server = Server::start(cmd);

    let (status, health_headers, _) = server.request("GET", "/healthz", &[], "");
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    let traceparent = format!("00-{TRACE_ID}-{PARENT_ID}-01");
    let (status, graphql_headers, body) = server.request(
        "POST",
        "/graphql",
        &[
            ("Content-Type", "application/json"),
            ("traceparent", &traceparent),
        ],
        r#"{"query":"query Probe { __typename }","operationName":"Probe"}"#,
    );
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    assert!(body.contains(r#""__typename":"Query""#), "{body}");
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        collector.received().is_empty(),
        "spans wait in the batch until the stop"
    );

    let logs = server.stop();
    let received = collector.received();
    assert!(
        !received.is_empty(),
        "nothing exported; server log: {logs:#?}"
    );
    let mut spans: Vec<Span> = Vec::new();
    for r in &received {
        assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/v1/traces"));
        assert_eq!(r.content_type, "application/x-protobuf");
        let export = ExportTraceServiceRequest::decode(r.body.as_slice())
            .expect("the body is an OTLP protobuf export");
        for resource_spans in export.resource_spans {
            let resource = resource_spans.resource.expect("a resource");
            assert_eq!(
                text(&resource.attributes, "service.name").as_deref(),
                Some("styr-otlp-test")
            );
            assert_eq!(
                text(&resource.attributes, "service.version").as_deref(),
                Some(env!("CARGO_PKG_VERSION"))
            );
            spans.extend(resource_spans.scope_spans.into_iter().flat_map(|s| s.spans));
        }
    }
    let named = |name: &str| {
        spans
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| {
                let names: Vec<_> = spans.iter().map(|s| s.name.as_str()).collect();
                panic!("no span {name:?} among {names:?}")
            })
            .clone()
    };

    let health = named("GET /healthz");
    assert_eq!(health.kind, SpanKind::Server as i32);
    assert_eq!(
        text(&health.attributes, "request_id"),
        health_headers.get("x-request-id").cloned()
    );
    assert_eq!(
        text(&health.attributes, "route").as_deref(),
        Some("/healthz")
    );
    assert_eq!(text(&health.attributes, "status").as_deref(), Some("200"));
    assert!(
        health.parent_span_id.is_empty(),
        "a request without traceparent starts a trace"
    );

    let post = named("POST /graphql");
    assert_eq!(
        text(&post.attributes, "request_id"),
        graphql_headers.get("x-request-id").cloned()
    );
    assert_eq!(text(&post.attributes, "method").as_deref(), Some("POST"));
    assert_eq!(text(&post.attributes, "status").as_deref(), Some("200"));
    assert_eq!(
        post.trace_id,
        from_hex(TRACE_ID),
        "the caller's trace goes on"
    );
    assert_eq!(post.parent_span_id, from_hex(PARENT_ID));

    let execution = named("graphql");
    assert_eq!(execution.trace_id, post.trace_id);
    assert_eq!(
        execution.parent_span_id, post.span_id,
        "execution runs inside the request"
    );
    assert_eq!(
        text(&execution.attributes, "operation").as_deref(),
        Some("Probe")
    );

    assert!(
        logs.iter()
            .any(|l| l.contains("exporting traces over OTLP")),
        "{logs:#?}"
    );
    assert!(
        logs.iter().any(|l| l.contains("trace export stopped")),
        "{logs:#?}"
    );
}

#[test]
fn without_an_endpoint_nothing_is_exported() {
    let collector = FakeCollector::start();
    let db = TestDatabase::sqlite();
    let dir = ScratchDir::new("styr-otlp");
    let mut cmd = styr(&db, &dir);
    // The SDK's own variable does not switch export on; only STYR_OTLP_ENDPOINT does.
    cmd.env("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url());
    let server = Server::start(cmd);
    let (status, _, _) = server.request("GET", "/healthz", &[], "");
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    let logs = server.stop();
    assert!(collector.received().is_empty());
    assert!(!logs.iter().any(|l| l.contains("OTLP")), "{logs:#?}");
}

#[test]
fn an_endpoint_that_is_not_an_http_url_is_refused_naming_the_setting() {
    let db = TestDatabase::sqlite();
    let dir = ScratchDir::new("styr-otlp");
    for endpoint in [
        "collector:4318",
        "grpc://collector:4317",
        "http://user:hunter2@collector:4318",
    ] {
        let out = styr(&db, &dir)
            .env("STYR_OTLP_ENDPOINT", endpoint)
            .arg("serve")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{endpoint}");
        assert!(out.stdout.is_empty(), "refused before serving");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        assert!(
            err.contains("invalid setting otlp_endpoint (STYR_OTLP_ENDPOINT)"),
            "{err}"
        );
        assert!(!err.contains("hunter2"), "credentials never printed: {err}");
    }
    let out = styr(&db, &dir)
        .env("STYR_OTLP_ENDPOINT", "grpc://collector:4317")
        .arg("serve")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("http:// or https://"), "{err}");
}
