//! The whole steering year in one flow, as the issue describes it, over real HTTP on SQLite and
//! PostgreSQL: the ministry issues a letter with goals, budget and assignments; a supplement
//! adds an assignment and moves money; the agency reports yellow with an action, asks for more
//! time, delivers late, is sent back, delivers again and is accepted; the board and the year-end
//! appendix show it all, to both sides.

use serde_json::{Value, json};
use styr_tests::{TestApp, on_both_backends};

on_both_backends!(a_steering_year_from_letter_to_appendix);

struct Session<'a> {
    app: &'a TestApp,
    token: String,
}

impl Session<'_> {
    async fn run(&self, query: &str, variables: Value) -> Value {
        let body = self
            .app
            .graphql_with(
                json!({ "query": query, "variables": variables }),
                Some(&self.token),
            )
            .await;
        assert!(
            body.get("errors").is_none_or(Value::is_null),
            "{query}\n=> {body}"
        );
        body["data"].clone()
    }
}

async fn a_steering_year_from_letter_to_appendix(app: TestApp) {
    let hod = Session {
        app: &app,
        token: app.token("ministry", "HOD"),
    };
    let dmp = Session {
        app: &app,
        token: app.token("agency", "DMP"),
    };

    // The ministry issues the letter: a goal, the budget, two assignments.
    hod.run(r#"mutation { draftLetter(input: { ministry: "HOD", agency: "DMP", year: 2024, title: "Tildelingsbrev 2024" }) { position } }"#, json!({})).await;
    let letter = json!("HOD:DMP:2024");
    let mut ids = Vec::new();
    for (reference, title, parts) in [
        (
            "TB2024-12",
            "Oppfølging av nasjonal tobakksstrategi",
            json!([{ "label": "a", "deadline": "2024-03-01" }, { "label": "b", "toBeAgreed": true }]),
        ),
        (
            "TB2024-13",
            "Legemiddelmangel",
            json!([{ "deadline": "2024-09-01" }]),
        ),
    ] {
        let data = hod.run(
            "mutation($input: IssueAssignmentInput!) { issueAssignment(input: $input) { assignment { id } } }",
            json!({ "input": { "reference": reference, "ministry": "HOD", "agency": "DMP", "year": 2024,
                "title": title, "description": "", "goal": "2.2", "parts": parts } }),
        )
        .await;
        let id = data["issueAssignment"]["assignment"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        hod.run(
            "mutation($l: ID!, $a: ID!, $r: String!, $t: String!) { listAssignment(letterId: $l, assignmentId: $a, reference: $r, title: $t) { position } }",
            json!({ "l": letter, "a": id, "r": reference, "t": title }),
        )
        .await;
        ids.push(id);
    }
    hod.run(r#"mutation($l: ID!) {
        g: addGoal(letterId: $l, goal: { section: "2.2", title: "Sikkerhet ved og riktig bruk" }) { position }
        b: addBudgetLine(letterId: $l, line: { chapter: 746, post: 1, amount: 429548, text: "Driftsutgifter" }) { position }
        i: issueLetter(letterId: $l, issuedOn: "2024-02-05") { position } }"#, json!({ "l": letter })).await;

    // A supplement adds an assignment and moves money, atomically.
    let data = hod.run("mutation($l: ID!) { draftSupplement(letterId: $l, title: \"Tillegg nr. 1\") { supplement { id } } }", json!({ "l": letter })).await;
    let supplement = data["draftSupplement"]["supplement"]["id"].clone();
    for change in [
        json!({ "kind": "ADD_ASSIGNMENT", "reference": "TB2024-20", "title": "Gebyr for laboratorietjenester", "parts": [{ "deadline": "2024-05-07" }] }),
        json!({ "kind": "BUDGET_ADJUSTMENT", "chapter": 746, "post": 1, "statedTotal": 1289, "reason": "Overført fra 2023" }),
    ] {
        hod.run("mutation($s: ID!, $c: SupplementChangeInput!) { addSupplementChange(supplementId: $s, change: $c) { position } }", json!({ "s": supplement, "c": change })).await;
    }
    hod.run("mutation($s: ID!) { issueSupplement(supplementId: $s, issuedOn: \"2024-03-20\") { supplement { number } } }", json!({ "s": supplement })).await;

    // The agency: yellow with an action, then more time for part a.
    let tobacco = json!(ids[0]);
    dmp.run(r#"mutation($id: ID!) { reportStatus(id: $id, input: { period: { kind: TERTIAL_1 }, trafficLight: YELLOW,
        progress: "Forsinket", causeAndConsequence: "Mangler data", correctiveAction: "Ny innhenting" }) { position } }"#, json!({ "id": tobacco })).await;
    let data = dmp.run(r#"mutation($id: ID!) { requestExtension(id: $id, part: "a", newDate: "2024-03-15", reason: "Data kommer sent") {
        assignment { pendingExtension { id } } } }"#, json!({ "id": tobacco })).await;
    let request = data["requestExtension"]["assignment"]["pendingExtension"]["id"].clone();
    hod.run(
        "mutation($id: ID!, $r: ID!) { grantExtension(id: $id, requestId: $r) { position } }",
        json!({ "id": tobacco, "r": request }),
    )
    .await;

    // Late delivery, returned, delivered again, accepted.
    let deliver = r#"mutation($id: ID!, $s: String!) { deliver(id: $id, input: { part: "a", summary: $s }) { assignment { deliveries { late } } } }"#;
    let data = dmp
        .run(deliver, json!({ "id": tobacco, "s": "Utredning" }))
        .await;
    assert_eq!(data["deliver"]["assignment"]["deliveries"][0]["late"], true);
    hod.run(r#"mutation($id: ID!) { returnDelivery(id: $id, part: "a", reason: "Mangler konsekvenser") { position } }"#, json!({ "id": tobacco })).await;
    dmp.run(deliver, json!({ "id": tobacco, "s": "Revidert utredning" }))
        .await;
    hod.run(
        r#"mutation($id: ID!) { acceptDelivery(id: $id, part: "a") { position } }"#,
        json!({ "id": tobacco }),
    )
    .await;
    dmp.run(r#"mutation($id: ID!) { reportStatus(id: $id, input: { period: { kind: YEAR }, trafficLight: GREEN,
        progress: "Del a levert", yearEndPhrase: "Levert til HOD." }) { position } }"#, json!({ "id": tobacco })).await;

    // Both sides see the same year.
    for side in [&hod, &dmp] {
        let data = side.run(r#"{ board(filter: { year: 2024 }, sort: REFERENCE) { totalCount edges { node { reference status } } }
            letter(id: "HOD:DMP:2024") { budget { post current } supplements { number } assignments { reference source } }
            yearEndAppendix(letterId: "HOD:DMP:2024") { statusText assignment { reference } } }"#, json!({})).await;
        assert_eq!(data["board"]["totalCount"], 3);
        assert_eq!(
            data["board"]["edges"],
            json!([
                { "node": { "reference": "TB2024-12", "status": "IN_PROGRESS_ON_TRACK" } },
                { "node": { "reference": "TB2024-13", "status": "ISSUED" } },
                { "node": { "reference": "TB2024-20", "status": "ISSUED" } }
            ])
        );
        assert_eq!(
            data["letter"]["budget"],
            json!([{ "post": "01", "current": 429548 + 1289 }])
        );
        assert_eq!(data["letter"]["supplements"], json!([{ "number": 1 }]));
        assert_eq!(data["letter"]["assignments"].as_array().unwrap().len(), 3);
        assert_eq!(
            data["yearEndAppendix"][0],
            json!({ "statusText": "Levert til HOD.", "assignment": { "reference": "TB2024-12" } })
        );
        assert_eq!(data["yearEndAppendix"].as_array().unwrap().len(), 3);
    }
}
