//! GraphQL subscriptions over the websocket, on SQLite and PostgreSQL: changes arrive for what
//! the subscriber may see, and nothing else does.

use std::time::Duration;

use serde_json::{Value, json};
use styr_tests::{TestApp, on_both_backends};

on_both_backends!(
    assignment_changes_reach_only_those_who_may_see_them,
    deadlines_due_are_pushed_when_they_change,
    subscriptions_need_a_signed_in_user,
    subscriptions_are_held_to_the_same_limits_and_codes_as_queries,
);

async fn issue(app: &TestApp, agency: &str, reference: &str, deadline: &str) -> String {
    let hod = app.token("ministry", "HOD");
    let body = app
        .graphql_with(
            json!({
                "query": "mutation($input: IssueAssignmentInput!) { issueAssignment(input: $input) { assignment { id } } }",
                "variables": { "input": {
                    "reference": reference, "ministry": "HOD", "agency": agency, "year": 2024,
                    "title": "Oppdrag", "description": "", "parts": [{ "deadline": deadline }] } }
            }),
            Some(&hod),
        )
        .await;
    body["data"]["issueAssignment"]["assignment"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned()
}

fn payload(msg: &Value, field: &str) -> Value {
    assert_eq!(msg["type"], "next", "{msg}");
    assert!(
        msg["payload"].get("errors").is_none_or(Value::is_null),
        "{msg}"
    );
    msg["payload"]["data"][field].clone()
}

async fn assignment_changes_reach_only_those_who_may_see_them(app: TestApp) {
    let dmp = app.token("agency", "DMP");
    let query = "subscription { assignmentChanges(filter: { year: 2024 }) { reference status trafficLight } }";
    let mut sub = app.subscribe(query, Some(&dmp)).await;
    // The subscription starts from the log head when the server resolves it.
    tokio::time::sleep(Duration::from_millis(300)).await;
    issue(&app, "FHI", "TB2024-9", "2024-06-01").await;
    let id = issue(&app, "DMP", "TB2024-1", "2024-06-01").await;
    let change = payload(&sub.next().await, "assignmentChanges");
    assert_eq!(
        change,
        json!({ "reference": "TB2024-1", "status": "ISSUED", "trafficLight": null }),
        "FHI's never arrives"
    );
    let report = r#"mutation($id: ID!) { reportStatus(id: $id, input: { period: { kind: TERTIAL_1 }, trafficLight: RED,
        progress: "Stopp", causeAndConsequence: "Leverandør konkurs", correctiveAction: "Ny anskaffelse" }) { position } }"#;
    app.graphql_with(
        json!({ "query": report, "variables": { "id": id } }),
        Some(&dmp),
    )
    .await;
    let change = payload(&sub.next().await, "assignmentChanges");
    assert_eq!(change["trafficLight"], "RED");
    assert_eq!(change["status"], "IN_PROGRESS_DELAYED");
    issue(&app, "FHI", "TB2024-10", "2024-06-01").await;
    assert!(
        sub.next_within(Duration::from_millis(700)).await.is_none(),
        "nothing about other agencies"
    );
}

async fn deadlines_due_are_pushed_when_they_change(app: TestApp) {
    let dmp = app.token("agency", "DMP");
    let mut sub = app
        .subscribe(
            "subscription { deadlinesDue(withinDays: 30) { reference nextDeadline overdue } }",
            Some(&dmp),
        )
        .await;
    assert_eq!(
        payload(&sub.next().await, "deadlinesDue"),
        json!([]),
        "the current list at once"
    );
    issue(&app, "DMP", "TB2024-2", "2024-03-01").await;
    let list = payload(&sub.next().await, "deadlinesDue");
    assert_eq!(
        list,
        json!([{ "reference": "TB2024-2", "nextDeadline": "2024-03-01", "overdue": true }])
    );
    issue(&app, "FHI", "TB2024-3", "2024-03-01").await;
    assert!(
        sub.next_within(Duration::from_millis(700)).await.is_none(),
        "another agency's deadline changes nothing"
    );
}

async fn subscriptions_need_a_signed_in_user(app: TestApp) {
    let mut sub = app
        .subscribe("subscription { assignmentChanges { reference } }", None)
        .await;
    let msg = sub.next().await;
    assert_eq!(
        msg["payload"]["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{msg}"
    );
    assert!(msg["payload"]["data"].is_null());
}

async fn subscriptions_are_held_to_the_same_limits_and_codes_as_queries(app: TestApp) {
    let dmp = app.token("agency", "DMP");
    let aliases: String = (0..60).map(|i| format!("r{i}: reference ")).collect();
    let query = format!("subscription {{ assignmentChanges {{ {aliases} }} }}");
    let mut sub = app.subscribe(&query, Some(&dmp)).await;
    let msg = sub.next().await;
    let error = &msg["payload"]["errors"][0];
    assert_eq!(error["extensions"]["code"], "LIMIT_EXCEEDED", "{msg}");
    assert_eq!(error["extensions"]["limit"], "aliases", "{msg}");

    let mut sub = app
        .subscribe(
            "subscription { assignmentChanges { noSuchField } }",
            Some(&dmp),
        )
        .await;
    let msg = sub.next().await;
    assert_eq!(
        msg["payload"]["errors"][0]["extensions"]["code"], "VALIDATION",
        "{msg}"
    );
}
