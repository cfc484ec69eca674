//! The 2024 demo on SQLite and PostgreSQL: the script loads into an empty database, the chain
//! verifies, a second load is refused and writes nothing, the year-end appendix over HTTP is
//! the annual report's appendix row by row, and the board as of 1 June 2024 on the effective
//! axis shows the year as it stood then.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};
use styr_eventstore::testing::TestDatabase;
use styr_eventstore::{BackendKind, EventStore, StoreOptions};
use styr_tests::{data, spawn_app_on};
use styr_workflow::Workflow;
use styr_workflow::audit::AsOf;
use styr_workflow::demo::{self, DemoError, DemoScript, DemoSummary};
use styr_workflow::projections::{BoardFilter, BoardSort, BoardStatus, Scope};

mod sqlite {
    #[actix_web::test]
    async fn the_2024_demo_loads_verifies_and_matches_the_annual_report() {
        super::the_2024_demo(styr_eventstore::BackendKind::Sqlite).await;
    }
}

mod postgres {
    #[actix_web::test]
    async fn the_2024_demo_loads_verifies_and_matches_the_annual_report() {
        super::the_2024_demo(styr_eventstore::BackendKind::Postgres).await;
    }
}

/// 1 June 2024 on the effective axis.
fn mid_year() -> DateTime<Utc> {
    "2024-06-01T12:00:00Z".parse().unwrap()
}

fn expected_appendix() -> Vec<Value> {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/demo-2024/expected-appendix.json"),
    )
    .unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    v["rows"].as_array().unwrap().clone()
}

async fn load(url: &str) -> Result<DemoSummary, DemoError> {
    let store = EventStore::connect(url, StoreOptions::default())
        .await
        .unwrap();
    let script = DemoScript::year_2024().unwrap();
    let mut phases = 0;
    let result = demo::load(store.clone(), &script, demo::LETTER_TEXT_2024, &mut |_| {
        phases += 1
    })
    .await;
    if result.is_ok() {
        assert_eq!(phases, script.phases.len(), "a progress report per phase");
    }
    store.close().await;
    result
}

async fn the_2024_demo(kind: BackendKind) {
    let db = TestDatabase::new(kind).await;
    let summary = load(db.url()).await.expect("the demo loads");
    assert_eq!(summary.letter_id, "HOD:DMP:2024");
    assert_eq!(summary.assignments, 25);
    assert_eq!(summary.supplements, 4);
    assert_eq!(summary.calendar_items, 10);
    assert_eq!(summary.deviation_reports, 1);
    assert_eq!(summary.board.values().sum::<usize>(), 25);
    let ids = summary.assignment_ids.clone();

    let store = EventStore::connect(db.url(), StoreOptions::default())
        .await
        .unwrap();
    let chain = store.verify_chain(1, |_, _| {}).await.unwrap();
    assert!(chain.is_intact(), "{:?}", chain.first_break);
    assert_eq!(chain.events_checked, summary.events);
    assert_eq!(store.head().await.unwrap(), summary.head);

    // The board as of 1 June 2024 on the effective axis (every event recorded today).
    let workflow = Workflow::new(store.clone());
    let june = workflow
        .board_as_of(
            &AsOf {
                position: u64::MAX,
                effective_by: Some(mid_year()),
            },
            &Scope::All,
            &BoardFilter::default(),
            BoardSort::Reference,
            NaiveDate::from_ymd_opt(2024, 6, 1).unwrap(),
        )
        .await
        .unwrap();
    let status_in_june: BTreeMap<&str, BoardStatus> = june
        .iter()
        .map(|r| (r.assignment_id.as_str(), r.status))
        .collect();
    let june_status = |key: &str| status_in_june.get(ids[key].as_str()).copied();
    assert_eq!(june.len(), 20, "the letter's 19 and Tillegg nr. 1's one");
    for key in ["nye-metoder", "laboratoriegebyr"] {
        assert_eq!(
            june_status(key),
            Some(BoardStatus::Delivered),
            "{key} delivered before June"
        );
    }
    for key in [
        "apotekavanse",
        "prioriteringsmeldingen",
        "kikhostevaksine",
        "tobakksstrategi",
        "anbud-blaresept",
    ] {
        assert_eq!(
            june_status(key),
            Some(BoardStatus::InProgressOnTrack),
            "{key} not yet delivered or completed in June"
        );
    }
    for key in [
        "beslutningsprosessen",
        "nalokson",
        "voksenvaksinasjon",
        "e-sigarett-ansvar",
        "beredskapsansvar",
    ] {
        assert_eq!(june_status(key), None, "{key} was given after June");
    }
    store.close().await;

    // A second load is refused and writes nothing.
    match load(db.url()).await {
        Err(DemoError::NotEmpty { events }) => assert_eq!(events, summary.events),
        other => panic!("a second load must be refused, got {other:?}"),
    }
    let store = EventStore::connect(db.url(), StoreOptions::default())
        .await
        .unwrap();
    assert_eq!(store.head().await.unwrap(), summary.head);
    store.close().await;

    // Over HTTP: the year-end appendix is the annual report's, row by row.
    let app = spawn_app_on(db, &[]).await;
    let hod = app.token("ministry", "HOD");
    let body = app
        .gql(
            &hod,
            r#"{ yearEndAppendix(letterId: "HOD:DMP:2024") {
                status statusText assignment { id title agency } } }"#,
            json!({}),
        )
        .await;
    let rows = data(&body, "yearEndAppendix").as_array().unwrap().clone();
    let expected = expected_appendix();
    assert_eq!(rows.len(), expected.len(), "one row per row of the report");
    for want in &expected {
        let key = want["key"].as_str().unwrap();
        let row = rows
            .iter()
            .find(|r| r["assignment"]["id"] == ids[key].as_str())
            .unwrap_or_else(|| panic!("no appendix row for {key}"));
        assert_eq!(row["statusText"], want["status"], "status phrase of {key}");
        assert_eq!(
            row["status"],
            want["normalised"].as_str().unwrap().to_uppercase(),
            "normalised status of {key}"
        );
        assert_eq!(row["assignment"]["agency"], "DMP", "{key}");
    }

    // The same mid-year view through the API.
    let body = app
        .gql(
            &hod,
            "query($asOf: DateTime!, $by: DateTime!) { boardAsOf(asOf: $asOf, effectiveBy: $by) { id status } }",
            json!({ "asOf": Utc::now().to_rfc3339(), "by": mid_year().to_rfc3339() }),
        )
        .await;
    let board = data(&body, "boardAsOf").as_array().unwrap().clone();
    assert_eq!(board.len(), 20);
    let delivered: Vec<&str> = board
        .iter()
        .filter(|r| r["status"] == "DELIVERED")
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let mut want = vec![
        ids["nye-metoder"].as_str(),
        ids["laboratoriegebyr"].as_str(),
    ];
    want.sort_unstable();
    let mut delivered = delivered;
    delivered.sort_unstable();
    assert_eq!(delivered, want);
    app.stop().await;
}
