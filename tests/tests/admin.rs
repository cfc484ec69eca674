//! Reference data, the remaining letter mutations and carry-over to next year, over real HTTP
//! on SQLite and PostgreSQL.

use serde_json::json;
use styr_tests::{TestApp, code, data, on_both_backends};

on_both_backends!(
    administrators_keep_the_reference_data,
    a_draft_letter_can_be_corrected_before_it_is_issued,
    an_assignment_is_carried_over_to_next_year,
);

async fn administrators_keep_the_reference_data(app: TestApp) {
    let admin = app.token("admin", "STYR");
    let steps = [
        r#"mutation { registerMinistry(code: "HOD", name: "Helse- og omsorgsdepartementet") { ministries { code } } }"#,
        r#"mutation { registerDepartment(ministry: "HOD", code: "SHA", name: "Spesialisthelsetjenesteavdelingen") { departments { code } } }"#,
        r#"mutation { registerAgency(code: "DMP", name: "Statens legemiddelverk", ministry: "HOD") { agencies { code } } }"#,
        r#"mutation { renameOrganisation(code: "DMP", newName: "Direktoratet for medisinske produkter", effective: "2024-01-01") { agencies { code } } }"#,
    ];
    for step in steps {
        data(&app.gql(&admin, step, json!({})).await, "");
    }
    let dmp = app.token("agency", "DMP");
    let body = app.gql(&dmp, "{ referenceData { agencies { code name ministry formerNames { name replacedOn } } departments { ministry code } } }", json!({})).await;
    assert_eq!(
        data(&body, "referenceData.agencies"),
        &json!([{ "code": "DMP", "name": "Direktoratet for medisinske produkter", "ministry": "HOD",
                  "formerNames": [{ "name": "Statens legemiddelverk", "replacedOn": "2024-01-01" }] }])
    );
    let body = app.gql(&dmp, r#"mutation { registerMinistry(code: "FIN", name: "Finansdepartementet") { ministries { code } } }"#, json!({})).await;
    assert_eq!(
        code(&body),
        "FORBIDDEN",
        "only administrators change reference data"
    );
    let body = app.gql(&admin, r#"mutation { registerAgency(code: "HDIR", name: "Helsedirektoratet", ministry: "XXX") { agencies { code } } }"#, json!({})).await;
    assert!(
        ["NOT_FOUND", "RULE_VIOLATED", "VALIDATION"].contains(&code(&body)),
        "{body}"
    );
    let body = app
        .gql(
            &admin,
            r#"mutation { registerMinistry(code: "HOD", name: "Igjen") { ministries { code } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(code(&body), "CONFLICT");
    let body = app.gql(&admin, "{ board { totalCount } }", json!({})).await;
    assert_eq!(
        code(&body),
        "FORBIDDEN",
        "administrators read no steering documents"
    );
}

async fn a_draft_letter_can_be_corrected_before_it_is_issued(app: TestApp) {
    let hod = app.token("ministry", "HOD");
    let body = app.gql(&hod, r#"mutation { draftLetter(input: { ministry: "HOD", agency: "DMP", year: 2024, title: "Tildelingsbrev 2024" }) { letter { id } } }"#, json!({})).await;
    let id = data(&body, "draftLetter.letter.id")
        .as_str()
        .unwrap()
        .to_owned();
    let lines = r#"mutation($id: ID!) {
        a: addBudgetLine(letterId: $id, line: { chapter: 746, post: 1, amount: 429548, text: "Driftsutgifter" }) { position }
        b: addBudgetLine(letterId: $id, line: { chapter: 746, post: 21, amount: 44434, text: "Spesielle driftsutgifter" }) { position }
        c: stateChapterSum(letterId: $id, chapter: 746, sum: 473000) { position }
        d: setDeviationThreshold(letterId: $id, amount: 5000, perMille: 50) { letter { budgetLines { id post } sumMismatches { chapter printedSum sumOfLines } } }
    }"#;
    let body = app.gql(&hod, lines, json!({ "id": id })).await;
    assert_eq!(
        data(&body, "d.letter.sumMismatches"),
        &json!([{ "chapter": "746", "printedSum": 473000, "sumOfLines": 473982 }]),
        "flagged, not fixed"
    );
    let line_21 = data(&body, "d.letter.budgetLines")
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["post"] == "21")
        .unwrap()["id"]
        .clone();
    let remove = r#"mutation($id: ID!, $item: ID!) { removeLetterItem(letterId: $id, itemId: $item) { letter { budget { post current } } } }"#;
    let body = app
        .gql(&hod, remove, json!({ "id": id, "item": line_21 }))
        .await;
    assert_eq!(
        data(&body, "removeLetterItem.letter.budget"),
        &json!([{ "post": "01", "current": 429548 }])
    );
    let body = app
        .gql(&hod, remove, json!({ "id": id, "item": line_21 }))
        .await;
    assert_eq!(code(&body), "NOT_FOUND", "removed once");
}

async fn an_assignment_is_carried_over_to_next_year(app: TestApp) {
    let hod = app.token("ministry", "HOD");
    let issue = r#"mutation { issueAssignment(input: { reference: "TB2024-7", ministry: "HOD", agency: "DMP", year: 2024,
        title: "EUDAMED", description: "Tilpasning til EUs database", parts: [{ label: "a", deadline: "2024-11-01" }] }) { assignment { id } } }"#;
    let body = app.gql(&hod, issue, json!({})).await;
    let old = data(&body, "issueAssignment.assignment.id")
        .as_str()
        .unwrap()
        .to_owned();
    let carry = r#"mutation($id: ID!) { carryOverAssignment(id: $id, newReference: "TB2025-3", reason: "EUDAMED er forsinket") {
        assignment { id reference year carriedOverFrom parts { label deadline deadlineToBeAgreed } } } }"#;
    let body = app.gql(&hod, carry, json!({ "id": old })).await;
    let new = data(&body, "carryOverAssignment.assignment").clone();
    assert_eq!(new["reference"], "TB2025-3");
    assert_eq!(new["year"], 2025);
    assert_eq!(new["carriedOverFrom"], old.as_str());
    assert_eq!(
        new["parts"],
        json!([{ "label": "a", "deadline": null, "deadlineToBeAgreed": true }])
    );
    let body = app
        .gql(
            &hod,
            "query($id: ID!) { assignment(id: $id) { lifecycle carriedOverTo } }",
            json!({ "id": old }),
        )
        .await;
    assert_eq!(data(&body, "assignment.lifecycle"), "carried_over");
    assert_eq!(data(&body, "assignment.carriedOverTo"), &new["id"]);
    let body = app.gql(&hod, carry, json!({ "id": old })).await;
    assert_eq!(code(&body), "RULE_VIOLATED", "carried over once: {body}");
    let dmp = app.token("agency", "DMP");
    let body = app.gql(&dmp, carry, json!({ "id": old })).await;
    assert_eq!(code(&body), "FORBIDDEN");
}
