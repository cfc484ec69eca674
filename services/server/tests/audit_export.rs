//! `styr audit export` as an operator runs it: the package it writes and the arguments it
//! refuses, each with one line on stderr and exit code 2.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use chrono::{Duration, Utc};
use sha2::{Digest, Sha256};
use styr_eventstore::testing::{ScratchDir, TestDatabase};
use styr_eventstore::{EventStore, StoreOptions};
use styr_workflow::domain::allocation_letter::{
    AllocationLetter, BudgetLine, LetterCommand, letter_stream_id,
};
use styr_workflow::domain::values::{Chapter, DepartmentCode, NokThousands, OrgCode, Post, Year};
use styr_workflow::domain::{Actor, Role};
use styr_workflow::export::Manifest;
use styr_workflow::{CommandMeta, Workflow};

/// `styr` with a clean environment: only what the test sets, in a scratch working directory.
fn styr(database_url: &str, workdir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_styr"));
    cmd.current_dir(workdir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("STYR_JWT_SECRET", "cli-test-secret-0123456789abcdefghijkl")
        .env("STYR_DATABASE_URL", database_url)
        .stdin(Stdio::null());
    cmd
}

fn scratch_dir() -> ScratchDir {
    ScratchDir::new("styr-cli-export")
}

fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn names_in(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// An allocation letter drafted, given a budget line and issued: three events, one case file.
async fn history(db: &TestDatabase) -> styr_eventstore::LogHead {
    let store = EventStore::connect(db.url(), StoreOptions::default())
        .await
        .unwrap();
    let wf = Workflow::new(store.clone());
    let hod = OrgCode::parse("HOD").unwrap();
    let dmp = OrgCode::parse("DMP").unwrap();
    let year = Year::new(2024).unwrap();
    let meta = CommandMeta::new(Actor::new(
        "ola",
        "Ola Nordmann",
        Role::Ministry,
        hod.clone(),
        Some(DepartmentCode::parse("SHA").unwrap()),
    ));
    let letter = letter_stream_id(&hod, &dmp, year);
    for c in [
        LetterCommand::Draft {
            ministry: hod.clone(),
            agency: dmp.clone(),
            year,
            title: "Tildelingsbrev 2024".into(),
            case_ref: Some("23/3412".into()),
        },
        LetterCommand::AddBudgetLine(BudgetLine {
            chapter: Chapter::new(746).unwrap(),
            post: Post::new(1).unwrap(),
            amount: NokThousands(429_548),
            text: "Driftsutgifter".into(),
        }),
        LetterCommand::Issue {
            issued_on: chrono::NaiveDate::from_ymd_opt(2024, 2, 5).unwrap(),
        },
    ] {
        wf.execute::<AllocationLetter>(&letter, c, &meta)
            .await
            .unwrap();
    }
    let head = store.head().await.unwrap();
    store.close().await;
    head
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_export_writes_the_package_on_sqlite() {
    export_writes_the_package(TestDatabase::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_export_writes_the_package_on_postgres() {
    export_writes_the_package(TestDatabase::postgres().await).await;
}

async fn export_writes_the_package(db: TestDatabase) {
    let head = history(&db).await;
    let dir = scratch_dir();
    let today = styr_workflow::domain::oslo_date(Utc::now());
    let (from, to) = (
        (today - Duration::days(1)).to_string(),
        (today + Duration::days(1)).to_string(),
    );
    let out = styr(db.url(), &dir)
        .args([
            "audit", "export", "--from", &from, "--to", &to, "--out", "pkg",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "{} events (positions 1..={})",
            head.position, head.position
        )),
        "{stdout}"
    );
    assert!(stdout.contains("1 case files"), "{stdout}");

    let pkg = dir.join("pkg");
    assert_eq!(
        names_in(&pkg),
        BTreeSet::from(
            [
                "README.txt",
                "arkivuttrekk.xml",
                "events.jsonl",
                "manifest.json"
            ]
            .map(str::to_owned)
        )
    );
    assert_eq!(names_in(&dir), BTreeSet::from(["pkg".to_owned()]));
    let manifest: Manifest =
        serde_json::from_slice(&std::fs::read(pkg.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest.chain_head, head);
    assert_eq!(manifest.events.count, head.position);
    assert_eq!(manifest.files.len(), 3);
    for f in &manifest.files {
        let bytes = std::fs::read(pkg.join(&f.name)).unwrap();
        assert_eq!(bytes.len() as u64, f.size, "{}", f.name);
        assert_eq!(hex::encode(Sha256::digest(&bytes)), f.sha256, "{}", f.name);
    }
    let jsonl = std::fs::read_to_string(pkg.join("events.jsonl")).unwrap();
    assert_eq!(jsonl.lines().count() as u64, head.position);
    let xml = std::fs::read_to_string(pkg.join("arkivuttrekk.xml")).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let mapper: Vec<_> = doc
        .descendants()
        .filter(|n| n.tag_name().name() == "mappe")
        .collect();
    assert_eq!(mapper.len(), 1);
    assert_eq!(mapper[0].attribute("kilde"), Some("allocation_letter"));

    // The same directory again: refused, and what is there stays.
    let again = styr(db.url(), &dir)
        .args([
            "audit", "export", "--from", &from, "--to", &to, "--out", "pkg",
        ])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2), "{}", stderr_of(&again));
    let err = stderr_of(&again);
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(err.contains("pkg exists and is not empty"), "{err}");
    assert_eq!(names_in(&pkg).len(), 4);
}

#[test]
fn audit_export_refuses_bad_arguments_before_opening_the_database() {
    let dir = scratch_dir();
    let missing = dir.join("data/styr.db");
    let url = format!("sqlite://{}", missing.display());
    let run = |args: &[&str]| {
        let mut all = vec!["audit", "export"];
        all.extend_from_slice(args);
        styr(&url, &dir).args(all).output().unwrap()
    };

    let out = run(&["--from", "2024-13-01", "--to", "2024-12-31", "--out", "x"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr_of(&out);
    assert!(err.lines().next().unwrap().contains("--from"), "{err}");
    assert!(err.contains("2024-13-01"), "{err}");

    let out = run(&["--from", "2024-05-02", "--to", "2024-05-01", "--out", "x"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr_of(&out);
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(
        err.contains("starts 2024-05-02 but ends 2024-05-01"),
        "{err}"
    );

    let out = run(&["--from", "2024-01-01", "--to", "2024-12-31"]);
    assert_eq!(out.status.code(), Some(2), "--out is required");

    std::fs::write(dir.join("file"), "not a directory").unwrap();
    let out = run(&[
        "--from",
        "2024-01-01",
        "--to",
        "2024-12-31",
        "--out",
        "file",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("not a directory"));

    let out = run(&["--from", "2024-01-01", "--to", "2024-12-31", "--out", "a/b"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("does not exist"));

    // Good arguments but no database: one line, exit 1, and no database file created.
    let out = run(&["--from", "2024-01-01", "--to", "2024-12-31", "--out", "x"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(err.contains("there is no database"), "{err}");
    assert!(!missing.exists());
    assert_eq!(
        names_in(&dir),
        BTreeSet::from(["file".to_owned()]),
        "nothing written"
    );
}
