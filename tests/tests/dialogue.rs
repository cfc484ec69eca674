//! Deviation reports and the steering calendar through GraphQL over real HTTP, on SQLite and
//! PostgreSQL.

use serde_json::json;
use styr_tests::{TestApp, code, data, on_both_backends};

on_both_backends!(
    a_budget_deviation_goes_from_draft_to_closed,
    fagmote_instructions_are_tracked_until_formalized,
);

async fn a_budget_deviation_goes_from_draft_to_closed(app: TestApp) {
    let dmp = app.token("agency", "DMP");
    let hod = app.token("ministry", "HOD");
    let draft = r#"mutation { draftDeviationReport(input: { ministry: "HOD", agency: "DMP", kind: BUDGET,
        chapter: 717, post: 70, period: { kind: TERTIAL_1 }, periodisedBudget: 20000, actual: 23500,
        explanation: "RELIS-tilskudd utbetalt tidlig", discoveredOn: "2024-05-02" }) {
        report { id status deviation deviationPerMille subject } } }"#;
    let body = app.gql(&dmp, draft, json!({})).await;
    let report = data(&body, "draftDeviationReport.report");
    assert_eq!(
        report["deviation"], 3500,
        "actual minus periodised budget, computed"
    );
    assert_eq!(report["deviationPerMille"], 175);
    assert_eq!(report["status"], "draft");
    let id = report["id"].as_str().unwrap().to_owned();

    let step = |name: &str, extra: &str| {
        format!(
            "mutation($id: ID!) {{ {name}(id: $id{extra}) {{ report {{ status submittedOn lagDays dialogue {{ question answer }} }} }} }}"
        )
    };
    let body = app
        .gql(
            &hod,
            &step("acknowledgeDeviationReport", ""),
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        code(&body),
        "RULE_VIOLATED",
        "a draft cannot be acknowledged: {body}"
    );
    let body = app
        .gql(
            &dmp,
            &step("submitDeviationReport", ""),
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        data(&body, "submitDeviationReport.report.status"),
        "submitted"
    );
    let body = app
        .gql(
            &dmp,
            &step("acknowledgeDeviationReport", ""),
            json!({ "id": id }),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "only the ministry acknowledges");
    let body = app
        .gql(
            &hod,
            &step(
                "requestDeviationFollowUp",
                r#", question: "Hvorfor tidlig?""#,
            ),
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        data(&body, "requestDeviationFollowUp.report.status"),
        "follow_up_requested"
    );
    let body = app
        .gql(
            &dmp,
            &step(
                "answerDeviationFollowUp",
                r#", answer: "Avtalt med mottaker""#,
            ),
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        data(&body, "answerDeviationFollowUp.report.dialogue"),
        &json!([{ "question": "Hvorfor tidlig?", "answer": "Avtalt med mottaker" }])
    );
    let body = app
        .gql(&hod, &step("closeDeviationReport", ""), json!({ "id": id }))
        .await;
    assert_eq!(data(&body, "closeDeviationReport.report.status"), "closed");

    let fhi = app.token("agency", "FHI");
    let body = app
        .gql(&fhi, "{ deviationReports { id } }", json!({}))
        .await;
    assert_eq!(data(&body, "deviationReports"), &json!([]));
    let body = app
        .gql(
            &fhi,
            "query($id: ID!) { deviationReport(id: $id) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND");
    let body = app
        .gql(&hod, "{ deviationReports { id status } }", json!({}))
        .await;
    assert_eq!(
        data(&body, "deviationReports"),
        &json!([{ "id": id, "status": "closed" }])
    );

    let missing = r#"mutation { draftDeviationReport(input: { ministry: "HOD", agency: "DMP", kind: BUDGET,
        chapter: 717, post: 70, periodisedBudget: 1, actual: 2, explanation: "x", discoveredOn: "2024-05-02" }) { report { id } } }"#;
    let body = app.gql(&dmp, missing, json!({})).await;
    assert_eq!(code(&body), "VALIDATION");
    assert_eq!(body["errors"][0]["extensions"]["field"], "input.period");
}

async fn fagmote_instructions_are_tracked_until_formalized(app: TestApp) {
    let hod = app.token("ministry", "HOD");
    let dmp = app.token("agency", "DMP");
    let schedule = r#"mutation { scheduleCalendarItem(input: { ministry: "HOD", agency: "DMP", date: "2024-10-15",
        kind: TECHNICAL_MEETING, title: "Fagmøte om legemiddelmangel", responsible: MINISTRY }) { item { id status } } }"#;
    let body = app.gql(&hod, schedule, json!({})).await;
    let id = data(&body, "scheduleCalendarItem.item.id")
        .as_str()
        .unwrap()
        .to_owned();
    let body = app
        .gql(&hod, minutes_before_meeting(), json!({ "id": id }))
        .await;
    assert_eq!(
        code(&body),
        "RULE_VIOLATED",
        "minutes come after the meeting"
    );
    let held = r#"mutation($id: ID!) { completeCalendarItem(id: $id, documentRef: "24/5555") { item { status } } }"#;
    assert_eq!(
        data(
            &app.gql(&hod, held, json!({ "id": id })).await,
            "completeCalendarItem.item.status"
        ),
        "completed"
    );
    let minutes = r#"mutation($id: ID!) { recordMinutes(id: $id, documentRef: "24/5555-1",
        decisions: ["Ny rapport i desember"], instructions: ["Kartlegg lagerbeholdning hos grossister"]) {
        item { status instructions { id text formalizedBy } } } }"#;
    let body = app.gql(&hod, minutes, json!({ "id": id })).await;
    let instruction = data(&body, "recordMinutes.item.instructions")[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let open = "{ unformalizedInstructions { id instructions { text formalizedBy } } }";
    let body = app.gql(&dmp, open, json!({})).await;
    assert_eq!(
        data(&body, "unformalizedInstructions")[0]["id"],
        id.as_str(),
        "the agency sees what is pending too"
    );

    let formalize = r#"mutation($id: ID!, $i: ID!) { formalizeInstruction(id: $id, instructionId: $i, source: { letterId: "HOD:DMP:2024" }) {
        item { instructions { formalizedBy } } } }"#;
    let body = app
        .gql(&dmp, formalize, json!({ "id": id, "i": instruction }))
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "only the ministry formalizes");
    let body = app
        .gql(&hod, formalize, json!({ "id": id, "i": instruction }))
        .await;
    assert_eq!(
        data(&body, "formalizeInstruction.item.instructions")[0]["formalizedBy"],
        "letter HOD:DMP:2024"
    );
    let body = app.gql(&dmp, open, json!({})).await;
    assert_eq!(data(&body, "unformalizedInstructions"), &json!([]));
    let body = app
        .gql(&dmp, "{ calendar { title kind date status } }", json!({}))
        .await;
    assert_eq!(
        data(&body, "calendar"),
        &json!([{ "title": "Fagmøte om legemiddelmangel", "kind": "TECHNICAL_MEETING", "date": "2024-10-15", "status": "minutes_recorded" }])
    );
}

fn minutes_before_meeting() -> &'static str {
    r#"mutation($id: ID!) { recordMinutes(id: $id, documentRef: "x", instructions: ["y"]) { position } }"#
}
