//! Assignments through GraphQL over real HTTP, on SQLite and PostgreSQL: a day in the life of
//! the ministry and the agency, scoping between agencies, and refusals with stable codes.

use serde_json::{Value, json};
use styr_tests::{TestApp, code, data, on_both_backends};

on_both_backends!(
    a_day_in_the_life_of_an_assignment,
    agencies_cannot_see_each_others_assignments,
    auditors_read_everything_and_change_nothing,
    refusals_carry_stable_codes_and_change_nothing,
    a_retried_command_id_acts_once,
    reports_list_every_assignment_of_a_letter,
    the_ministry_changes_a_deadline_outright,
    a_transfer_not_yet_effective_leaves_the_old_agency_in_charge,
    a_malformed_date_argument_is_a_validation_error,
);

/// A date the scalar cannot parse, as a literal or a variable, is the caller's mistake.
async fn a_malformed_date_argument_is_a_validation_error(app: TestApp) {
    let id = issue(&app, "DMP", "TB2024-12").await;
    let dmp = app.token("agency", "DMP");
    let literal = r#"mutation($id: ID!) { requestExtension(id: $id, newDate: "2024-13-45", reason: "x") { position } }"#;
    let body = app.gql(&dmp, literal, json!({ "id": id })).await;
    assert_eq!(code(&body), "VALIDATION", "{body}");
    let variable = r#"mutation($id: ID!, $d: Date!) { requestExtension(id: $id, newDate: $d, reason: "x") { position } }"#;
    let body = app
        .gql(&dmp, variable, json!({ "id": id, "d": "1. mars" }))
        .await;
    assert_eq!(code(&body), "VALIDATION", "{body}");
}

async fn a_transfer_not_yet_effective_leaves_the_old_agency_in_charge(app: TestApp) {
    let id = issue(&app, "DMP", "TB2024-11").await;
    let hod = app.token("ministry", "HOD");
    let transfer = r#"mutation($id: ID!) { transferAssignment(id: $id, toAgency: "HDIR", reason: "Ansvar flyttes",
        effective: "2099-01-01") { assignment { agency } } }"#;
    let body = app.gql(&hod, transfer, json!({ "id": id })).await;
    assert_eq!(data(&body, "transferAssignment.assignment.agency"), "HDIR");
    // Until 2099 DMP is still responsible: it sees the assignment and reports on it.
    let dmp = app.token("agency", "DMP");
    let report = r#"mutation($id: ID!) { reportStatus(id: $id, input: { period: { kind: YEAR }, trafficLight: GREEN, progress: "I rute" }) {
        assignment { statusReports { progress } } } }"#;
    let body = app.gql(&dmp, report, json!({ "id": id })).await;
    assert_eq!(
        data(&body, "reportStatus.assignment.statusReports")[0]["progress"],
        "I rute"
    );
    let hdir = app.token("agency", "HDIR");
    let body = app
        .gql(
            &hdir,
            "query($id: ID!) { assignment(id: $id) { agency } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        data(&body, "assignment.agency"),
        "HDIR",
        "the receiving side sees it"
    );
    let fhi = app.token("agency", "FHI");
    let body = app
        .gql(
            &fhi,
            "query($id: ID!) { assignment(id: $id) { agency } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND");
}

async fn the_ministry_changes_a_deadline_outright(app: TestApp) {
    let id = issue(&app, "DMP", "TB2024-9").await;
    let hod = app.token("ministry", "HOD");
    let dmp = app.token("agency", "DMP");
    let change = r#"mutation($id: ID!) { changeDeadline(id: $id, part: "b", date: "2024-10-01") {
        assignment { parts { label deadline deadlineToBeAgreed } } } }"#;
    let body = app.gql(&dmp, change, json!({ "id": id })).await;
    assert_eq!(
        code(&body),
        "FORBIDDEN",
        "an agency asks with requestExtension"
    );
    let body = app.gql(&hod, change, json!({ "id": id })).await;
    assert_eq!(
        data(&body, "changeDeadline.assignment.parts")[1],
        json!({ "label": "b", "deadline": "2024-10-01", "deadlineToBeAgreed": false })
    );
    let both = r#"mutation($id: ID!) { changeDeadline(id: $id, part: "b", date: "2024-10-01", toBeAgreed: true) { position } }"#;
    let body = app.gql(&hod, both, json!({ "id": id })).await;
    assert_eq!(code(&body), "VALIDATION");
}

async fn reports_list_every_assignment_of_a_letter(app: TestApp) {
    let first = issue(&app, "DMP", "TB2024-1").await;
    issue(&app, "DMP", "TB2024-2").await;
    issue(&app, "FHI", "TB2024-3").await;
    let dmp = app.token("agency", "DMP");
    let report = r#"mutation($id: ID!) { reportStatus(id: $id, input: { period: { kind: TERTIAL_1 }, trafficLight: GREEN,
        progress: "Levert", yearEndPhrase: "Levert til HOD." }) { position } }"#;
    data(&app.gql(&dmp, report, json!({ "id": first })).await, "");

    let appendix = r#"{ yearEndAppendix(letterId: "HOD:DMP:2024") { statusText status assignment { reference } } }"#;
    let body = app.gql(&dmp, appendix, json!({})).await;
    assert_eq!(
        data(&body, "yearEndAppendix"),
        &json!([
            { "statusText": "Levert til HOD.", "status": "IN_PROGRESS_ON_TRACK", "assignment": { "reference": "TB2024-1" } },
            { "statusText": null, "status": "ISSUED", "assignment": { "reference": "TB2024-2" } }
        ])
    );
    let tertial = r#"{ periodReport(letterId: "HOD:DMP:2024", period: { kind: TERTIAL_1 }) { reported trafficLight assignment { reference } } }"#;
    let body = app.gql(&dmp, tertial, json!({})).await;
    assert_eq!(
        data(&body, "periodReport"),
        &json!([
            { "reported": true, "trafficLight": "GREEN", "assignment": { "reference": "TB2024-1" } },
            { "reported": false, "trafficLight": null, "assignment": { "reference": "TB2024-2" } }
        ])
    );
    // Part a of each is due 1 March 2024, long past: overdue, unless overdue ones are left out.
    let body = app
        .gql(&dmp, "{ deadlines { reference overdue } }", json!({}))
        .await;
    assert_eq!(
        data(&body, "deadlines"),
        &json!([
            { "reference": "TB2024-1", "overdue": true },
            { "reference": "TB2024-2", "overdue": true }
        ])
    );
    let body = app
        .gql(
            &dmp,
            "{ deadlines(includeOverdue: false) { reference } }",
            json!({}),
        )
        .await;
    assert_eq!(data(&body, "deadlines"), &json!([]));
    let body = app
        .gql(
            &dmp,
            r#"{ yearEndAppendix(letterId: "nonsense") { status } }"#,
            json!({}),
        )
        .await;
    assert_eq!(code(&body), "VALIDATION");
}

const ISSUE: &str = r#"
mutation($input: IssueAssignmentInput!, $options: CommandOptions) {
  issueAssignment(input: $input, options: $options) {
    commandId repeated position
    assignment { id reference status: lifecycle parts { label deadline deadlineToBeAgreed delivery } }
  }
}"#;

fn issue_input(agency: &str, reference: &str, title: &str) -> Value {
    json!({
        "reference": reference,
        "ministry": "HOD",
        "agency": agency,
        "year": 2024,
        "department": "FHA",
        "title": title,
        "description": "Utrede og foreslå regulering",
        "goal": "2.2",
        "parts": [
            { "label": "a", "deadline": "2024-03-01" },
            { "label": "b", "toBeAgreed": true }
        ],
        "collaborators": ["HDIR"]
    })
}

async fn issue(app: &TestApp, agency: &str, reference: &str) -> String {
    let hod = app.token("ministry", "HOD");
    let body = app
        .gql(
            &hod,
            ISSUE,
            json!({ "input": issue_input(agency, reference, "Tobakksstrategi") }),
        )
        .await;
    data(&body, "issueAssignment.assignment.id")
        .as_str()
        .unwrap()
        .to_owned()
}

async fn a_day_in_the_life_of_an_assignment(app: TestApp) {
    let hod = app.token("ministry", "HOD");
    let dmp = app.token("agency", "DMP");
    let id = issue(&app, "DMP", "TB2024-12").await;

    let report = r#"mutation($id: ID!, $input: ReportStatusInput!) {
        reportStatus(id: $id, input: $input) { assignment { statusReports { trafficLight correctiveAction } } } }"#;
    let body = app.gql(&dmp, report, json!({ "id": id, "input": {
        "period": { "kind": "TERTIAL_1" }, "trafficLight": "YELLOW", "progress": "Forsinket datagrunnlag",
        "causeAndConsequence": "Mangler data fra RHF-ene", "correctiveAction": "Ny innhenting i mars" } })).await;
    assert_eq!(
        data(&body, "reportStatus.assignment.statusReports")[0]["trafficLight"],
        "YELLOW"
    );

    let request = r#"mutation($id: ID!) { requestExtension(id: $id, part: "a", newDate: "2024-03-15", reason: "Venter på data") {
        assignment { pendingExtension { id newDate } } } }"#;
    let body = app.gql(&dmp, request, json!({ "id": id })).await;
    let request_id = data(&body, "requestExtension.assignment.pendingExtension.id")
        .as_str()
        .unwrap()
        .to_owned();

    let grant = r#"mutation($id: ID!, $req: ID!) { grantExtension(id: $id, requestId: $req) {
        assignment { pendingExtension { id } parts { label deadline } } } }"#;
    let body = app
        .gql(&hod, grant, json!({ "id": id, "req": request_id }))
        .await;
    assert!(data(&body, "grantExtension.assignment.pendingExtension").is_null());
    assert_eq!(
        data(&body, "grantExtension.assignment.parts")[0]["deadline"],
        "2024-03-15"
    );

    let deliver = r#"mutation($id: ID!, $summary: String!) { deliver(id: $id, input: { part: "a", summary: $summary, documentRef: "24/101-3" }) {
        assignment { deliveries { part late } parts { label delivery } } } }"#;
    let body = app
        .gql(
            &dmp,
            deliver,
            json!({ "id": id, "summary": "Rapport om engangs-e-sigaretter" }),
        )
        .await;
    let deliveries = data(&body, "deliver.assignment.deliveries");
    assert_eq!(deliveries[0]["part"], "a");
    assert_eq!(
        deliveries[0]["late"], true,
        "delivered after 15 March 2024 (today is later)"
    );

    let give_back = r#"mutation($id: ID!) { returnDelivery(id: $id, part: "a", reason: "Mangler konsekvensvurdering") {
        assignment { parts { label delivery } } } }"#;
    let body = app.gql(&hod, give_back, json!({ "id": id })).await;
    assert_eq!(
        data(&body, "returnDelivery.assignment.parts")[0]["delivery"],
        "returned"
    );

    let body = app
        .gql(
            &dmp,
            deliver,
            json!({ "id": id, "summary": "Revidert rapport" }),
        )
        .await;
    assert_eq!(
        data(&body, "deliver.assignment.parts")[0]["delivery"],
        "awaiting_review"
    );

    let accept = r#"mutation($id: ID!) { acceptDelivery(id: $id, part: "a") { assignment { parts { label delivery } } } }"#;
    let body = app.gql(&hod, accept, json!({ "id": id })).await;
    assert_eq!(
        data(&body, "acceptDelivery.assignment.parts")[0]["delivery"],
        "accepted"
    );

    // The board and the timeline show it, for both sides.
    let board = r#"{ board(filter: { year: 2024 }) { totalCount statusCounts { status count }
        edges { node { id reference status trafficLight nextDeadline deadlineToBeAgreed overdue } } } }"#;
    for token in [&hod, &dmp] {
        let body = app.gql(token, board, json!({})).await;
        let node = &data(&body, "board.edges")[0]["node"];
        assert_eq!(node["reference"], "TB2024-12");
        assert_eq!(node["trafficLight"], "YELLOW");
        assert_eq!(
            node["deadlineToBeAgreed"], true,
            "part b is still open: {node}"
        );
        assert_eq!(data(&body, "board.totalCount"), 1);
    }
    let timeline = r#"query($id: ID!) { assignment(id: $id) { timeline { eventType actor { organisation role } reason } } }"#;
    let body = app.gql(&hod, timeline, json!({ "id": id })).await;
    let types: Vec<&str> = data(&body, "assignment.timeline")
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["eventType"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        vec![
            "AssignmentIssued",
            "StatusReported",
            "ExtensionRequested",
            "ExtensionGranted",
            "AssignmentDelivered",
            "DeliveryReturned",
            "AssignmentDelivered",
            "DeliveryAccepted",
        ]
    );
}

async fn agencies_cannot_see_each_others_assignments(app: TestApp) {
    let dmp_assignment = issue(&app, "DMP", "TB2024-1").await;
    let fhi_assignment = issue(&app, "FHI", "TB2024-2").await;
    let dmp = app.token("agency", "DMP");
    let one = r#"query($id: ID!) { assignment(id: $id) { id title } }"#;
    let body = app.gql(&dmp, one, json!({ "id": fhi_assignment })).await;
    assert_eq!(code(&body), "NOT_FOUND", "by id");
    let body = app.gql(&dmp, one, json!({ "id": dmp_assignment })).await;
    assert_eq!(data(&body, "assignment.id"), dmp_assignment.as_str());
    let list = r#"{ board { totalCount statusCounts { count } edges { node { id } } } }"#;
    let body = app.gql(&dmp, list, json!({})).await;
    assert_eq!(data(&body, "board.totalCount"), 1, "in counts");
    assert_eq!(data(&body, "board.statusCounts")[0]["count"], 1);
    assert_eq!(
        data(&body, "board.edges")[0]["node"]["id"],
        dmp_assignment.as_str(),
        "in lists"
    );
    let filtered = r#"{ board(filter: { agency: "FHI" }) { totalCount } }"#;
    let body = app.gql(&dmp, filtered, json!({})).await;
    assert_eq!(
        data(&body, "board.totalCount"),
        0,
        "a filter cannot widen the scope"
    );
    // Another ministry sees neither.
    let fin = app.token("ministry", "FIN");
    let body = app.gql(&fin, list, json!({})).await;
    assert_eq!(data(&body, "board.totalCount"), 0);
    // Nor can an agency act on another's assignment: to it, the assignment does not exist
    // (acting must not reveal what reading hides).
    let fhi_reports = r#"mutation($id: ID!) { reportStatus(id: $id, input: { period: { kind: YEAR }, trafficLight: GREEN, progress: "ok" }) { position } }"#;
    let body = app
        .gql(&dmp, fhi_reports, json!({ "id": fhi_assignment }))
        .await;
    assert_eq!(code(&body), "NOT_FOUND");
    let missing = app
        .gql(
            &dmp,
            fhi_reports,
            json!({ "id": uuid::Uuid::now_v7().to_string() }),
        )
        .await;
    assert_eq!(
        missing["errors"][0]["message"]
            .as_str()
            .map(|m| m.replace(|c: char| c.is_ascii_hexdigit() || c == '-', "")),
        body["errors"][0]["message"]
            .as_str()
            .map(|m| m.replace(|c: char| c.is_ascii_hexdigit() || c == '-', "")),
        "the same answer as for an id that does not exist"
    );
}

async fn auditors_read_everything_and_change_nothing(app: TestApp) {
    let id = issue(&app, "DMP", "TB2024-3").await;
    issue(&app, "FHI", "TB2024-4").await;
    let rr = app.token("auditor", "RR");
    let body = app
        .gql(
            &rr,
            "{ board { totalCount } me { role organisation } }",
            json!({}),
        )
        .await;
    assert_eq!(data(&body, "board.totalCount"), 2);
    assert_eq!(data(&body, "me.role"), "AUDITOR");
    let cancel = r#"mutation($id: ID!) { cancelAssignment(id: $id, reason: "x") { position } }"#;
    let body = app.gql(&rr, cancel, json!({ "id": id })).await;
    assert_eq!(code(&body), "FORBIDDEN");
    let body = app
        .gql(
            &rr,
            ISSUE,
            json!({ "input": issue_input("DMP", "TB2024-5", "x") }),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN");
    let body = app.gql(&rr, "{ board { totalCount } }", json!({})).await;
    assert_eq!(data(&body, "board.totalCount"), 2, "nothing was added");
}

async fn refusals_carry_stable_codes_and_change_nothing(app: TestApp) {
    let id = issue(&app, "DMP", "TB2024-6").await;
    let dmp = app.token("agency", "DMP");
    let hod = app.token("ministry", "HOD");
    let before =
        app.graphql("{ health { logPosition } }", None).await["data"]["health"]["logPosition"]
            .clone();

    let body = app.graphql("{ board { totalCount } }", None).await;
    assert_eq!(code(&body), "UNAUTHENTICATED");

    let yellow = r#"mutation($id: ID!) { reportStatus(id: $id, input: { period: { kind: TERTIAL_1 }, trafficLight: YELLOW,
        progress: "forsinket", causeAndConsequence: "mangler data" }) { position } }"#;
    let body = app.gql(&dmp, yellow, json!({ "id": id })).await;
    assert_eq!(code(&body), "VALIDATION");
    assert_eq!(
        body["errors"][0]["extensions"]["field"],
        "corrective_action"
    );

    let body = app.gql(&hod, yellow, json!({ "id": id })).await;
    assert_eq!(code(&body), "FORBIDDEN", "a ministry user reporting status");

    let grant = r#"mutation($id: ID!) { grantExtension(id: $id, requestId: "0190aaaa-0000-7000-8000-000000000000") { position } }"#;
    let body = app.gql(&hod, grant, json!({ "id": id })).await;
    assert_eq!(
        code(&body),
        "RULE_VIOLATED",
        "granting an extension nobody asked for: {body}"
    );

    let mut bad = issue_input("DMP", "TB-twelve", "x");
    bad["year"] = json!(2024);
    let body = app.gql(&hod, ISSUE, json!({ "input": bad })).await;
    assert_eq!(code(&body), "VALIDATION");
    assert_eq!(body["errors"][0]["extensions"]["field"], "input.reference");

    let body = app
        .gql(&hod, r#"{ assignment(id: "not-an-id") { id } }"#, json!({}))
        .await;
    assert_eq!(code(&body), "NOT_FOUND");

    let after =
        app.graphql("{ health { logPosition } }", None).await["data"]["health"]["logPosition"]
            .clone();
    assert_eq!(before, after, "no refused command wrote anything");
}

async fn a_retried_command_id_acts_once(app: TestApp) {
    let hod = app.token("ministry", "HOD");
    let command_id = "0190aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee";
    let vars = json!({ "input": issue_input("DMP", "TB2024-7", "Retry"), "options": { "commandId": command_id } });
    let first = app.gql(&hod, ISSUE, vars.clone()).await;
    let second = app.gql(&hod, ISSUE, vars).await;
    assert_eq!(data(&first, "issueAssignment.repeated"), false);
    assert_eq!(data(&second, "issueAssignment.repeated"), true);
    assert_eq!(
        data(&first, "issueAssignment.assignment.id"),
        data(&second, "issueAssignment.assignment.id")
    );
    assert_eq!(
        data(&first, "issueAssignment.position"),
        data(&second, "issueAssignment.position")
    );
    let body = app.gql(&hod, "{ board { totalCount } }", json!({})).await;
    assert_eq!(data(&body, "board.totalCount"), 1);
}

#[actix_web::test]
async fn the_server_marks_missed_deadlines_on_sqlite() {
    the_server_marks_missed_deadlines(styr_eventstore::BackendKind::Sqlite).await;
}

#[actix_web::test]
async fn the_server_marks_missed_deadlines_on_postgres() {
    the_server_marks_missed_deadlines(styr_eventstore::BackendKind::Postgres).await;
}

async fn the_server_marks_missed_deadlines(kind: styr_eventstore::BackendKind) {
    let app = styr_tests::spawn_app_with(kind, &[("STYR_DEADLINE_MONITOR_SECS", "1")]).await;
    issue(&app, "DMP", "TB2024-8").await;
    let store = styr_eventstore::EventStore::connect(app.db.url(), Default::default())
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let missed: Vec<_> = store
            .read_all(0, 1000)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.event_type == "DeadlineMissed")
            .collect();
        if !missed.is_empty() {
            assert_eq!(
                missed.len(),
                1,
                "part a is due 1 March 2024; part b has no date yet"
            );
            assert_eq!(missed[0].actor.role, "system");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the monitor did not run"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // Later passes do not mark it again.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let again = store
        .read_all(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event_type == "DeadlineMissed")
        .count();
    assert_eq!(again, 1);
}
