//! `styr demo` as an operator runs it: into an empty SQLite database, then `styr audit verify`;
//! a second `styr demo` on the loaded database is refused with exit code 1 and writes nothing.

use std::process::{Command, Output, Stdio};

use styr_eventstore::testing::{ScratchDir, TestDatabase};

const SECRET: &str = "demo-cli-test-secret-0123456789abcdefghij";

/// `styr` with a clean environment, in a scratch working directory (the script is compiled
/// in, so the directory does not matter).
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

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn verified_events(out: &Output) -> u64 {
    let stdout = text(&out.stdout);
    stdout
        .split("chain intact: ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no event count in {stdout:?}"))
}

#[test]
fn demo_loads_the_2024_year_into_an_empty_sqlite_database_then_verifies() {
    let db = TestDatabase::sqlite();
    let dir = ScratchDir::new("styr-demo-cli");

    // --database-url names the database; the configured one (./data/styr.db) is not touched.
    let out = styr(None, &dir)
        .args(["demo", "--database-url", db.url()])
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}\n{}", stdout, text(&out.stderr));
    assert!(
        stdout.contains("recorded_at is the real time of loading"),
        "{stdout}"
    );
    assert!(
        stdout.contains("[1/6]") && stdout.contains("[6/6]"),
        "{stdout}"
    );
    assert!(
        stdout.contains("25 assignments, 4 supplements, 10 calendar items"),
        "{stdout}"
    );
    assert!(stdout.contains("Chain head: position "), "{stdout}");
    assert!(
        stdout.contains("3 completed") && stdout.contains("10 delivered"),
        "{stdout}"
    );
    assert!(!dir.join("data/styr.db").exists());

    let out = styr(Some(&db), &dir)
        .args(["audit", "verify"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let events = verified_events(&out);
    assert!(events > 300, "{events}");

    // A second load is refused before anything is written.
    let out = styr(Some(&db), &dir).arg("demo").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("only into an empty database"), "{stderr}");
    assert!(stderr.contains(&format!("{events} events")), "{stderr}");
    let out = styr(Some(&db), &dir)
        .args(["audit", "verify"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        verified_events(&out),
        events,
        "the refused load wrote nothing"
    );

    // A URL that is neither SQLite nor PostgreSQL is a bad argument.
    let out = styr(Some(&db), &dir)
        .args(["demo", "--database-url", "mysql://u:secret@h/db"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!text(&out.stderr).contains("secret"));
}
