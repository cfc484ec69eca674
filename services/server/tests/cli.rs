//! The `styr` binary as an operator uses it: settings errors, tokens, migrations, chain
//! verification, and `serve` on both backends with a graceful stop on SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::Connection;
use styr_eventstore::testing::{ScratchDir, TestDatabase};
use styr_eventstore::{
    Actor, BackendKind, EventMetadata, EventStore, ExpectedVersion, NewEvent, StoreOptions,
    StreamAppend, StreamId,
};

const SECRET: &str = "cli-test-secret-0123456789abcdefghijkl";

/// `styr` with a clean environment: only what the test sets, in a scratch working directory.
fn styr(db: Option<&TestDatabase>, workdir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_styr"));
    cmd.current_dir(workdir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("STYR_JWT_SECRET", SECRET)
        .stdin(Stdio::null());
    if let Some(db) = db {
        cmd.env("STYR_DATABASE_URL", db.url());
    }
    cmd
}

fn scratch_dir() -> ScratchDir {
    ScratchDir::new("styr-cli")
}

fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn bad_settings_fail_with_one_line_naming_the_setting() {
    let dir = scratch_dir();
    for (var, value) in [
        ("STYR_LISTEN", "nowhere"),
        ("STYR_DATABASE_URL", "mysql://u:hunter2@h/db"),
    ] {
        let out = styr(None, &dir)
            .env(var, value)
            .arg("serve")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{var}");
        let err = stderr_of(&out);
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        assert!(err.contains(var), "{err}");
        assert!(!err.contains("hunter2"), "secrets never printed: {err}");
    }
}

#[test]
fn token_prints_a_jwt_and_refuses_bad_roles() {
    let dir = scratch_dir();
    let out = styr(None, &dir)
        .args([
            "token", "--role", "ministry", "--org", "HOD", "--dept", "SHA", "--ttl", "1h",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let token = String::from_utf8(out.stdout).unwrap();
    assert_eq!(token.trim().split('.').count(), 3, "{token}");

    let out = styr(None, &dir)
        .args(["token", "--role", "boss", "--org", "HOD"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("boss"));
    let out = styr(None, &dir)
        .args(["token", "--role", "agency", "--org", "DMP", "--ttl", "soon"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn schema_prints_the_sdl() {
    let out = styr(None, &scratch_dir()).arg("schema").output().unwrap();
    assert!(out.status.success());
    let sdl = String::from_utf8(out.stdout).unwrap();
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../graphql/schema.graphql"
    ))
    .unwrap();
    assert_eq!(sdl, committed);
}

#[test]
fn token_without_a_configured_secret_uses_a_generated_secret_file() {
    let dir = scratch_dir();
    let out = Command::new(env!("CARGO_BIN_EXE_styr"))
        .current_dir(&dir)
        .env_clear()
        .args(["token", "--role", "auditor", "--org", "RR"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(dir.join("data/jwt.secret").exists());
}

#[tokio::test]
async fn migrate_then_verify_an_empty_log_on_sqlite() {
    migrate_then_verify(TestDatabase::sqlite()).await;
}

#[tokio::test]
async fn migrate_then_verify_an_empty_log_on_postgres() {
    migrate_then_verify(TestDatabase::postgres().await).await;
}

async fn migrate_then_verify(db: TestDatabase) {
    let dir = scratch_dir();
    let out = styr(Some(&db), &dir).arg("migrate").output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let out = styr(Some(&db), &dir)
        .args(["projections", "rebuild"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("rebuilt to position 0"));
    let out = styr(Some(&db), &dir)
        .args(["audit", "verify"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("chain intact: 0 events"));
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_verify_reports_the_first_broken_position_on_sqlite() {
    audit_verify_reports_tampering(TestDatabase::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_verify_reports_the_first_broken_position_on_postgres() {
    audit_verify_reports_tampering(TestDatabase::postgres().await).await;
}

async fn audit_verify_reports_tampering(db: TestDatabase) {
    let store = EventStore::connect(db.url(), StoreOptions::default())
        .await
        .unwrap();
    let stream = StreamId::new("assignment", "a").unwrap();
    for v in 0..4 {
        store
            .append(vec![StreamAppend {
                stream: stream.clone(),
                expected: ExpectedVersion(v),
                events: vec![event()],
            }])
            .await
            .unwrap();
    }
    store.close().await;
    let dir = scratch_dir();
    let out = styr(Some(&db), &dir)
        .args(["audit", "verify"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("4 events verified"));

    let statements: &[&str] = match db.kind() {
        BackendKind::Postgres => &[
            "ALTER TABLE events DISABLE TRIGGER USER",
            "UPDATE events SET reason = 'rewritten' WHERE position = 3",
        ],
        BackendKind::Sqlite => &[
            "DROP TRIGGER events_no_update",
            "UPDATE events SET reason = 'rewritten' WHERE position = 3",
        ],
    };
    raw(&db, statements).await;
    let out = styr(Some(&db), &dir)
        .args(["audit", "verify"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("chain broken at position 3"), "{stdout}");
    let out = styr(Some(&db), &dir)
        .args(["audit", "verify", "--from", "4"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "verifying after the damage finds none: {}",
        stderr_of(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_answers_graphql_and_stops_on_sigterm_on_sqlite() {
    serve_and_stop(TestDatabase::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_answers_graphql_and_stops_on_sigterm_on_postgres() {
    serve_and_stop(TestDatabase::postgres().await).await;
}

async fn serve_and_stop(db: TestDatabase) {
    let dir = scratch_dir();
    let mut child = styr(Some(&db), &dir)
        .env("STYR_LISTEN", "127.0.0.1:0")
        .env("STYR_LOG_FORMAT", "json")
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let port = loop {
        let line = lines.next().expect("serve logs where it listens").unwrap();
        if let Some(rest) = line.split("listening on http://127.0.0.1:").nth(1) {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            assert!(line.contains("with database"), "{line}");
            break digits.parse::<u16>().unwrap();
        }
    };
    let response = http_post(
        port,
        "/graphql",
        &json!({ "query": "{ __typename }" }).to_string(),
    );
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        response.contains(r#"{"data":{"__typename":"Query"}}"#),
        "{response}"
    );

    sigterm(&child);
    let status = wait_with_timeout(&mut child, Duration::from_secs(20));
    assert!(
        status.success(),
        "a SIGTERM stop is a clean exit: {status:?}"
    );
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.iter().any(|l| l.contains("stopped")), "{rest:?}");
}

fn http_post(port: u16, path: &str, body: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

fn sigterm(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn wait_with_timeout(child: &mut Child, timeout: Duration) -> std::process::ExitStatus {
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

fn event() -> NewEvent {
    NewEvent {
        event_id: uuid::Uuid::now_v7(),
        event_type: "StatusReported".into(),
        schema_version: 1,
        payload: json!({ "light": "green" }),
        metadata: EventMetadata {
            actor: Actor {
                subject: "kari".into(),
                display_name: "Kari".into(),
                role: "agency".into(),
                organisation: "DMP".into(),
            },
            reason: Some("tertial report".into()),
            correlation_id: uuid::Uuid::now_v7(),
            causation_id: None,
            effective_at: None,
        },
    }
}

async fn raw(db: &TestDatabase, statements: &[&str]) {
    match db.kind() {
        BackendKind::Postgres => {
            let mut c = sqlx::PgConnection::connect(db.url()).await.unwrap();
            for s in statements {
                sqlx::query(sqlx::AssertSqlSafe(*s))
                    .execute(&mut c)
                    .await
                    .unwrap();
            }
        }
        BackendKind::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(db.url()).await.unwrap();
            for s in statements {
                sqlx::query(sqlx::AssertSqlSafe(*s))
                    .execute(&mut c)
                    .await
                    .unwrap();
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn backup_and_restore_keep_the_chain_on_sqlite() {
    backup_and_restore(TestDatabase::sqlite(), TestDatabase::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn backup_and_restore_keep_the_chain_on_postgres() {
    backup_and_restore(
        TestDatabase::postgres().await,
        TestDatabase::postgres().await,
    )
    .await;
}

async fn backup_and_restore(source: TestDatabase, target: TestDatabase) {
    let store = EventStore::connect(source.url(), StoreOptions::default())
        .await
        .unwrap();
    let stream = StreamId::new("assignment", "a").unwrap();
    for v in 0..5 {
        store
            .append(vec![StreamAppend {
                stream: stream.clone(),
                expected: ExpectedVersion(v),
                events: vec![event()],
            }])
            .await
            .unwrap();
    }
    let head = store.head().await.unwrap();
    let dir = scratch_dir();
    let file = dir.join("styr.backup");
    // Taken while the service is running: the store above stays open.
    let out = styr(Some(&source), &dir)
        .args(["backup", "--out"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&head.hash));
    let again = styr(Some(&source), &dir)
        .args(["backup", "--out"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(
        again.status.code(),
        Some(1),
        "an existing file is never overwritten"
    );

    let out = styr(Some(&target), &dir)
        .args(["restore", "--from"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("chain intact, 5 events"));
    let verify = styr(Some(&target), &dir)
        .args(["audit", "verify"])
        .output()
        .unwrap();
    assert!(verify.status.success(), "{}", stderr_of(&verify));
    let restored = EventStore::connect(target.url(), StoreOptions::default())
        .await
        .unwrap();
    assert_eq!(
        restored.head().await.unwrap(),
        head,
        "the same log, to the last hash"
    );
    restored.close().await;

    // A database with events is not replaced without --force.
    store
        .append(vec![StreamAppend {
            stream: stream.clone(),
            expected: ExpectedVersion(5),
            events: vec![event()],
        }])
        .await
        .unwrap();
    store.close().await;
    let refused = styr(Some(&source), &dir)
        .args(["restore", "--from"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr_of(&refused).contains("--force"),
        "{}",
        stderr_of(&refused)
    );
    let forced = styr(Some(&source), &dir)
        .args(["restore", "--force", "--from"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(forced.status.success(), "{}", stderr_of(&forced));
    let back = EventStore::connect(source.url(), StoreOptions::default())
        .await
        .unwrap();
    assert_eq!(
        back.head().await.unwrap(),
        head,
        "back to the state of the backup"
    );
    back.close().await;
}

#[test]
fn restoring_a_file_that_is_not_a_backup_fails_clearly() {
    let dir = scratch_dir();
    let junk = dir.join("junk.db");
    std::fs::write(&junk, b"not a database").unwrap();
    let target = TestDatabase::sqlite();
    let out = styr(Some(&target), &dir)
        .args(["restore", "--from"])
        .arg(&junk)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("junk.db"), "{}", stderr_of(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn checkpoint_then_rewrite_is_caught_on_sqlite() {
    checkpoint_then_rewrite(TestDatabase::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn checkpoint_then_rewrite_is_caught_on_postgres() {
    checkpoint_then_rewrite(TestDatabase::postgres().await).await;
}

/// keygen → checkpoint → verify passes; a consistent rewrite passes `verify` but not
/// `verify --checkpoint`; the checkpoint itself is owed to Riksrevisjonen.
async fn checkpoint_then_rewrite(db: TestDatabase) {
    let store = EventStore::connect(db.url(), StoreOptions::default())
        .await
        .unwrap();
    let stream = StreamId::new("assignment", "a").unwrap();
    for v in 0..3 {
        store
            .append(vec![StreamAppend {
                stream: stream.clone(),
                expected: ExpectedVersion(v),
                events: vec![event()],
            }])
            .await
            .unwrap();
    }
    let dir = scratch_dir();
    let keys = styr(None, &dir).args(["audit", "keygen"]).output().unwrap();
    assert!(keys.status.success(), "{}", stderr_of(&keys));
    let keys = String::from_utf8(keys.stdout).unwrap();
    let value = |name: &str| {
        keys.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap()
            .to_owned()
    };
    let (secret, public) = (
        value("STYR_CHECKPOINT_KEY"),
        value("STYR_CHECKPOINT_PUBLIC_KEY"),
    );
    let file = dir.join("checkpoint.json");
    let without_key = styr(Some(&db), &dir)
        .args(["audit", "checkpoint", "--out"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(without_key.status.code(), Some(1));
    assert!(stderr_of(&without_key).contains("STYR_CHECKPOINT_KEY"));
    let out = styr(Some(&db), &dir)
        .env("STYR_CHECKPOINT_KEY", &secret)
        .args(["audit", "checkpoint", "--out"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("position 3"));
    let verify = || {
        styr(Some(&db), &dir)
            .env("STYR_CHECKPOINT_PUBLIC_KEY", &public)
            .args(["audit", "verify", "--checkpoint"])
            .arg(&file)
            .output()
            .unwrap()
    };
    let ok = verify();
    assert!(ok.status.success(), "{}", stderr_of(&ok));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("as it was when checkpointed"));

    // The checkpoint is registered as correspondence owed to Riksrevisjonen (no channel here).
    let owed = styr(Some(&db), &dir)
        .args([
            "audit",
            "completeness",
            "--from",
            "2000-01-01",
            "--to",
            "2100-01-01",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(owed.status.code(), Some(1), "missing copies fail the check");
    let report: serde_json::Value = serde_json::from_slice(&owed.stdout).unwrap();
    assert_eq!(report["rows"][0]["kind"], "audit_checkpoint");
    assert_eq!(report["missing"].as_array().unwrap().len(), 1);

    // A forged checkpoint file is refused before the log is read.
    let text = std::fs::read_to_string(&file).unwrap();
    let forged = dir.join("forged.json");
    std::fs::write(&forged, text.replace("\"position\": 3", "\"position\": 2")).unwrap();
    let out = styr(Some(&db), &dir)
        .env("STYR_CHECKPOINT_PUBLIC_KEY", &public)
        .args(["audit", "verify", "--checkpoint"])
        .arg(&forged)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("altered"));

    // Rewrite event 2 and recompute the chain after it: the chain alone verifies …
    db.rewrite_history(&store, 2, json!({"light": "red"})).await;
    store.close().await;
    let chain = styr(Some(&db), &dir)
        .args(["audit", "verify"])
        .output()
        .unwrap();
    assert!(chain.status.success(), "{}", stderr_of(&chain));
    // … the checkpoint does not.
    let caught = verify();
    assert_eq!(caught.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&caught.stdout).contains("rewritten since the checkpoint"),
        "{}",
        String::from_utf8_lossy(&caught.stdout)
    );
}

fn seed_letter() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/seeds/tildelingsbrev-2024-dmp.txt")
}

#[tokio::test(flavor = "multi_thread")]
async fn import_letter_previews_applies_once_and_refuses_bad_input_on_sqlite() {
    import_letter(TestDatabase::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn import_letter_previews_applies_once_and_refuses_bad_input_on_postgres() {
    import_letter(TestDatabase::postgres().await).await;
}

async fn import_letter(db: TestDatabase) {
    let dir = scratch_dir();
    let args = |extra: &[&str]| {
        let mut a = vec!["import", "letter"];
        a.extend_from_slice(extra);
        a.extend_from_slice(&["--ministry", "HOD", "--agency", "DMP", "--year", "2024"]);
        a.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let seed = seed_letter();
    let seed = seed.to_str().unwrap();
    // Migrate first so that "nothing written" can be checked on the head.
    assert!(
        styr(Some(&db), &dir)
            .arg("migrate")
            .output()
            .unwrap()
            .status
            .success()
    );
    let head = || async {
        let store = EventStore::connect(db.url(), StoreOptions::default())
            .await
            .unwrap();
        let h = store.head().await.unwrap().position;
        store.close().await;
        h
    };

    // Bad input: a clear error, nothing written.
    let empty = dir.join("empty.txt");
    std::fs::write(&empty, "  \n").unwrap();
    let binary = dir.join("letter.pdf");
    std::fs::write(&binary, b"%PDF-1.7\n\x00\x01\x02\x03binary").unwrap();
    let latin1 = dir.join("latin1.txt");
    std::fs::write(
        &latin1,
        b"Tildelingsbrev 2024 for Direktoratet for medisinske produkter \xe6\xf8\xe5\n",
    )
    .unwrap();
    for (file, needle) in [
        (&empty, "empty"),
        (&binary, "binary"),
        (&latin1, "encoding"),
    ] {
        let out = styr(Some(&db), &dir)
            .args(args(&[file.to_str().unwrap()]))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", file.display());
        let err = stderr_of(&out).to_lowercase();
        assert!(err.contains(needle), "{needle}: {err}");
    }
    let wrong_year = styr(Some(&db), &dir)
        .args([
            "import",
            "letter",
            seed,
            "--ministry",
            "HOD",
            "--agency",
            "DMP",
            "--year",
            "2023",
        ])
        .output()
        .unwrap();
    assert_eq!(wrong_year.status.code(), Some(1));
    assert!(
        stderr_of(&wrong_year).contains("2024"),
        "{}",
        stderr_of(&wrong_year)
    );
    assert_eq!(head().await, 0, "nothing written by refused imports");

    // A dry run prints the preview as JSON and writes nothing.
    let out = styr(Some(&db), &dir)
        .args(args(&[seed, "--dry-run", "--json"]))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let preview: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let letters = preview["letters"].as_array().unwrap();
    assert_eq!(letters[0]["kind"], "letter");
    assert_eq!(letters[0]["assignments"].as_array().unwrap().len(), 19);
    assert!(letters.iter().any(|l| l["kind"] == "supplement"));
    assert_eq!(head().await, 0);

    // Applying writes the drafts; a second import of the same text writes nothing new.
    let out = styr(Some(&db), &dir).args(args(&[seed])).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let after_first = head().await;
    assert!(after_first > 19, "{after_first}");
    let out = styr(Some(&db), &dir).args(args(&[seed])).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("0 commands applied"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(
        head().await,
        after_first,
        "the same file twice duplicates nothing"
    );
    let store = EventStore::connect(db.url(), StoreOptions::default())
        .await
        .unwrap();
    assert_eq!(store.stream_ids("assignment").await.unwrap().len(), 19);
    let letter = store
        .read_stream(
            &StreamId::new("allocation_letter", "HOD:DMP:2024").unwrap(),
            0,
        )
        .await
        .unwrap();
    assert!(
        letter
            .iter()
            .all(|e| e.actor.subject == "local:styr-import")
    );
    assert!(
        letter
            .iter()
            .all(|e| e.reason.as_deref() == Some("imported from tildelingsbrev-2024-dmp.txt"))
    );
    store.close().await;
}
