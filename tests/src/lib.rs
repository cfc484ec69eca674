//! Test support for end-to-end tests: [`spawn_app`] starts the real server on a random port
//! with its own fresh database (SQLite file or PostgreSQL database), and [`TestApp`] speaks
//! HTTP to it.

use std::collections::BTreeMap;

use actix_web::dev::ServerHandle;
use serde_json::{Value, json};
use styr::Settings;
use styr_eventstore::BackendKind;
use styr_eventstore::testing::TestDatabase;

pub mod web;

pub const JWT_SECRET: &str = "end-to-end-test-secret-0123456789abcdef";

/// Runs each listed test once per backend: `sqlite::<name>` and `postgres::<name>`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[actix_web::test]
                async fn $name() {
                    super::$name($crate::spawn_app(styr_eventstore::BackendKind::Sqlite).await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[actix_web::test]
                async fn $name() {
                    super::$name($crate::spawn_app(styr_eventstore::BackendKind::Postgres).await).await;
                }
            )*
        }
    };
}

/// Runs each listed test, a function of the [`BackendKind`], once per backend:
/// `sqlite::<name>` and `postgres::<name>`.
#[macro_export]
macro_rules! on_both_kinds {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $(
            #[actix_web::test]
            async fn $name() { super::$name(styr_eventstore::BackendKind::Sqlite).await; }
        )* }
        mod postgres { $(
            #[actix_web::test]
            async fn $name() { super::$name(styr_eventstore::BackendKind::Postgres).await; }
        )* }
    };
}

/// A running server and what a test needs to talk to it.
pub struct TestApp {
    pub address: String,
    pub port: u16,
    pub db: TestDatabase,
    pub client: awc::Client,
    handle: ServerHandle,
}

/// Starts the server on 127.0.0.1 with a random port and a fresh database of `kind`.
pub async fn spawn_app(kind: BackendKind) -> TestApp {
    spawn_app_with(kind, &[]).await
}

/// As [`spawn_app`], with extra `STYR_*` settings.
pub async fn spawn_app_with(kind: BackendKind, extra: &[(&str, &str)]) -> TestApp {
    spawn_app_on(TestDatabase::new(kind).await, extra).await
}

/// Starts the server on a database the test has already prepared (e.g. loaded with events).
pub async fn spawn_app_on(db: TestDatabase, extra: &[(&str, &str)]) -> TestApp {
    let mut env = BTreeMap::from([
        ("STYR_DATABASE_URL".to_owned(), db.url().to_owned()),
        ("STYR_LISTEN".to_owned(), "127.0.0.1:0".to_owned()),
        ("STYR_JWT_SECRET".to_owned(), JWT_SECRET.to_owned()),
        ("STYR_SHUTDOWN_TIMEOUT_SECS".to_owned(), "5".to_owned()),
        // A named file that is absent would be an error; point at none.
        (
            "STYR_DATABASE_CONNECT_TIMEOUT_SECS".to_owned(),
            "5".to_owned(),
        ),
    ]);
    for (k, v) in extra {
        env.insert((*k).to_owned(), (*v).to_owned());
    }
    let settings = Settings::from_sources(&env).expect("test settings are valid");
    let app = styr::Application::build(&settings)
        .await
        .expect("the server starts");
    let port = app.port();
    let handle = app.handle();
    actix_web::rt::spawn(app.run_until_stopped());
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        db,
        client: awc::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .finish(),
        handle,
    }
}

impl TestApp {
    /// POSTs a GraphQL query and returns the JSON body.
    pub async fn graphql(&self, query: &str, token: Option<&str>) -> Value {
        self.graphql_with(json!({ "query": query }), token).await
    }

    pub async fn graphql_with(&self, body: Value, token: Option<&str>) -> Value {
        let mut req = self.client.post(format!("{}/graphql", self.address));
        if let Some(t) = token {
            req = req.insert_header(("Authorization", format!("Bearer {t}")));
        }
        let mut res = req.send_json(&body).await.expect("POST /graphql");
        assert!(res.status().is_success(), "status {}", res.status());
        res.json::<Value>()
            .limit(10 << 20)
            .await
            .expect("a JSON body")
    }

    /// GETs a path and returns the status and body text.
    pub async fn get(&self, path: &str) -> (u16, String) {
        let mut res = self
            .client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let body = res.body().limit(10 << 20).await.expect("a body");
        (
            res.status().as_u16(),
            String::from_utf8_lossy(&body).into_owned(),
        )
    }

    /// A development token signed with the test secret.
    pub fn token(&self, role: &str, org: &str) -> String {
        let keys = styr::auth::TokenKeys::from_source(&styr::settings::JwtSecretSource::Value(
            JWT_SECRET.to_owned().into(),
        ))
        .expect("keys");
        keys.issue(&styr::auth::TokenRequest {
            role: role.into(),
            org: org.into(),
            sub: None,
            name: None,
            dept: None,
            ttl: std::time::Duration::from_secs(600),
        })
        .expect("a token")
    }

    /// POSTs a body to `/graphql` with an optional raw `Authorization` header value and returns
    /// the status, the `WWW-Authenticate` header and the JSON body (`Null` if not JSON). Unlike
    /// [`TestApp::graphql_with`] it accepts any status.
    pub async fn post_graphql(
        &self,
        body: impl actix_web::body::MessageBody + 'static,
        authorization: Option<&str>,
    ) -> RawResponse {
        let mut req = self
            .client
            .post(format!("{}/graphql", self.address))
            .insert_header(("content-type", "application/json"));
        if let Some(a) = authorization {
            req = req.insert_header(("Authorization", a));
        }
        let mut res = req.send_body(body).await.expect("POST /graphql");
        let www_authenticate = res
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = res.body().limit(10 << 20).await.expect("a body");
        RawResponse {
            status: res.status().as_u16(),
            www_authenticate,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(&self) {
        self.handle.stop(true).await;
    }
}

/// What [`TestApp::post_graphql`] saw.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub www_authenticate: Option<String>,
    pub body: Value,
}

/// A file under `services/server/tests/fixtures` (test keys and key sets).
pub fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../services/server/tests/fixtures")
        .join(name)
}

/// A GraphQL subscription over `/graphql/ws` (graphql-transport-ws), after `connection_ack`.
pub struct Subscription {
    socket: actix_codec::Framed<awc::BoxedSocket, awc::ws::Codec>,
}

impl TestApp {
    /// Opens a websocket, authenticates with `token` in `connection_init`, and subscribes.
    pub async fn subscribe(&self, query: &str, token: Option<&str>) -> Subscription {
        use futures_util::SinkExt;
        let (_res, socket) = self
            .client
            .ws(format!("ws://127.0.0.1:{}/graphql/ws", self.port))
            .protocols(["graphql-transport-ws"])
            .connect()
            .await
            .expect("websocket upgrade");
        let mut sub = Subscription { socket };
        let init = match token {
            Some(t) => {
                json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {t}") } })
            }
            None => json!({ "type": "connection_init" }),
        };
        sub.socket
            .send(awc::ws::Message::Text(init.to_string().into()))
            .await
            .expect("send connection_init");
        let ack = sub.next().await;
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        let subscribe = json!({ "id": "1", "type": "subscribe", "payload": { "query": query } });
        sub.socket
            .send(awc::ws::Message::Text(subscribe.to_string().into()))
            .await
            .expect("send subscribe");
        sub
    }
}

impl Subscription {
    /// The next JSON message; fails the test after 10 s of silence.
    pub async fn next(&mut self) -> Value {
        self.next_within(std::time::Duration::from_secs(10))
            .await
            .expect("a message within 10 s")
    }

    /// The next JSON message, or `None` if none comes within `wait`.
    pub async fn next_within(&mut self, wait: std::time::Duration) -> Option<Value> {
        use futures_util::StreamExt;
        loop {
            let frame = tokio::time::timeout(wait, self.socket.next()).await.ok()?;
            match frame
                .expect("the socket stays open")
                .expect("a valid frame")
            {
                awc::ws::Frame::Text(t) => return Some(serde_json::from_slice(&t).expect("JSON")),
                awc::ws::Frame::Ping(_) | awc::ws::Frame::Pong(_) => continue,
                other => panic!("unexpected frame {other:?}"),
            }
        }
    }
}

impl TestApp {
    /// Runs a GraphQL document with variables as the holder of `token`.
    pub async fn gql(&self, token: &str, query: &str, variables: Value) -> Value {
        self.graphql_with(
            json!({ "query": query, "variables": variables }),
            Some(token),
        )
        .await
    }
}

/// The value at `path` (dot-separated) under `data`, failing the test if the response has
/// errors. `data(&body, "")` only checks that there are none.
pub fn data<'a>(body: &'a Value, path: &str) -> &'a Value {
    assert!(
        body.get("errors").is_none_or(Value::is_null),
        "unexpected errors: {body}"
    );
    path.split('.')
        .filter(|k| !k.is_empty())
        .fold(&body["data"], |v, k| &v[k])
}

/// The first error's `extensions.code`, failing the test if there is none.
pub fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code: {body}"))
}

/// The head of the global log (0 when empty): a refused command must leave it where it was.
pub async fn log_position(app: &TestApp) -> u64 {
    let body = app.graphql("{ health { logPosition } }", None).await;
    data(&body, "health.logPosition")
        .as_u64()
        .expect("the log position is a number")
}

/// Issues an assignment as HOD's ministry officer with the `IssueAssignmentInput` `input`,
/// failing the test on errors; returns its id.
pub async fn issue_assignment(app: &TestApp, input: Value) -> String {
    let hod = app.token("ministry", "HOD");
    let body = app
        .gql(
            &hod,
            r#"mutation($input: IssueAssignmentInput!) { issueAssignment(input: $input) { assignment { id } } }"#,
            json!({ "input": input }),
        )
        .await;
    data(&body, "issueAssignment.assignment.id")
        .as_str()
        .unwrap()
        .to_owned()
}
