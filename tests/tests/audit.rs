//! The audit views over real HTTP on both backends: a status report creates a copy owed to
//! Riksrevisjonen; the auditor reads the history, the decision trail and the completeness
//! report; a correction shows beside the original; an exemption hides the content from the
//! public journal but not from the auditor; other agencies see nothing.

use serde_json::{Value, json};
use styr_tests::{TestApp, code, data, on_both_backends};

on_both_backends!(audit_views_over_http);

#[actix_web::test]
async fn the_server_delivers_copies_in_the_background_on_sqlite() {
    the_server_delivers_copies_in_the_background(styr_eventstore::BackendKind::Sqlite).await;
}

#[actix_web::test]
async fn the_server_delivers_copies_in_the_background_on_postgres() {
    the_server_delivers_copies_in_the_background(styr_eventstore::BackendKind::Postgres).await;
}

async fn audit_views_over_http(app: TestApp) {
    let hod = app.token("ministry", "HOD");
    let dmp = app.token("agency", "DMP");
    let fhi = app.token("agency", "FHI");
    let rr = app.token("auditor", "RR");
    let body = app
        .gql(
            &hod,
            "mutation($input: IssueAssignmentInput!) { issueAssignment(input: $input) { assignment { id } } }",
            json!({ "input": { "reference": "TB2024-12", "ministry": "HOD", "agency": "DMP", "year": 2024,
                "title": "Tobakk", "description": "", "parts": [{ "deadline": "2024-09-01" }] } }),
        )
        .await;
    let id = data(&body, "issueAssignment.assignment.id").clone();
    let before_report = chrono::Utc::now().to_rfc3339();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let report = |light: &str, progress: &str| {
        json!({ "period": { "kind": "TERTIAL_1" }, "trafficLight": light, "progress": progress,
            "causeAndConsequence": "sent", "correctiveAction": "oppfølging" })
    };
    data(
        &app.gql(
            &dmp,
            "mutation($id: ID!, $i: ReportStatusInput!) { reportStatus(id: $id, input: $i, options: { effectiveAt: \"2024-04-30T12:00:00Z\" }) { position } }",
            json!({ "id": id, "i": report("GREEN", "I rute") }),
        )
        .await,
        "",
    );
    let body = app
        .gql(
            &dmp,
            "mutation($id: ID!, $i: ReportStatusInput!) { correctStatus(id: $id, input: $i, reason: \"feil lys\") { assignment { statusReports { trafficLight } } } }",
            json!({ "id": id, "i": report("YELLOW", "Forsinket") }),
        )
        .await;
    assert_eq!(
        data(&body, "correctStatus.assignment.statusReports")[0]["trafficLight"],
        "YELLOW"
    );

    // History: both time axes, the correction beside the original.
    let history = "query($id: ID!, $at: DateTime) { history(streamType: \"assignment\", streamId: $id, asOf: $at) { eventType effectiveAt actor { organisation } origin } }";
    let body = app.gql(&rr, history, json!({ "id": id })).await;
    let events = data(&body, "history").as_array().unwrap().clone();
    let types: Vec<&str> = events
        .iter()
        .map(|e| e["eventType"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["AssignmentIssued", "StatusReported", "StatusCorrected"]
    );
    assert_eq!(events[1]["effectiveAt"], "2024-04-30T12:00:00+00:00");
    assert_eq!(events[0]["origin"], "tildelingsbrev");
    let body = app
        .gql(&rr, history, json!({ "id": id, "at": before_report }))
        .await;
    assert_eq!(
        data(&body, "history").as_array().unwrap().len(),
        1,
        "as of before the report"
    );
    // The agency of the assignment may read it; another may not even learn it exists.
    assert_eq!(
        data(
            &app.gql(&dmp, history, json!({ "id": id })).await,
            "history"
        )
        .as_array()
        .unwrap()
        .len(),
        3
    );
    assert_eq!(
        code(&app.gql(&fhi, history, json!({ "id": id })).await),
        "NOT_FOUND"
    );

    // The board as of before the report has no traffic light; the decision trail names all.
    let body = app
        .gql(
            &rr,
            "query($at: DateTime!) { boardAsOf(asOf: $at) { reference trafficLight } }",
            json!({ "at": before_report }),
        )
        .await;
    assert_eq!(
        data(&body, "boardAsOf"),
        &json!([{ "reference": "TB2024-12", "trafficLight": null }])
    );
    let appendix = "query($at: DateTime) { yearEndAppendix(letterId: \"HOD:DMP:2024\", asOf: $at) { assignment { trafficLight } } }";
    let body = app.gql(&rr, appendix, json!({ "at": before_report })).await;
    assert!(data(&body, "yearEndAppendix")[0]["assignment"]["trafficLight"].is_null());
    let body = app.gql(&rr, appendix, json!({})).await;
    assert_eq!(
        data(&body, "yearEndAppendix")[0]["assignment"]["trafficLight"],
        "YELLOW"
    );
    let trail = body_trail(&app, &rr, &id).await;
    let kinds: Vec<&str> = data(&trail, "decisionTrail")
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["deadline_set", "status_reported", "status_corrected"]
    );

    // Two copies owed (report and correction), none delivered: no channel configured.
    let completeness = "query { copyCompleteness(from: \"2024-01-01\", to: \"2100-12-31\") }";
    let body = app.gql(&rr, completeness, json!({})).await;
    let report = data(&body, "copyCompleteness");
    assert_eq!(report["rows"].as_array().unwrap().len(), 2);
    assert_eq!(report["missing"].as_array().unwrap().len(), 2);
    assert!(
        report["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["state"] == "no_channel" && r["copy_to"] == "RR")
    );
    let body = app.gql(&fhi, completeness, json!({})).await;
    assert!(
        data(&body, "copyCompleteness")["rows"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let item = report["rows"][0]["item_id"].clone();

    // Exempt from public disclosure: the public journal withholds the content, the auditor
    // still reads it; the marking is itself an event.
    assert_eq!(code(&app.gql(&rr, "mutation($id: ID!) { markCorrespondenceExempt(id: $id, legalBasis: \"offl. § 15\") { exempt } }", json!({ "id": item })).await), "FORBIDDEN");
    let body = app.gql(&hod, "mutation($id: ID!) { markCorrespondenceExempt(id: $id, legalBasis: \"offl. § 15\") { exempt } }", json!({ "id": item })).await;
    assert_eq!(data(&body, "markCorrespondenceExempt.exempt"), "offl. § 15");
    let journal = json!({ "query": "{ publicJournal(from: \"2024-01-01\", to: \"2100-12-31\") { id title exempt content } }" });
    let body = app.graphql_with(journal, None).await;
    let entries = data(&body, "publicJournal").as_array().unwrap().clone();
    let exempt: Vec<&Value> = entries.iter().filter(|e| e["id"] == item).collect();
    assert_eq!(exempt.len(), 1);
    assert!(exempt[0]["content"].is_null());
    assert!(
        exempt[0]["title"]
            .as_str()
            .unwrap()
            .contains("unntatt offentlighet")
    );
    assert!(
        entries
            .iter()
            .any(|e| e["id"] != item && !e["content"].is_null())
    );
    let body = app.gql(&rr, "query($id: ID!) { history(streamType: \"correspondence\", streamId: $id) { eventType data } }", json!({ "id": item })).await;
    let events = data(&body, "history").as_array().unwrap();
    assert_eq!(events[1]["eventType"], "ExemptionMarked");
    assert!(
        !events[0]["data"]["content"].is_null(),
        "the auditor sees the content"
    );
}

async fn body_trail(app: &TestApp, token: &str, id: &Value) -> Value {
    app.gql(
        token,
        "query($id: ID!) { decisionTrail(assignmentId: $id) { kind deadlineAfter source } }",
        json!({ "id": id }),
    )
    .await
}

/// With a directory channel configured, the server's worker delivers each copy and the
/// backlog metric falls to zero; the agency's own letter to Riksrevisjonen goes to the
/// ministry's channel.
async fn the_server_delivers_copies_in_the_background(kind: styr_eventstore::BackendKind) {
    let dir = std::env::temp_dir().join(format!("styr-copies-{}", uuid::Uuid::now_v7()));
    let rr_dir = dir.join("rr");
    let hod_dir = dir.join("hod");
    let app = styr_tests::spawn_app_with(
        kind,
        &[
            ("STYR_COPY_DIR", rr_dir.to_str().unwrap()),
            ("STYR_COPY_MINISTRY_DIR", hod_dir.to_str().unwrap()),
            ("STYR_COPY_DELIVERY_SECS", "1"),
        ],
    )
    .await;
    let hod = app.token("ministry", "HOD");
    let dmp = app.token("agency", "DMP");
    let body = app
        .gql(
            &hod,
            "mutation($input: IssueAssignmentInput!) { issueAssignment(input: $input) { assignment { id } } }",
            json!({ "input": { "reference": "TB2024-3", "ministry": "HOD", "agency": "DMP", "year": 2024,
                "title": "Legemiddelmangel", "description": "", "parts": [{ "deadline": "2024-09-01" }] } }),
        )
        .await;
    let id = data(&body, "issueAssignment.assignment.id").clone();
    data(
        &app.gql(
            &dmp,
            r#"mutation($id: ID!) { reportStatus(id: $id, input: { period: { kind: TERTIAL_1 }, trafficLight: GREEN, progress: "I rute" }) { position } }"#,
            json!({ "id": id }),
        )
        .await,
        "",
    );
    let body = app
        .gql(
            &dmp,
            r#"mutation { registerCorrespondenceWithRiksrevisjonen(ministry: "HOD", title: "Svar på revisjonsbrev", outgoing: true,
                content: { text: "Vi viser til brev av 3. mai" }, occurredAt: "2024-05-10T08:00:00Z") { id } }"#,
            json!({}),
        )
        .await;
    let letter_to_rr = data(&body, "registerCorrespondenceWithRiksrevisjonen.id").clone();
    let completeness = "query { copyCompleteness(from: \"2024-01-01\", to: \"2100-12-31\") }";
    let mut report = Value::Null;
    for _ in 0..100 {
        let body = app.gql(&hod, completeness, json!({})).await;
        report = data(&body, "copyCompleteness").clone();
        if report["missing"].as_array().is_some_and(Vec::is_empty)
            && report["rows"].as_array().unwrap().len() == 2
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(report["delivered"], 2, "{report}");
    let rows = report["rows"].as_array().unwrap();
    let to_ministry = rows.iter().find(|r| r["item_id"] == letter_to_rr).unwrap();
    assert_eq!(to_ministry["copy_to"], "HOD");
    assert_eq!(to_ministry["receipts"][0]["channel"], "ministry-directory");
    assert!(
        hod_dir
            .join(letter_to_rr.as_str().unwrap())
            .join("content.json")
            .exists()
    );
    let status_copy = rows.iter().find(|r| r["item_id"] != letter_to_rr).unwrap();
    assert_eq!(status_copy["receipts"][0]["channel"], "rr-directory");
    assert!(
        rr_dir
            .join(status_copy["item_id"].as_str().unwrap())
            .join("SHA256SUMS")
            .exists()
    );
    let (_, metrics) = app.get("/metrics").await;
    let backlog = metrics
        .lines()
        .find(|l| l.starts_with("styr_copy_backlog"))
        .unwrap_or_else(|| panic!("no backlog metric in {metrics}"));
    assert!(
        backlog.ends_with(" 0") || backlog.ends_with(" 1"),
        "{backlog}"
    );
    let _ = std::fs::remove_dir_all(dir);
}
