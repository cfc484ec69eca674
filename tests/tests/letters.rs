//! Letters and supplements through GraphQL over real HTTP, on SQLite and PostgreSQL.

use serde_json::json;
use styr_tests::{TestApp, code, data, on_both_backends};

on_both_backends!(
    a_letter_is_drafted_issued_and_supplemented,
    letters_are_scoped_and_frozen_once_issued,
    reporting_requirements_become_deadlines_the_agency_meets,
);

async fn reporting_requirements_become_deadlines_the_agency_meets(app: TestApp) {
    let hod = app.token("ministry", "HOD");
    let body = app.gql(&hod, r#"mutation { draftLetter(input: { ministry: "HOD", agency: "DMP", year: 2024, title: "Tildelingsbrev 2024" }) { letter { id } } }"#, json!({})).await;
    let id = data(&body, "draftLetter.letter.id")
        .as_str()
        .unwrap()
        .to_owned();
    let body = app.gql(&hod, r#"mutation($id: ID!) {
        r: addReportingRequirement(letterId: $id, text: "Rapport om øvelser første halvår", due: "2024-08-15") { position }
        g: addGoal(letterId: $id, goal: { section: "2.3", title: "Forsyningssikkerhet og beredskap" }) {
            letter { reportingRequirements { id deadlineStatus } } } }"#, json!({ "id": id })).await;
    let requirement = &data(&body, "g.letter.reportingRequirements")[0];
    assert!(
        requirement["deadlineStatus"].is_null(),
        "a draft obliges nothing: {requirement}"
    );
    let item = requirement["id"].clone();
    app.gql(
        &hod,
        r#"mutation($id: ID!) { issueLetter(letterId: $id, issuedOn: "2024-02-05") { position } }"#,
        json!({ "id": id }),
    )
    .await;
    let view =
        r#"query($id: ID!) { letter(id: $id) { reportingRequirements { deadlineStatus due } } }"#;
    let body = app.gql(&hod, view, json!({ "id": id })).await;
    assert_eq!(
        data(&body, "letter.reportingRequirements"),
        &json!([{ "deadlineStatus": "open", "due": "2024-08-15" }])
    );

    let meet = r#"mutation($id: ID!, $item: ID!) { meetReportingRequirement(letterId: $id, itemId: $item) {
        letter { reportingRequirements { deadlineStatus } } } }"#;
    let body = app.gql(&hod, meet, json!({ "id": id, "item": item })).await;
    assert_eq!(
        code(&body),
        "FORBIDDEN",
        "the agency reports, not the ministry"
    );
    let fhi = app.token("agency", "FHI");
    let body = app.gql(&fhi, meet, json!({ "id": id, "item": item })).await;
    assert_eq!(code(&body), "NOT_FOUND");
    let dmp = app.token("agency", "DMP");
    let body = app.gql(&dmp, meet, json!({ "id": id, "item": item })).await;
    assert_eq!(
        data(
            &body,
            "meetReportingRequirement.letter.reportingRequirements"
        ),
        &json!([{ "deadlineStatus": "met" }])
    );
    let body = app.gql(&dmp, meet, json!({ "id": id, "item": item })).await;
    assert_eq!(code(&body), "RULE_VIOLATED", "met once");
    let waive = r#"mutation($id: ID!, $item: ID!) { waiveReportingRequirement(letterId: $id, itemId: $item, reason: "Ikke lenger aktuelt") { position } }"#;
    let body = app
        .gql(&dmp, waive, json!({ "id": id, "item": item }))
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "only the ministry waives");
    let body = app
        .gql(&hod, waive, json!({ "id": id, "item": item }))
        .await;
    assert_eq!(
        code(&body),
        "RULE_VIOLATED",
        "a met deadline cannot be waived: {body}"
    );
}

/// Drafts and issues HOD's 2024 letter to DMP with one goal and two budget lines.
async fn issued_letter(app: &TestApp) -> String {
    let hod = app.token("ministry", "HOD");
    let body = app
        .gql(
            &hod,
            r#"mutation { draftLetter(input: { ministry: "HOD", agency: "DMP", year: 2024,
        title: "Tildelingsbrev 2024", caseRef: "23/3412" }) { letter { id issuedOn } } }"#,
            json!({}),
        )
        .await;
    let id = data(&body, "draftLetter.letter.id")
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(id, "HOD:DMP:2024");
    let steps = [
        r#"mutation($id: ID!) { addGoal(letterId: $id, goal: { section: "2.1", title: "Rask tilgang til medisinske produkter",
            steeringParameters: ["Saksbehandlingstid innen 180 dager"] }) { position } }"#,
        r#"mutation($id: ID!) { addBudgetLine(letterId: $id, line: { chapter: 746, post: 1, amount: 429548, text: "Driftsutgifter" }) { position } }"#,
        r#"mutation($id: ID!) { addBudgetLine(letterId: $id, line: { chapter: 746, post: 21, amount: 44434, text: "Spesielle driftsutgifter" }) { position } }"#,
        r#"mutation($id: ID!) { addCalendarItem(letterId: $id, date: "2024-09-20", printedDate: "20. september", text: "Rapportering per andre tertial") { position } }"#,
        r#"mutation($id: ID!) { issueLetter(letterId: $id, issuedOn: "2024-02-05") { letter { issuedOn } } }"#,
    ];
    for step in steps {
        let body = app.gql(&hod, step, json!({ "id": id })).await;
        data(&body, "");
    }
    id
}

async fn a_letter_is_drafted_issued_and_supplemented(app: TestApp) {
    let hod = app.token("ministry", "HOD");
    let letter = issued_letter(&app).await;
    let body = app.gql(&hod, r#"mutation($id: ID!) { draftSupplement(letterId: $id, title: "Tillegg nr. 1") { supplement { id number } } }"#,
        json!({ "id": letter })).await;
    let supplement = data(&body, "draftSupplement.supplement.id")
        .as_str()
        .unwrap()
        .to_owned();
    assert!(data(&body, "draftSupplement.supplement.number").is_null());
    let add = r#"mutation($id: ID!, $change: SupplementChangeInput!) { addSupplementChange(supplementId: $id, change: $change) {
        supplement { changes { kind } } } }"#;
    let body = app.gql(&hod, add, json!({ "id": supplement, "change": {
        "kind": "ADD_ASSIGNMENT", "reference": "TB2024-20", "department": "SHA",
        "title": "Mulig gebyr for laboratorietjenester", "parts": [{ "deadline": "2024-05-07" }] } })).await;
    data(&body, "");
    let body = app
        .gql(
            &hod,
            add,
            json!({ "id": supplement, "change": {
        "kind": "BUDGET_ADJUSTMENT", "chapter": 746, "post": 1, "statedTotal": 1289,
        "reason": "Overført bevilgning fra 2023", "printed": "1,289 mill. kroner" } }),
        )
        .await;
    assert_eq!(
        data(&body, "addSupplementChange.supplement.changes")
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let issue = r#"mutation($id: ID!) { issueSupplement(supplementId: $id, issuedOn: "2024-03-20") { supplement { number issuedOn } } }"#;
    let body = app.gql(&hod, issue, json!({ "id": supplement })).await;
    assert_eq!(data(&body, "issueSupplement.supplement.number"), 1);

    let view = r#"query($id: ID!) { letter(id: $id) { budget { chapter post original adjustments current }
        supplements { number } assignments { reference source } goals { section } calendar { date printedDate } } }"#;
    let dmp = app.token("agency", "DMP");
    let body = app.gql(&dmp, view, json!({ "id": letter })).await;
    let budget = data(&body, "letter.budget");
    assert_eq!(
        budget[0],
        json!({ "chapter": "746", "post": "01", "original": 429548, "adjustments": 1289, "current": 430837 })
    );
    assert_eq!(budget[1]["current"], 44434);
    assert_eq!(data(&body, "letter.supplements"), &json!([{ "number": 1 }]));
    assert_eq!(
        data(&body, "letter.assignments"),
        &json!([{ "reference": "TB2024-20", "source": "supplement 1" }])
    );
    // The supplement's assignment is on the agency's board at once.
    let body = app
        .gql(
            &dmp,
            "{ board { totalCount edges { node { reference nextDeadline } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data(&body, "board.edges")[0]["node"],
        json!({ "reference": "TB2024-20", "nextDeadline": "2024-05-07" })
    );

    // Numbers leave no gaps, and an issued supplement cannot be issued again.
    let body = app.gql(&hod, issue, json!({ "id": supplement })).await;
    assert_eq!(code(&body), "CONFLICT");
    let body = app.gql(&hod, r#"mutation($id: ID!) { draftSupplement(letterId: $id, title: "Tillegg nr. 3") { supplement { id } } }"#,
        json!({ "id": letter })).await;
    let second = data(&body, "draftSupplement.supplement.id")
        .as_str()
        .unwrap()
        .to_owned();
    app.gql(&hod, add, json!({ "id": second, "change": { "kind": "FREE_TEXT", "text": "Rybelsus refunderes fra 1. juli" } })).await;
    let gap = r#"mutation($id: ID!) { issueSupplement(supplementId: $id, issuedOn: "2024-06-27", number: 3) { supplement { number } } }"#;
    let body = app.gql(&hod, gap, json!({ "id": second })).await;
    assert_eq!(code(&body), "RULE_VIOLATED", "{body}");
}

async fn letters_are_scoped_and_frozen_once_issued(app: TestApp) {
    let letter = issued_letter(&app).await;
    let hod = app.token("ministry", "HOD");
    let body = app.gql(&hod, r#"mutation($id: ID!) { addBudgetLine(letterId: $id, line: { chapter: 746, post: 1, amount: 1, text: "x" }) { position } }"#,
        json!({ "id": letter })).await;
    assert_eq!(
        code(&body),
        "RULE_VIOLATED",
        "an issued letter changes only through supplements: {body}"
    );
    let body = app.gql(&hod, r#"mutation { addBudgetLine(letterId: "HOD:DMP:2024", line: { chapter: 7, post: 1, amount: 1, text: "x" }) { position } }"#, json!({})).await;
    assert_eq!(code(&body), "VALIDATION");
    assert_eq!(body["errors"][0]["extensions"]["field"], "line.chapter");

    let fhi = app.token("agency", "FHI");
    let body = app
        .gql(
            &fhi,
            r#"query($id: ID!) { letter(id: $id) { title } }"#,
            json!({ "id": letter }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND");
    let body = app.gql(&fhi, "{ letters { id } }", json!({})).await;
    assert_eq!(data(&body, "letters"), &json!([]));
    let rr = app.token("auditor", "RR");
    let body = app
        .gql(&rr, "{ letters(year: 2024) { id } }", json!({}))
        .await;
    assert_eq!(data(&body, "letters"), &json!([{ "id": "HOD:DMP:2024" }]));
    let dmp = app.token("agency", "DMP");
    let body = app.gql(&dmp, r#"mutation { draftLetter(input: { ministry: "HOD", agency: "DMP", year: 2025, title: "x" }) { position } }"#, json!({})).await;
    assert_eq!(code(&body), "FORBIDDEN");
}
