//! The letter, supplement, import, calendar, deviation, audit and report pages over real HTTP,
//! on SQLite and PostgreSQL: each renders for the roles that use it with the right content;
//! what a role may not see is in neither the page nor reachable by URL; forms change state and
//! redirect when valid, show the error and store nothing when not, and are refused without
//! the CSRF token; the import preview shows what was recognised and the warnings without
//! writing. "Stores nothing" is checked against the log's head position.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use styr_eventstore::BackendKind;
use styr_tests::web::{Browser, check_csrf_fields, check_headings, dev_app};
use styr_tests::{TestApp, code, data, log_position};

styr_tests::on_both_kinds!(
    letters_show_their_content_to_their_parties_only,
    a_ministry_officer_drafts_and_issues_a_supplement_from_the_pages,
    a_ministry_officer_issues_a_draft_letter_from_its_page,
    a_ministry_officer_drafts_a_letter_item_by_item_and_its_parties_settle_its_requirements,
    every_supplement_change_kind_is_added_from_the_pages_and_takes_effect_when_issued,
    the_import_preview_shows_what_was_recognised_and_writes_nothing,
    the_calendar_lists_and_shows_a_month,
    a_ministry_officer_keeps_the_calendar_from_its_pages,
    only_the_right_party_is_offered_and_may_post_a_calendar_command,
    an_agency_reports_a_deviation_and_significant_ones_show_their_lag,
    the_auditor_reads_letters_as_of_dates_diffs_copies_and_the_chain,
    the_appendix_and_tertial_report_print_and_download,
    the_appendix_and_tertial_report_download_as_pdf,
    the_new_pages_have_labels_ordered_headings_and_role_navigation,
);

// ---- setting the scene through the API ------------------------------------------------------

async fn issue_assignment(app: &TestApp, agency: &str, reference: &str, title: &str) -> String {
    styr_tests::issue_assignment(
        app,
        json!({
            "reference": reference, "ministry": "HOD", "agency": agency, "year": 2024,
            "department": "SHA", "title": title, "description": "Utrede og foreslå",
            "parts": [ { "label": "a", "deadline": "2024-03-01" } ]
        }),
    )
    .await
}

/// HOD's issued 2024 letter to `agency` with a goal, two budget lines, a calendar line and one
/// listed assignment; returns (letter id, assignment id).
async fn issued_letter(app: &TestApp, agency: &str, title: &str, task: &str) -> (String, String) {
    let hod = app.token("ministry", "HOD");
    let body = app
        .gql(
            &hod,
            r#"mutation($agency: String!, $title: String!) { draftLetter(input: { ministry: "HOD", agency: $agency,
                year: 2024, title: $title, caseRef: "23/3412" }) { letter { id } } }"#,
            json!({ "agency": agency, "title": title }),
        )
        .await;
    let id = data(&body, "draftLetter.letter.id")
        .as_str()
        .unwrap()
        .to_owned();
    let assignment = issue_assignment(app, agency, "TB2024-7", task).await;
    let steps = [
        r#"mutation($id: ID!) { addGoal(letterId: $id, goal: { section: "2.1", title: "Rask tilgang til medisinske produkter",
            steeringParameters: ["Saksbehandlingstid innen 180 dager"], keyFigures: ["Antall vedtak"] }) { position } }"#,
        r#"mutation($id: ID!) { addBudgetLine(letterId: $id, line: { chapter: 746, post: 1, amount: 429548, text: "Driftsutgifter" }) { position } }"#,
        r#"mutation($id: ID!) { addBudgetLine(letterId: $id, line: { chapter: 746, post: 21, amount: 44434, text: "Spesielle driftsutgifter" }) { position } }"#,
        r#"mutation($id: ID!) { addCalendarItem(letterId: $id, date: "2024-09-20", printedDate: "20. september", text: "Rapportering per andre tertial") { position } }"#,
        r#"mutation($id: ID!, $a: ID!) { listAssignment(letterId: $id, assignmentId: $a, reference: "TB2024-7", title: "Oppdraget i brevet") { position } }"#,
        r#"mutation($id: ID!) { issueLetter(letterId: $id, issuedOn: "2024-02-05") { letter { issuedOn } } }"#,
    ];
    for step in steps {
        let body = app
            .gql(&hod, step, json!({ "id": id, "a": assignment }))
            .await;
        data(&body, "");
    }
    (id, assignment)
}

/// A day safely after now in any time zone: "as of" it means "everything recorded so far".
fn after_today() -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(2))
        .format("%Y-%m-%d")
        .to_string()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The import parser's synthetic letter: every form the real letters use, with warnings.
fn synthetic_letter() -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/import/synthetic-2024.txt"),
    )
    .expect("the synthetic letter")
}

// ---- the tests ------------------------------------------------------------------------------

async fn letters_show_their_content_to_their_parties_only(kind: BackendKind) {
    let app = dev_app(kind).await;
    let (dmp_letter, assignment) = issued_letter(
        &app,
        "DMP",
        "Tildelingsbrev 2024 til DMP",
        "Legemiddelmangel",
    )
    .await;
    let (fhi_letter, _) = issued_letter(
        &app,
        "FHI",
        "Tildelingsbrev 2024 til FHI",
        "Hemmelig FHI-oppdrag",
    )
    .await;

    for who in ["dmp", "hod", "rr"] {
        let mut browser = Browser::new(&app);
        browser.sign_in(who).await;
        let page = browser.get("/letters").await;
        assert_eq!(page.status, 200, "{who}");
        assert!(page.body.contains("Tildelingsbrev 2024 til DMP"), "{who}");
        // HOD and the auditor see both letters; DMP only its own.
        assert_eq!(
            page.body.contains("Tildelingsbrev 2024 til FHI"),
            who != "dmp",
            "{who}: {}",
            page.body
        );
        let page = browser.get(&format!("/letters/{dmp_letter}")).await;
        assert_eq!(page.status, 200, "{who}: {}", page.body);
        for expected in [
            "Rask tilgang til medisinske produkter",
            "Saksbehandlingstid innen 180 dager",
            "Antall vedtak",
            "746/01",
            "429\u{a0}548",
            "Rapportering per andre tertial",
            "20. september 2024",
            "5. februar 2024",
            "Oppdraget i brevet",
        ] {
            assert!(
                page.body.contains(expected),
                "{who}: {expected}: {}",
                page.body
            );
        }
        assert!(
            page.body
                .contains(&format!(r#"href="/assignments/{assignment}""#))
        );
        // Only the ministry is offered the supplement form.
        assert_eq!(
            page.body.contains("form-draft_supplement"),
            who == "hod",
            "{who}"
        );
    }
    // DMP gets FHI's letter neither in the list nor by URL.
    let mut dmp = Browser::new(&app);
    dmp.sign_in("dmp").await;
    let page = dmp.get(&format!("/letters/{fhi_letter}")).await;
    assert_eq!(page.status, 404);
    assert!(!page.body.contains("Hemmelig"));
    assert!(!page.body.contains("Tildelingsbrev 2024 til FHI"));
    // English on request.
    let page = dmp.get(&format!("/letters/{dmp_letter}?lang=en")).await;
    assert!(page.body.contains("Steering parameters"));
    assert!(page.body.contains("20 September 2024"));
    // Signed out: to the sign-in page.
    let mut anonymous = Browser::new(&app);
    let page = anonymous.get(&format!("/letters/{dmp_letter}")).await;
    assert_eq!(page.location.as_deref(), Some("/login"));
    app.stop().await;
}

async fn a_ministry_officer_drafts_and_issues_a_supplement_from_the_pages(kind: BackendKind) {
    let app = dev_app(kind).await;
    let (letter, _) = issued_letter(&app, "DMP", "Tildelingsbrev 2024", "Oppdrag").await;
    let mut hod = Browser::new(&app);
    hod.sign_in("hod").await;
    let path = format!("/letters/{letter}/supplements");

    // Without the CSRF token, and with an empty title: nothing is written.
    let before = log_position(&app).await;
    let page = hod.post(&path, &[("title", "Tillegg nr. 1")], false).await;
    assert_eq!(page.status, 403);
    let page = hod.post(&path, &[("title", "  ")], true).await;
    assert_eq!(page.status, 422, "{}", page.body);
    page.assert_has("Må fylles ut.");
    assert!(
        page.body
            .contains(r#"aria-describedby="draft_supplement-title-error""#)
    );
    assert_eq!(log_position(&app).await, before);
    // Another agency may not learn that the letter exists.
    let mut fhi = Browser::new(&app);
    fhi.sign_in_as("agency", "FHI").await;
    let page = fhi.post(&path, &[("title", "Tillegg fra FHI")], true).await;
    assert_eq!(page.status, 404, "{}", page.body);
    assert_eq!(log_position(&app).await, before);
    // Its own agency may see it but not draft one.
    let mut dmp = Browser::new(&app);
    dmp.sign_in("dmp").await;
    let page = dmp.post(&path, &[("title", "Tillegg fra DMP")], true).await;
    assert_eq!(page.status, 403, "{}", page.body);
    assert_eq!(log_position(&app).await, before);

    let page = hod.post(&path, &[("title", "Tillegg nr. 1")], true).await;
    assert_eq!(page.status, 303, "{}", page.body);
    let supplement = page.location.unwrap();
    assert!(supplement.starts_with("/supplements/"));
    let page = hod.get(&supplement).await;
    assert!(page.body.contains("Tillegg nr. 1"));
    assert!(page.body.contains("form-add_budget"));

    // A budget change whose post is not a number: shown beside the field, nothing stored.
    let at = log_position(&app).await;
    let bad = [
        ("chapter", "746"),
        ("post", "en"),
        ("stated_total", "1289"),
        ("reason", "Overført fra 2023"),
    ];
    let page = hod
        .post(&format!("{supplement}/add_budget"), &bad, true)
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    page.assert_has(r#"id="add_budget-post-error""#);
    assert!(
        page.body.contains("Overført fra 2023"),
        "what was entered is kept"
    );
    assert_eq!(log_position(&app).await, at);
    // A domain refusal (a chapter of five digits) names its field too.
    let page = hod
        .post(
            &format!("{supplement}/add_budget"),
            &[
                ("chapter", "74600"),
                ("post", "1"),
                ("stated_total", "1289"),
                ("reason", "x"),
            ],
            true,
        )
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    page.assert_has(r#"id="add_budget-chapter-error""#);
    assert_eq!(log_position(&app).await, at);

    // Another agency can neither read the supplement nor act on it.
    let page = fhi.get(&supplement).await;
    assert_eq!(page.status, 404);
    assert!(!page.body.contains("Tillegg nr. 1"));
    let page = fhi
        .post(
            &format!("{supplement}/add_text"),
            &[("text", "Fra FHI")],
            true,
        )
        .await;
    assert_eq!(page.status, 404, "out of scope is not found");
    assert_eq!(log_position(&app).await, at);
    let good = [
        ("chapter", "746"),
        ("post", "1"),
        ("stated_total", "1289"),
        ("reason", "Overført fra 2023"),
    ];
    let page = hod
        .post(&format!("{supplement}/add_budget"), &good, false)
        .await;
    assert_eq!(page.status, 403, "no CSRF token");
    assert_eq!(log_position(&app).await, at);
    let page = hod
        .post(&format!("{supplement}/add_budget"), &good, true)
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let page = hod
        .post(
            &format!("{supplement}/add_text"),
            &[("text", "Departementet viser til RNB.")],
            true,
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let page = hod.get(&supplement).await;
    page.assert_has("Budsjettendring");
    // A number that is negative or beyond the API's 32 bits: beside its field, nothing stored.
    let at = log_position(&app).await;
    for number in ["-1", "99999999999"] {
        let page = hod
            .post(
                &format!("{supplement}/issue"),
                &[("issued_on", "2024-03-20"), ("number", number)],
                true,
            )
            .await;
        assert_eq!(page.status, 422, "{number}: {}", page.body);
        page.assert_has(r#"id="issue-number-error""#);
        page.assert_lacks("Failed to parse");
    }
    assert_eq!(log_position(&app).await, at);
    let page = hod
        .post(
            &format!("{supplement}/issue"),
            &[("issued_on", "2024-03-20")],
            true,
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    // Its forms are gone: a change posted now is refused in a summary at the top.
    let page = hod
        .post(
            &format!("{supplement}/add_text"),
            &[("text", "For sent")],
            true,
        )
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    page.assert_lacks("form-add_text");
    page.assert_has(r#"class="errors" role="alert""#);

    // The letter lists it in order and its budget has the adjustment.
    let page = hod.get(&format!("/letters/{letter}")).await;
    page.assert_has("Tillegg nr. 1");
    assert!(page.body.contains("20. mars 2024"));
    assert!(
        page.body.contains("430\u{a0}837"),
        "429 548 + 1 289: {}",
        page.body
    );
    let page = hod.get(&supplement).await;
    assert!(
        !page.body.contains("form-add_budget"),
        "an issued supplement is not edited"
    );
    let hod_token = app.token("ministry", "HOD");
    let body = app
        .gql(
            &hod_token,
            r#"query($id: ID!) { letter(id: $id) { supplements { number } budget { chapter post current } } }"#,
            json!({ "id": letter }),
        )
        .await;
    assert_eq!(data(&body, "letter.supplements"), &json!([{ "number": 1 }]));
    assert_eq!(data(&body, "letter.budget")[0]["current"], 430837);
    app.stop().await;
}

async fn the_import_preview_shows_what_was_recognised_and_writes_nothing(kind: BackendKind) {
    let app = dev_app(kind).await;
    let text = synthetic_letter();
    // What the parser makes of it, for comparison.
    let hod_token = app.token("ministry", "HOD");
    let body = app
        .gql(
            &hod_token,
            r#"mutation($text: String!) { importLetterText(text: $text, ministry: "HOD", agency: "DMP", year: 2024) { preview } }"#,
            json!({ "text": text }),
        )
        .await;
    let preview = data(&body, "importLetterText.preview").clone();
    let warnings = preview["warnings"].as_array().unwrap();
    assert!(
        !warnings.is_empty(),
        "the fixture has normalised references"
    );

    let mut hod = Browser::new(&app);
    hod.sign_in("hod").await;
    let page = hod.get("/import").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(r#"<textarea id="import-text""#));
    let fields = [("agency", "DMP"), ("year", "2024"), ("text", text.as_str())];
    let before = log_position(&app).await;

    let page = hod.post("/import", &fields, false).await;
    assert_eq!(page.status, 403);

    let mut preview_form = fields.to_vec();
    preview_form.push(("action", "preview"));
    let page = hod.post("/import", &preview_form, true).await;
    assert_eq!(page.status, 200, "{}", page.body);
    for recognised in [
        "Tillegg nr. 3",
        "Tillegg nr. 4",
        "Årsplan",
        "Veileder for søkere",
        "Tobakk og snus",
        "Raske og gode vedtak",
    ] {
        assert!(
            page.body.contains(recognised),
            "{recognised}: {}",
            page.body
        );
    }
    assert!(
        page.body
            .contains(&format!("Advarsler ({})", warnings.len()))
    );
    for w in warnings {
        let message = html_escape(w["message"].as_str().unwrap());
        assert!(
            page.body.contains(&message),
            "warning {message}: {}",
            page.body
        );
    }
    assert!(
        page.body.contains(r#"value="apply""#),
        "apply is offered after a preview"
    );
    assert_eq!(log_position(&app).await, before, "a preview writes nothing");

    // The real 2024 letter (seed 001) is larger than a default form allows.
    let seed = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/seeds/tildelingsbrev-2024-dmp.txt"),
    )
    .unwrap();
    assert!(
        seed.len() > 16 * 1024,
        "above the default 16 KiB form limit"
    );
    let page = hod
        .post(
            "/import",
            &[
                ("agency", "DMP"),
                ("year", "2024"),
                ("text", &seed),
                ("action", "preview"),
            ],
            true,
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.assert_has("Oppdrag (19)");
    assert!(page.body.contains("Tillegg nr. 1"));
    assert_eq!(log_position(&app).await, before);

    // Empty text: the error beside the field, nothing written.
    let page = hod
        .post(
            "/import",
            &[
                ("agency", "DMP"),
                ("year", "2024"),
                ("text", ""),
                ("action", "apply"),
            ],
            true,
        )
        .await;
    assert_eq!(page.status, 422);
    page.assert_has(r#"id="import-text-error""#);
    assert_eq!(log_position(&app).await, before);
    // The agency may not import.
    let mut dmp = Browser::new(&app);
    dmp.sign_in("dmp").await;
    assert_eq!(dmp.get("/import").await.status, 403);
    let page = dmp.post("/import", &preview_form, true).await;
    assert_eq!(page.status, 403);

    let mut apply_form = fields.to_vec();
    apply_form.push(("action", "apply"));
    let page = hod.post("/import", &apply_form, true).await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.assert_has(r#"href="/letters/HOD:DMP:2024""#);
    assert!(log_position(&app).await > before);
    let page_after_apply = page.body;
    let page = hod.get("/letters/HOD:DMP:2024").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Årsplan"));
    // The supplements in the text became drafts, linked from the result, ready to issue.
    let supplements: Vec<&str> = page_after_apply
        .match_indices(r#"href="/supplements/"#)
        .map(|(i, m)| {
            let rest = &page_after_apply[i + m.len()..];
            &rest[..rest.find('"').unwrap()]
        })
        .collect();
    assert_eq!(supplements.len(), 2, "{page_after_apply}");
    let page = hod.get(&format!("/supplements/{}", supplements[0])).await;
    assert_eq!(page.status, 200);
    page.assert_has("form-issue");
    app.stop().await;
}

async fn the_calendar_lists_and_shows_a_month(kind: BackendKind) {
    let app = dev_app(kind).await;
    let hod = app.token("ministry", "HOD");
    for (agency, date, title) in [
        ("DMP", "2024-03-15", "Etatsstyringsmøte med DMP"),
        ("FHI", "2024-03-18", "Etatsstyringsmøte med FHI"),
    ] {
        let body = app
            .gql(
                &hod,
                r#"mutation($agency: String!, $date: Date!, $title: String!) { scheduleCalendarItem(input: {
                    ministry: "HOD", agency: $agency, date: $date, kind: STEERING_MEETING, title: $title,
                    responsible: MINISTRY }) { position } }"#,
                json!({ "agency": agency, "date": date, "title": title }),
            )
            .await;
        data(&body, "");
    }
    issued_letter(&app, "DMP", "Tildelingsbrev 2024", "Oppdrag").await;
    let mut dmp = Browser::new(&app);
    dmp.sign_in("dmp").await;
    let page = dmp.get("/calendar").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Etatsstyringsmøte med DMP"));
    assert!(page.body.contains("15. mars 2024"));
    assert!(
        page.body.contains("Rapportering per andre tertial"),
        "the letter's calendar"
    );
    assert!(page.body.contains(r#"href="/calendar.ics""#));
    assert!(
        !page.body.contains("Etatsstyringsmøte med FHI"),
        "another agency's meeting"
    );
    let page = dmp.get("/calendar?month=2024-03").await;
    assert_eq!(page.status, 200);
    page.assert_has("Styringskalender – mars 2024");
    assert!(page.body.contains("Etatsstyringsmøte med DMP"));
    assert!(
        !page.body.contains("Rapportering per andre tertial"),
        "September is not March"
    );
    assert!(page.body.contains(r#"href="/calendar?month=2024-04""#));
    let page = dmp.get("/calendar?month=2024-09").await;
    assert!(page.body.contains("Rapportering per andre tertial"));
    assert!(!page.body.contains("Etatsstyringsmøte med DMP"));
    let page = dmp.get("/letters/HOD:DMP:2024").await;
    assert!(
        page.body.contains("Etatsstyringsmøte med DMP"),
        "the letter's calendar items"
    );
    assert!(!page.body.contains("Etatsstyringsmøte med FHI"));
    let page = dmp.get("/calendar?month=mars").await;
    assert_eq!(page.status, 400);
    assert!(page.body.contains("Skriv måneden som ÅÅÅÅ-MM."));
    // The ministry sees both agencies' meetings.
    let mut ministry = Browser::new(&app);
    ministry.sign_in("hod").await;
    let page = ministry.get("/calendar?month=2024-03&lang=en").await;
    assert!(page.body.contains("Steering calendar – March 2024"));
    assert!(page.body.contains("Etatsstyringsmøte med FHI"));
    app.stop().await;
}

/// One calendar item as HOD reads it through the API.
async fn calendar_item(app: &TestApp, id: &str) -> serde_json::Value {
    let body = app
        .gql(
            &app.token("ministry", "HOD"),
            "{ calendar { id date status title kind responsible decisions instructions { id text formalizedBy } } }",
            json!({}),
        )
        .await;
    data(&body, "calendar")
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("calendar item {id}"))
}

/// Schedules an item through the page as `browser`; returns its id.
async fn schedule_from_page(
    browser: &mut Browser<'_>,
    date: &str,
    kind: &str,
    title: &str,
    responsible: &str,
) -> String {
    let page = browser
        .post(
            "/calendar",
            &[
                ("agency", "DMP"),
                ("date", date),
                ("kind", kind),
                ("title", title),
                ("responsible", responsible),
            ],
            true,
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let location = page.location.expect("to the item's page");
    location
        .strip_prefix("/calendar/")
        .expect("the item's page")
        .to_owned()
}

async fn a_ministry_officer_keeps_the_calendar_from_its_pages(kind: BackendKind) {
    let app = dev_app(kind).await;
    let (letter, _) = issued_letter(&app, "DMP", "Tildelingsbrev 2024", "Oppdrag").await;
    let mut hod = Browser::new(&app);
    hod.sign_in("hod").await;
    let page = hod.get("/calendar").await;
    page.assert_has(r#"id="form-schedule""#);
    check_labels("hod /calendar", &page.body);
    check_headings("hod /calendar", &page.body);

    // Without the CSRF token, with a date that is not one, without a title: nothing is written.
    let before = log_position(&app).await;
    let fields = [
        ("agency", "DMP"),
        ("date", "15.03.2024"),
        ("kind", "TECHNICAL_MEETING"),
        ("title", "Fagmøte om legemiddelberedskap"),
        ("responsible", "MINISTRY"),
    ];
    let page = hod.post("/calendar", &fields, false).await;
    assert_eq!(page.status, 403);
    let page = hod.post("/calendar", &fields, true).await;
    assert_eq!(page.status, 422, "{}", page.body);
    page.assert_has("Skriv datoen som ÅÅÅÅ-MM-DD.");
    page.assert_has(r#"aria-describedby="schedule-date-error""#);
    page.assert_has(r#"value="Fagmøte om legemiddelberedskap""#);
    page.assert_has(r#"value="15.03.2024""#);
    check_labels("hod failed schedule", &page.body);
    check_headings("hod failed schedule", &page.body);
    let page = hod
        .post(
            "/calendar",
            &[
                ("agency", "DMP"),
                ("date", "2024-03-15"),
                ("kind", "OTHER"),
                ("title", " "),
                ("responsible", "AGENCY"),
            ],
            true,
        )
        .await;
    assert_eq!(page.status, 422);
    page.assert_has(r#"aria-describedby="schedule-title-error""#);
    assert_eq!(log_position(&app).await, before);

    // A technical meeting (fagmøte), scheduled, moved, held, minuted and its instruction
    // formalized in the letter.
    let meeting = schedule_from_page(
        &mut hod,
        "2024-03-15",
        "TECHNICAL_MEETING",
        "Fagmøte om legemiddelberedskap",
        "MINISTRY",
    )
    .await;
    let item = calendar_item(&app, &meeting).await;
    assert_eq!(item["date"], "2024-03-15");
    assert_eq!(item["status"], "scheduled");
    assert_eq!(item["kind"], "TECHNICAL_MEETING");
    let path = format!("/calendar/{meeting}");
    let page = hod.get(&path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.assert_has("<h1>Fagmøte om legemiddelberedskap</h1>");
    for form in ["reschedule", "complete", "missed", "cancel"] {
        page.assert_has(&format!(r#"id="form-{form}""#));
    }
    page.assert_lacks(r#"id="form-minutes""#);
    check_labels("hod item", &page.body);
    check_headings("hod item", &page.body);
    // The calendar links to it.
    hod.get("/calendar")
        .await
        .assert_has(&format!(r#"href="/calendar/{meeting}""#));

    let before = log_position(&app).await;
    let page = hod
        .post(
            &format!("{path}/reschedule"),
            &[("date", "2024-13-01"), ("reason", "Kollisjon")],
            true,
        )
        .await;
    assert_eq!(page.status, 422);
    page.assert_has(r#"aria-describedby="reschedule-date-error""#);
    page.assert_has("Kollisjon</textarea>");
    // The domain's own check: the same date is no move.
    let page = hod
        .post(
            &format!("{path}/reschedule"),
            &[("date", "2024-03-15"), ("reason", "Kollisjon")],
            true,
        )
        .await;
    assert_eq!(page.status, 422);
    page.assert_has(r#"aria-describedby="reschedule-date-error""#);
    let page = hod
        .post(&format!("{path}/complete"), &[("document_ref", "")], true)
        .await;
    assert_eq!(page.status, 422);
    page.assert_has(r#"aria-describedby="complete-document_ref-error""#);
    page.assert_has("Må fylles ut.");
    assert_eq!(log_position(&app).await, before);

    let page = hod
        .post(
            &format!("{path}/reschedule"),
            &[("date", "2024-03-20"), ("reason", "Kollisjon")],
            true,
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.location.as_deref(), Some(path.as_str()));
    assert_eq!(calendar_item(&app, &meeting).await["date"], "2024-03-20");
    // The form's reason is also the event's "why" in the item's history.
    let body = app
        .gql(
            &app.token("ministry", "HOD"),
            r#"query($id: ID!) { history(streamType: "calendar_item", streamId: $id) { reason } }"#,
            json!({ "id": meeting }),
        )
        .await;
    let history = data(&body, "history").as_array().expect("the history");
    assert_eq!(
        history.last().map(|e| e["reason"].clone()),
        Some(json!("Kollisjon")),
        "{history:?}"
    );
    let page = hod
        .post(
            &format!("{path}/complete"),
            &[("document_ref", "24/123-4")],
            true,
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(calendar_item(&app, &meeting).await["status"], "completed");

    let page = hod.get(&path).await;
    page.assert_has(r#"id="form-minutes""#);
    page.assert_lacks(r#"id="form-reschedule""#);
    check_labels("hod held item", &page.body);
    let page = hod
        .post(
            &format!("{path}/minutes"),
            &[
                ("document_ref", "24/123-5"),
                ("decisions", "Beslutning A\r\n\r\nBeslutning B"),
                ("instructions", "Lag en beredskapsplan"),
            ],
            true,
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let item = calendar_item(&app, &meeting).await;
    assert_eq!(item["status"], "minutes_recorded");
    assert_eq!(item["decisions"], json!(["Beslutning A", "Beslutning B"]));
    assert_eq!(item["instructions"][0]["text"], "Lag en beredskapsplan");
    assert!(item["instructions"][0]["formalizedBy"].is_null());
    let instruction = item["instructions"][0]["id"].as_str().unwrap().to_owned();

    let page = hod.get(&path).await;
    page.assert_has("Beslutning B");
    page.assert_has("Ikke formalisert ennå");
    page.assert_has(r#"id="form-formalize""#);
    page.assert_has(&format!(r#"<option value="letter:{letter}""#));
    check_labels("hod minuted item", &page.body);
    check_headings("hod minuted item", &page.body);
    let before = log_position(&app).await;
    let page = hod
        .post(
            &format!("{path}/formalize"),
            &[("instruction", &instruction), ("source", "")],
            true,
        )
        .await;
    assert_eq!(page.status, 422);
    page.assert_has(r#"aria-describedby="formalize-source-error""#);
    assert_eq!(log_position(&app).await, before);
    let source = format!("letter:{letter}");
    let page = hod
        .post(
            &format!("{path}/formalize"),
            &[("instruction", &instruction), ("source", &source)],
            true,
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let item = calendar_item(&app, &meeting).await;
    assert_eq!(
        item["instructions"][0]["formalizedBy"],
        format!("letter {letter}")
    );
    hod.get(&path).await.assert_lacks(r#"id="form-formalize""#);

    // A report whose date has passed is marked missed; one still ahead cannot be (the domain
    // says why, beside the form), and is cancelled instead.
    let report = schedule_from_page(
        &mut hod,
        "2024-05-15",
        "TERTIAL_REPORT",
        "Tertialrapport 1",
        "AGENCY",
    )
    .await;
    let page = hod
        .post(&format!("/calendar/{report}/missed"), &[], true)
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(calendar_item(&app, &report).await["status"], "missed");
    let later = after_today();
    let ahead = schedule_from_page(
        &mut hod,
        &later,
        "STEERING_MEETING",
        "Etatsstyringsmøte høst",
        "MINISTRY",
    )
    .await;
    let path = format!("/calendar/{ahead}");
    hod.get(&path).await.assert_lacks(r#"id="form-missed""#);
    let before = log_position(&app).await;
    let page = hod.post(&format!("{path}/missed"), &[], true).await;
    assert_eq!(page.status, 422, "{}", page.body);
    page.assert_has("cannot be missed yet");
    let page = hod
        .post(&format!("{path}/cancel"), &[("reason", "")], true)
        .await;
    assert_eq!(page.status, 422);
    page.assert_has(r#"aria-describedby="cancel-reason-error""#);
    assert_eq!(log_position(&app).await, before);
    let page = hod
        .post(
            &format!("{path}/cancel"),
            &[("reason", "Flyttet til neste år")],
            true,
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(calendar_item(&app, &ahead).await["status"], "cancelled");
    // English words on the item page.
    let page = hod.get(&format!("{path}?lang=en")).await;
    page.assert_has("The ministry");
    page.assert_has("Cancelled");
    app.stop().await;
}

async fn only_the_right_party_is_offered_and_may_post_a_calendar_command(kind: BackendKind) {
    let app = dev_app(kind).await;
    let mut hod = Browser::new(&app);
    hod.sign_in("hod").await;
    let report = schedule_from_page(
        &mut hod,
        "2024-05-15",
        "TERTIAL_REPORT",
        "Tertialrapport 1",
        "AGENCY",
    )
    .await;
    let meeting = schedule_from_page(
        &mut hod,
        "2024-03-15",
        "STEERING_MEETING",
        "Etatsstyringsmøte",
        "MINISTRY",
    )
    .await;
    // The agency's report is the agency's to deliver: the ministry is not offered that.
    let page = hod.get(&format!("/calendar/{report}")).await;
    page.assert_lacks(r#"id="form-complete""#);
    page.assert_has(r#"id="form-missed""#);
    let before = log_position(&app).await;
    let page = hod
        .post(
            &format!("/calendar/{report}/complete"),
            &[("document_ref", "x")],
            true,
        )
        .await;
    assert_eq!(page.status, 403);

    let mut dmp = Browser::new(&app);
    dmp.sign_in("dmp").await;
    let page = dmp.get("/calendar").await;
    page.assert_lacks(r#"id="form-schedule""#);
    let page = dmp
        .post(
            "/calendar",
            &[
                ("agency", "DMP"),
                ("date", "2024-06-01"),
                ("kind", "OTHER"),
                ("title", "Eget punkt"),
                ("responsible", "AGENCY"),
            ],
            true,
        )
        .await;
    assert_eq!(page.status, 403);
    let page = dmp.get(&format!("/calendar/{meeting}")).await;
    assert_eq!(page.status, 200);
    page.assert_lacks("<form class=\"action\"");
    let page = dmp.get(&format!("/calendar/{report}")).await;
    page.assert_has(r#"id="form-complete""#);
    for form in ["reschedule", "missed", "cancel", "minutes"] {
        page.assert_lacks(&format!(r#"id="form-{form}""#));
    }
    check_labels("dmp item", &page.body);
    check_headings("dmp item", &page.body);
    for (action, fields) in [
        (
            "reschedule",
            vec![("date", "2024-06-01"), ("reason", "Ønsker utsettelse")],
        ),
        ("cancel", vec![("reason", "Passer ikke")]),
        ("missed", vec![]),
    ] {
        let page = dmp
            .post(&format!("/calendar/{report}/{action}"), &fields, true)
            .await;
        assert_eq!(page.status, 403, "{action}");
    }
    // Refused by the page's own checks, on a form the agency is not offered: the errors are
    // shown at the top, not lost.
    let page = dmp
        .post(
            &format!("/calendar/{report}/reschedule"),
            &[("date", "2024-06-01"), ("reason", " ")],
            true,
        )
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    page.assert_lacks(r#"id="form-reschedule""#);
    page.assert_has(r#"class="errors" role="alert""#);
    let page = dmp
        .post(
            &format!("/calendar/{meeting}/complete"),
            &[("document_ref", "x")],
            true,
        )
        .await;
    assert_eq!(page.status, 403);

    // The auditor reads and does nothing; another agency does not even see the item.
    let mut rr = Browser::new(&app);
    rr.sign_in("rr").await;
    let page = rr.get("/calendar").await;
    page.assert_lacks(r#"id="form-schedule""#);
    let page = rr.get(&format!("/calendar/{report}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.assert_lacks("<form class=\"action\"");
    let page = rr
        .post(
            &format!("/calendar/{report}/cancel"),
            &[("reason", "Nei")],
            true,
        )
        .await;
    assert_eq!(page.status, 403);
    let mut fhi = Browser::new(&app);
    fhi.sign_in_as("agency", "FHI").await;
    let page = fhi.get(&format!("/calendar/{report}")).await;
    assert_eq!(page.status, 404);
    page.assert_lacks("Tertialrapport 1");
    let page = fhi
        .post(
            &format!("/calendar/{report}/complete"),
            &[("document_ref", "x")],
            true,
        )
        .await;
    assert_eq!(page.status, 404);
    assert_eq!(log_position(&app).await, before);

    // The agency delivers its report from the page.
    let page = dmp
        .post(
            &format!("/calendar/{report}/complete"),
            &[("document_ref", "24/555-1")],
            true,
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(calendar_item(&app, &report).await["status"], "completed");
    app.stop().await;
}

async fn an_agency_reports_a_deviation_and_significant_ones_show_their_lag(kind: BackendKind) {
    let app = dev_app(kind).await;
    let mut dmp = Browser::new(&app);
    dmp.sign_in("dmp").await;
    let page = dmp.get("/deviations").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(r#"id="form-deviation""#));
    let report = [
        ("ministry", "HOD"),
        ("kind", "GOAL"),
        ("goal", "2.3"),
        ("category", "SECURITY_INCIDENT"),
        ("significant", "true"),
        ("explanation", "Alvorlig hendelse i leveransekjeden"),
        ("discovered_on", "2024-01-10"),
    ];
    let before = log_position(&app).await;
    let page = dmp.post("/deviations", &report, false).await;
    assert_eq!(page.status, 403);
    // Without an explanation and with a date that is not one: errors beside both fields.
    let mut bad = report.to_vec();
    bad.retain(|(k, _)| *k != "explanation" && *k != "discovered_on");
    bad.push(("discovered_on", "10.01.2024"));
    let page = dmp.post("/deviations", &bad, true).await;
    assert_eq!(page.status, 422, "{}", page.body);
    page.assert_has(r#"id="deviation-explanation-error""#);
    assert!(page.body.contains(r#"id="deviation-discovered_on-error""#));
    assert!(
        page.body
            .contains(r#"<option value="SECURITY_INCIDENT" selected>"#)
    );
    assert_eq!(log_position(&app).await, before);

    let page = dmp.post("/deviations", &report, true).await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.location.as_deref(), Some("/deviations"));
    let page = dmp.get("/deviations").await;
    assert!(page.body.contains("Alvorlig hendelse i leveransekjeden"));
    assert!(
        page.body
            .contains(r#"<span class="badge red">Vesentlig</span>"#),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("Meldt for sent"),
        "discovered long ago: {}",
        page.body
    );
    assert!(page.body.contains("10. januar 2024"));
    let dmp_token = app.token("agency", "DMP");
    let body = app
        .gql(
            &dmp_token,
            "{ deviationReports { status lagDays reportedLate } }",
            json!({}),
        )
        .await;
    let reports = data(&body, "deviationReports").as_array().unwrap().clone();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0]["status"], "submitted");
    assert_eq!(reports[0]["reportedLate"], true);
    let lag = reports[0]["lagDays"].as_i64().unwrap();
    page.assert_has(&format!("{lag} dager"));

    // A minor one kept as a draft is neither flagged nor sent.
    let minor = [
        ("ministry", "HOD"),
        ("kind", "GOAL"),
        ("goal", "2.1"),
        ("category", "GOAL_ACHIEVEMENT"),
        ("explanation", "Litt forsinket saksbehandling"),
        ("discovered_on", "2024-06-01"),
        ("keep_draft", "true"),
    ];
    let page = dmp.post("/deviations", &minor, true).await;
    assert_eq!(page.status, 303, "{}", page.body);
    let body = app
        .gql(
            &dmp_token,
            "{ deviationReports { status significant explanation } }",
            json!({}),
        )
        .await;
    let draft = data(&body, "deviationReports")
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["explanation"] == "Litt forsinket saksbehandling")
        .cloned()
        .unwrap();
    assert_eq!(
        (draft["status"].clone(), draft["significant"].clone()),
        (json!("draft"), json!(false))
    );

    // A budget deviation: the amount is computed from the budget and the actual figure.
    let budget = [
        ("ministry", "HOD"),
        ("kind", "BUDGET"),
        ("chapter", "717"),
        ("post", "70"),
        ("period", "TERTIAL_1"),
        ("periodised_budget", "20000"),
        ("actual", "23500"),
        ("explanation", "RELIS-tilskudd utbetalt tidlig"),
        ("discovered_on", "2024-05-02"),
    ];
    let page = dmp.post("/deviations", &budget, true).await;
    assert_eq!(page.status, 303, "{}", page.body);
    let page = dmp.get("/deviations").await;
    page.assert_has("Budsjett: 717/70 (1. tertial)");
    assert!(page.body.contains("Avvik (1 000 kr): 3500"));
    assert_eq!(
        page.body
            .matches(r#"<span class="badge red">Vesentlig</span>"#)
            .count(),
        1,
        "only the significant one is flagged"
    );

    // The dialogue: the ministry asks, the agency answers, the ministry closes.
    let id = app
        .gql(
            &dmp_token,
            "{ deviationReports { id significant } }",
            json!({}),
        )
        .await["data"]["deviationReports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["significant"] == true)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut hod = Browser::new(&app);
    hod.sign_in("hod").await;
    let page = hod.get("/deviations").await;
    assert!(
        page.body
            .contains(&format!(r#"action="/deviations/{id}/follow_up""#))
    );
    assert!(
        !page
            .body
            .contains(&format!(r#"action="/deviations/{id}/close""#)),
        "not before acknowledged or answered"
    );
    assert!(
        !page
            .body
            .contains(&format!(r#"action="/deviations/{id}/answer""#)),
        "the agency answers"
    );
    let at = log_position(&app).await;
    let ask = format!("/deviations/{id}/follow_up");
    let page = hod
        .post(&ask, &[("question", "Hva er konsekvensen?")], false)
        .await;
    assert_eq!(page.status, 403);
    let page = hod.post(&ask, &[("question", " ")], true).await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(
        page.body
            .contains(&format!(r#"id="follow_up-{id}-question-error""#)),
        "{}",
        page.body
    );
    assert_eq!(log_position(&app).await, at);
    let page = hod
        .post(&ask, &[("question", "Hva er konsekvensen?")], true)
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    // Another agency can neither see nor answer it.
    let mut fhi = Browser::new(&app);
    fhi.sign_in_as("agency", "FHI").await;
    let page = fhi
        .post(
            &format!("/deviations/{id}/answer"),
            &[("answer", "Fra FHI")],
            true,
        )
        .await;
    assert_eq!(page.status, 404, "{}", page.body);
    let page = dmp.get("/deviations").await;
    assert!(page.body.contains("Hva er konsekvensen?"));
    assert!(
        page.body
            .contains(&format!(r#"<textarea id="answer-{id}-answer""#)),
        "{}",
        page.body
    );
    let page = dmp
        .post(
            &format!("/deviations/{id}/answer"),
            &[("answer", "Leveransen er forsinket to uker")],
            true,
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    // Closing twice: the second is refused by the domain and shown beside that report's form.
    let page = hod
        .post(&format!("/deviations/{id}/close"), &[], true)
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let page = hod.get("/deviations").await;
    assert!(page.body.contains("Leveransen er forsinket to uker"));
    page.assert_has("Lukket");
    let at = log_position(&app).await;
    let page = hod
        .post(&format!("/deviations/{id}/close"), &[], true)
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert_eq!(log_position(&app).await, at);
    let body = app
        .gql(
            &dmp_token,
            "query($id: ID!) { deviationReport(id: $id) { status dialogue { question answer } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        data(&body, "deviationReport"),
        &json!({ "status": "closed", "dialogue": [
            { "question": "Hva er konsekvensen?", "answer": "Leveransen er forsinket to uker" } ] })
    );

    // Another agency sees none of it; the ministry sees them and is offered no form.
    let page = fhi.get("/deviations").await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("Alvorlig hendelse"));
    assert!(page.body.contains("Ingen avviksrapporter."));
    let page = hod.get("/deviations").await;
    assert!(page.body.contains("Alvorlig hendelse i leveransekjeden"));
    assert!(!page.body.contains(r#"id="form-deviation""#));
    app.stop().await;
}

async fn the_auditor_reads_letters_as_of_dates_diffs_copies_and_the_chain(kind: BackendKind) {
    let app = dev_app(kind).await;
    let (letter, assignment) =
        issued_letter(&app, "DMP", "Tildelingsbrev 2024", "Revidert oppdrag").await;
    // An instant between the letter's issue and later changes, to compare across.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let between = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let hod = app.token("ministry", "HOD");
    let body = app
        .gql(
            &hod,
            r#"mutation($id: ID!) { amendAssignment(id: $id, title: "Revidert oppdrag, endret") { position } }"#,
            json!({ "id": assignment }),
        )
        .await;
    data(&body, "");
    let body = app
        .gql(
            &hod,
            r#"mutation($id: ID!) { draftSupplement(letterId: $id, title: "Tillegg nr. 1") { supplement { id } } }"#,
            json!({ "id": letter }),
        )
        .await;
    let supplement = data(&body, "draftSupplement.supplement.id").clone();
    let body = app
        .gql(
            &hod,
            r#"mutation($id: ID!) {
                addSupplementChange(supplementId: $id, change: { kind: FREE_TEXT, text: "Departementet viser til RNB." }) { position }
                issueSupplement(supplementId: $id, issuedOn: "2024-03-20") { position } }"#,
            json!({ "id": supplement }),
        )
        .await;
    data(&body, "");
    let tomorrow = after_today();

    let mut rr = Browser::new(&app);
    rr.sign_in("rr").await;
    let page = rr.get("/audit").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Verifiser kjeden nå"));
    assert!(
        !page.body.contains("Kjeden er hel"),
        "verification runs on request"
    );
    assert!(
        page.body
            .contains(&format!(r#"href="/audit/letters/{letter}""#))
    );
    assert!(
        page.body
            .contains(&format!(r#"href="/audit/assignments/{assignment}/diff""#))
    );
    // The issued letter is correspondence owed to Riksrevisjonen.
    page.assert_has("Tildelingsbrev 2024");
    let page = rr
        .get(&format!("/audit?from=2000-01-01&to={tomorrow}"))
        .await;
    let token = app.token("auditor", "RR");
    let body = app
        .gql(
            &token,
            r#"query($to: Date!) { copyCompleteness(from: "2000-01-01", to: $to) }"#,
            json!({ "to": tomorrow }),
        )
        .await;
    let report = data(&body, "copyCompleteness");
    let items = report["rows"].as_array().unwrap().len();
    assert!(items > 0);
    assert!(
        page.body
            .contains(&format!("Korrespondanse: <strong>{items}</strong>")),
        "{}",
        page.body
    );
    assert!(page.body.contains(&format!(
        "Mangler: <strong>{}</strong>",
        report["missing"].as_array().unwrap().len()
    )));
    let page = rr.get("/audit?from=2024-05-01&to=2024-01-01").await;
    page.assert_has("Fra-datoen er etter til-datoen");
    let page = rr.get("/audit?verify=1").await;
    page.assert_has("Kjeden er hel");
    let position = log_position(&app).await;
    page.assert_has(&format!("til posisjon {position}"));

    // The letter as of today and before it existed; the difference between the two.
    let page = rr
        .get(&format!("/audit/letters/{letter}?as_of={tomorrow}"))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Tildelingsbrev 2024"));
    page.assert_has("<code>LetterIssued</code>");
    assert!(page.body.contains("429548"));
    let page = rr
        .get(&format!("/audit/letters/{letter}?as_of=2000-01-01"))
        .await;
    assert_eq!(page.status, 200);
    page.assert_has("Brevet fantes ikke ennå");
    // The effective axis: the events were recorded with today's effective time, so by 2000
    // nothing had taken effect.
    let page = rr
        .get(&format!(
            "/audit/letters/{letter}?as_of={tomorrow}&effective_by=2000-01-01"
        ))
        .await;
    page.assert_has("Brevet fantes ikke ennå");
    // Between the issue and now, the letter gained its supplement; from nothing, it appeared.
    let page = rr
        .get(&format!(
            "/audit/letters/{letter}?from={between}&to={tomorrow}"
        ))
        .await;
    let diff = &page.body[page.body.find("Endringer mellom").unwrap()..];
    assert!(
        diff.contains("<code>/details/supplements/0</code>"),
        "{diff}"
    );
    assert!(!diff.contains("<code>/details/title</code>"), "{diff}");
    let page = rr
        .get(&format!(
            "/audit/letters/{letter}?from=2000-01-01&to={tomorrow}"
        ))
        .await;
    page.assert_has("<code>/details</code>");
    let page = rr
        .get(&format!(
            "/audit/assignments/{assignment}/diff?from={between}&to={tomorrow}"
        ))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let diff = &page.body[page.body.find("<table>").unwrap()..];
    assert!(
        diff.contains("<td>Revidert oppdrag</td><td>Revidert oppdrag, endret</td>"),
        "{diff}"
    );
    let page = rr
        .get(&format!(
            "/audit/assignments/{assignment}/diff?from=x&to={tomorrow}"
        ))
        .await;
    assert!(page.body.contains(r#"id="from-error""#));

    // The assignment as of a date on the effective axis too.
    let page = rr
        .get(&format!("/audit/assignments/{assignment}?as_of={tomorrow}"))
        .await;
    assert!(page.body.contains("Revidert oppdrag, endret"));
    assert!(
        page.body
            .contains(&format!(r#"href="/audit/assignments/{assignment}/diff""#))
    );
    let page = rr
        .get(&format!(
            "/audit/assignments/{assignment}?as_of={tomorrow}&effective_by=2000-01-01"
        ))
        .await;
    page.assert_has("Oppdraget fantes ikke ennå");
    assert!(page.body.contains(r#"value="2000-01-01""#));

    // Other roles get neither the pages nor the chain query.
    let mut dmp = Browser::new(&app);
    dmp.sign_in("dmp").await;
    for path in [
        "/audit".to_owned(),
        "/audit?verify=1".to_owned(),
        format!("/audit/letters/{letter}"),
        format!("/audit/assignments/{assignment}/diff"),
    ] {
        let page = dmp.get(&path).await;
        assert_eq!(page.status, 403, "{path}");
        assert!(!page.body.contains("Kjeden"), "{path}");
    }
    let body = app
        .gql(
            &app.token("agency", "DMP"),
            "{ chainVerification { intact } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN");
    let body = app
        .gql(&hod, "{ chainVerification { intact } }", json!({}))
        .await;
    assert_eq!(code(&body), "FORBIDDEN");
    // letterAsOf is scoped like the letter: another agency gets "not found".
    let body = app
        .gql(
            &app.token("agency", "FHI"),
            r#"query($id: ID!, $t: DateTime!) { letterAsOf(id: $id, asOf: $t) { title } }"#,
            json!({ "id": letter, "t": chrono::Utc::now().to_rfc3339() }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND");

    // Someone with database access changes a recorded event: the auditor's page says where.
    app.db.disable_append_only().await;
    let changed = app
        .db
        .exec_raw("UPDATE events SET reason = 'rewritten' WHERE position = 3")
        .await
        .unwrap();
    assert_eq!(changed, 1);
    let page = rr.get("/audit?verify=1").await;
    assert_eq!(page.status, 200);
    page.assert_has("Kjeden er brutt");
    page.assert_has("ved posisjon 3:");
    assert!(!page.body.contains("Kjeden er hel"));
    app.stop().await;
}

async fn the_appendix_and_tertial_report_print_and_download(kind: BackendKind) {
    let app = dev_app(kind).await;
    let (letter, assignment) =
        issued_letter(&app, "DMP", "Tildelingsbrev 2024", "Legemiddelberedskap").await;
    let mut dmp = Browser::new(&app);
    dmp.sign_in("dmp").await;
    let page = dmp.get(&format!("/letters/{letter}/tertial")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.assert_has("Tertialrapport – 2. tertial 2024");
    page.assert_has("Ikke rapportert: <strong>1</strong>");
    let page = dmp
        .post(
            &format!("/assignments/{assignment}/report_status"),
            &[
                ("period", "TERTIAL_2"),
                ("traffic_light", "green"),
                ("progress", "Godt i gang"),
            ],
            true,
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let page = dmp.get(&format!("/letters/{letter}/tertial")).await;
    page.assert_has("Ikke rapportert: <strong>0</strong>");
    assert!(page.body.contains("Godt i gang"));
    assert!(page.body.contains(r#"class="badge green""#));
    let page = dmp
        .get(&format!("/letters/{letter}/tertial?tertial=1"))
        .await;
    assert!(
        page.body.contains("Ikke rapportert: <strong>1</strong>"),
        "the first tertial had none"
    );

    let page = dmp.get(&format!("/letters/{letter}/appendix")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Legemiddelberedskap"));
    assert!(page.body.contains("TB2024-7"));
    assert!(page.body.contains(r#"href="/static/styr.css""#));
    assert!(page.disposition.is_none());
    // As of a date before anything was recorded (or had taken effect), it is empty.
    let page = dmp
        .get(&format!("/letters/{letter}/appendix?as_of=2000-01-01"))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.assert_lacks("Legemiddelberedskap");
    assert!(page.body.contains("Per dato 1. januar 2000"));
    let page = dmp
        .get(&format!(
            "/letters/{letter}/appendix?effective_by=2000-01-01"
        ))
        .await;
    page.assert_lacks("Legemiddelberedskap");
    let page = dmp
        .get(&format!("/letters/{letter}/appendix?as_of=1.1.2000"))
        .await;
    page.assert_has(r#"id="as_of-error""#);
    let page = dmp
        .get(&format!("/letters/{letter}/appendix?download=1"))
        .await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.disposition.as_deref(),
        Some(r#"attachment; filename="vedlegg-HOD-DMP-2024.html""#)
    );
    assert!(
        page.body.contains("<style>"),
        "the download carries its stylesheet"
    );
    assert!(page.body.contains("@media print"));
    assert!(page.body.contains("Legemiddelberedskap"));
    assert!(
        !page.body.contains("Logg ut"),
        "a document, not the site's frame"
    );
    let page = dmp
        .get(&format!("/letters/{letter}/tertial?tertial=2&download=1"))
        .await;
    assert_eq!(
        page.disposition.as_deref(),
        Some(r#"attachment; filename="tertial2-HOD-DMP-2024.html""#)
    );
    // Another agency: not found, with nothing of the letter.
    let mut fhi = Browser::new(&app);
    fhi.sign_in_as("agency", "FHI").await;
    for path in [
        format!("/letters/{letter}/appendix"),
        format!("/letters/{letter}/appendix?download=1"),
        format!("/letters/{letter}/tertial"),
    ] {
        let page = fhi.get(&path).await;
        assert_eq!(page.status, 404, "{path}");
        assert!(!page.body.contains("Legemiddelberedskap"), "{path}");
    }
    app.stop().await;
}

/// The text a PDF's content streams show without its spaces, so that what the writer wrapped
/// (between words or, in a narrow column, inside one) reads as one; compare with [`squashed`].
fn pdf_text(pdf: &str) -> String {
    squashed(&pdf_strings(pdf).concat())
}

fn squashed(text: &str) -> String {
    text.split_whitespace().collect()
}

/// Each `(…) Tj` string of a PDF's content streams, its escapes undone and its WinAnsi bytes
/// read back as characters.
fn pdf_strings(pdf: &str) -> Vec<String> {
    let mut strings = Vec::new();
    for stream in pdf.split(">>\nstream\n").skip(1) {
        let stream = stream.split("\nendstream").next().unwrap_or("");
        for line in stream.lines() {
            let (Some(start), Some(end)) = (line.find(" Tm ("), line.rfind(") Tj")) else {
                continue;
            };
            let mut bytes = Vec::new();
            let mut raw = line[start + 5..end].bytes().peekable();
            while let Some(b) = raw.next() {
                if b != b'\\' {
                    bytes.push(b);
                } else if raw.peek().is_some_and(u8::is_ascii_digit) {
                    let octal: String = (0..3).filter_map(|_| raw.next().map(char::from)).collect();
                    bytes.push(u8::from_str_radix(&octal, 8).expect("an octal escape"));
                } else if let Some(escaped) = raw.next() {
                    bytes.push(escaped);
                }
            }
            strings.push(
                bytes
                    .into_iter()
                    .map(|b| match b {
                        0x96 => '–',
                        0x97 => '—',
                        0x93 => '“',
                        0x94 => '”',
                        // The rest we write is ASCII or Latin-1, where WinAnsi is Unicode.
                        b => char::from(b),
                    })
                    .collect::<String>(),
            );
        }
    }
    strings
}

async fn the_appendix_and_tertial_report_download_as_pdf(kind: BackendKind) {
    let app = dev_app(kind).await;
    let task = "Legemiddelberedskap på Svalbard (særlig nord)";
    let (letter, assignment) = issued_letter(&app, "DMP", "Tildelingsbrev 2024", task).await;
    let mut hod = Browser::new(&app);
    hod.sign_in("hod").await;
    let page = hod.get(&format!("/letters/{letter}/appendix")).await;
    page.assert_has(&format!(
        r#"href="/letters/{letter}/appendix?download=pdf""#
    ));
    page.assert_has("Last ned som PDF");
    let page = hod
        .get(&format!("/letters/{letter}/appendix?as_of=2000-01-01"))
        .await;
    page.assert_has(&format!(
        r#"href="/letters/{letter}/appendix?download=pdf&amp;as_of=2000-01-01""#
    ));

    let page = hod
        .get(&format!("/letters/{letter}/appendix?download=pdf"))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.content_type.as_deref(), Some("application/pdf"));
    assert_eq!(
        page.disposition.as_deref(),
        Some(r#"attachment; filename="vedlegg-HOD-DMP-2024.pdf""#)
    );
    assert!(page.body.starts_with("%PDF-1.4\n") && page.body.ends_with("%%EOF\n"));
    assert!(page.body.contains("/CreationDate (D:"));
    let text = pdf_text(&page.body);
    for expected in [
        "Vedlegg: Oversikt over særskilte oppdrag 2024",
        "Tildelingsbrev 2024 – HOD / DMP",
        "Referanse",
        "Beskrivelse",
        "TB2024-7",
        task,
        "Utrede og foreslå",
        "side 1 av 1",
    ] {
        assert!(text.contains(&squashed(expected)), "{expected}: {text}");
    }
    // The same as-of view as the page: before anything was recorded, nothing.
    let page = hod
        .get(&format!(
            "/letters/{letter}/appendix?download=pdf&as_of=2000-01-01"
        ))
        .await;
    let text = pdf_text(&page.body);
    assert!(text.contains("Perdato1.januar2000"), "{text}");
    assert!(
        text.contains("Ingenennå.") && !text.contains("TB2024-7"),
        "{text}"
    );
    // In English when the reader reads English.
    let page = hod
        .get(&format!("/letters/{letter}/appendix?download=pdf&lang=en"))
        .await;
    let text = pdf_text(&page.body);
    for expected in [
        "Appendix: overview of assignments 2024",
        "page 1 of 1",
        task,
    ] {
        assert!(text.contains(&squashed(expected)), "{expected}: {text}");
    }
    hod.get("/letters?lang=nb").await;

    // The tertial report once DMP has reported on the second tertial.
    let mut dmp = Browser::new(&app);
    dmp.sign_in("dmp").await;
    let page = dmp
        .post(
            &format!("/assignments/{assignment}/report_status"),
            &[
                ("period", "TERTIAL_2"),
                ("traffic_light", "green"),
                ("progress", "Godt i gang (50 %)"),
            ],
            true,
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let page = hod.get(&format!("/letters/{letter}/tertial")).await;
    page.assert_has(&format!(
        r#"href="/letters/{letter}/tertial?tertial=2&amp;download=pdf""#
    ));
    let page = hod
        .get(&format!("/letters/{letter}/tertial?tertial=2&download=pdf"))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.content_type.as_deref(), Some("application/pdf"));
    assert_eq!(
        page.disposition.as_deref(),
        Some(r#"attachment; filename="tertial2-HOD-DMP-2024.pdf""#)
    );
    let text = pdf_text(&page.body);
    for expected in [
        "Tertialrapport – 2. tertial 2024",
        "Ikke rapportert: 0 / 1",
        "Trafikklys",
        "TB2024-7",
        task,
        "Grønn",
        "Godt i gang (50 %)",
    ] {
        assert!(text.contains(&squashed(expected)), "{expected}: {text}");
    }
    let page = hod
        .get(&format!("/letters/{letter}/tertial?tertial=1&download=pdf"))
        .await;
    assert!(pdf_text(&page.body).contains("Ikkerapportert:1/1"));

    // The agency downloads its own letter's reports; another agency gets what the page gives
    // it: not found, with nothing of the letter.
    for path in ["appendix?download=pdf", "tertial?download=pdf"] {
        let page = dmp.get(&format!("/letters/{letter}/{path}")).await;
        assert_eq!(page.status, 200, "{path}");
        assert_eq!(page.content_type.as_deref(), Some("application/pdf"));
        assert!(pdf_text(&page.body).contains(&squashed(task)), "{path}");
    }
    let mut fhi = Browser::new(&app);
    fhi.sign_in_as("agency", "FHI").await;
    for path in ["appendix?download=pdf", "tertial?tertial=2&download=pdf"] {
        let page = fhi.get(&format!("/letters/{letter}/{path}")).await;
        assert_eq!(page.status, 404, "{path}");
        assert_ne!(page.content_type.as_deref(), Some("application/pdf"));
        assert!(!page.body.contains("Legemiddelberedskap"), "{path}");
    }
    // Signed out: to the sign-in page, no document.
    let page = Browser::new(&app)
        .get(&format!("/letters/{letter}/appendix?download=pdf"))
        .await;
    assert_eq!(page.location.as_deref(), Some("/login"));
    app.stop().await;
}

async fn the_new_pages_have_labels_ordered_headings_and_role_navigation(kind: BackendKind) {
    let app = dev_app(kind).await;
    let (letter, assignment) = issued_letter(&app, "DMP", "Tildelingsbrev 2024", "Oppdrag").await;
    let hod = app.token("ministry", "HOD");
    let body = app
        .gql(
            &hod,
            r#"mutation($id: ID!) { draftSupplement(letterId: $id, title: "Tillegg nr. 1") { supplement { id } } }"#,
            json!({ "id": letter }),
        )
        .await;
    let supplement = data(&body, "draftSupplement.supplement.id")
        .as_str()
        .unwrap()
        .to_owned();
    // Two deviation reports, so both roles get the dialogue's text fields: one the ministry
    // may ask about, one the agency must answer.
    let dmp_token = app.token("agency", "DMP");
    for question in [None, Some("Hva er konsekvensen?")] {
        let body = app
            .gql(
                &dmp_token,
                r#"mutation { draftDeviationReport(input: { ministry: "HOD", agency: "DMP", kind: GOAL, goal: "2.1",
                    category: GOAL_ACHIEVEMENT, explanation: "Forsinket", discoveredOn: "2024-05-02" }) { report { id } } }"#,
                json!({}),
            )
            .await;
        let id = data(&body, "draftDeviationReport.report.id").clone();
        let body = app
            .gql(
                &dmp_token,
                "mutation($id: ID!) { submitDeviationReport(id: $id) { position } }",
                json!({ "id": id }),
            )
            .await;
        data(&body, "");
        if let Some(q) = question {
            let body = app
                .gql(
                    &hod,
                    "mutation($id: ID!, $q: String!) { requestDeviationFollowUp(id: $id, question: $q) { position } }",
                    json!({ "id": id, "q": q }),
                )
                .await;
            data(&body, "");
        }
    }
    let mut pages: Vec<(String, String)> = Vec::new();
    let mut nav: BTreeMap<&str, String> = BTreeMap::new();
    for who in ["hod", "dmp", "rr"] {
        let mut browser = Browser::new(&app);
        browser.sign_in(who).await;
        let mut paths = vec![
            "/letters".to_owned(),
            format!("/letters/{letter}"),
            "/calendar".to_owned(),
            "/calendar?month=2024-09".to_owned(),
            "/deviations".to_owned(),
            format!("/letters/{letter}/appendix"),
            format!("/letters/{letter}/tertial"),
            format!("/supplements/{supplement}"),
        ];
        match who {
            "hod" => paths.push("/import".into()),
            "rr" => paths.extend([
                "/audit?verify=1".to_owned(),
                format!("/audit/letters/{letter}?from=2000-01-01&to=2100-01-01"),
                format!("/audit/assignments/{assignment}/diff?from=2000-01-01&to=2100-01-01"),
            ]),
            _ => {}
        }
        for path in paths {
            let page = browser.get(&path).await;
            assert_eq!(page.status, 200, "{who} {path}: {}", page.body);
            pages.push((format!("{who} {path}"), page.body));
        }
        if who == "hod" {
            let text = synthetic_letter();
            let page = browser
                .post(
                    "/import",
                    &[
                        ("agency", "FHI"),
                        ("year", "2024"),
                        ("text", &text),
                        ("action", "preview"),
                    ],
                    true,
                )
                .await;
            pages.push(("hod import preview".into(), page.body));
            let page = browser
                .post(
                    &format!("/letters/{letter}/supplements"),
                    &[("title", "")],
                    true,
                )
                .await;
            pages.push(("hod failed supplement".into(), page.body));
        }
        if who == "dmp" {
            let page = browser
                .post("/deviations", &[("kind", "BUDGET")], true)
                .await;
            assert_eq!(page.status, 422);
            pages.push(("dmp failed deviation".into(), page.body));
        }
        nav.insert(who, browser.get("/letters").await.body);
    }
    let with = |who: &str, what: &str| {
        pages
            .iter()
            .any(|(name, html)| name == &format!("{who} /deviations") && html.contains(what))
    };
    assert!(with("hod", r#"name="question""#) && with("dmp", r#"name="answer""#));
    for (name, html) in &pages {
        check_labels(name, html);
        check_headings(name, html);
    }
    assert!(nav["hod"].contains(r#"href="/import""#));
    assert!(!nav["hod"].contains(r#"href="/audit""#));
    assert!(nav["rr"].contains(r#"href="/audit""#));
    assert!(!nav["rr"].contains(r#"href="/import""#));
    assert!(!nav["dmp"].contains(r#"href="/import""#) && !nav["dmp"].contains(r#"href="/audit""#));
    for body in nav.values() {
        assert!(
            body.contains(r#"<a href="/letters" aria-current="page">"#),
            "{body}"
        );
        assert!(body.contains(r#"href="/deviations""#) && body.contains(r#"href="/calendar""#));
    }
    app.stop().await;
}

/// The labels and the CSRF fields of a page's forms.
fn check_labels(page: &str, html: &str) {
    styr_tests::web::check_labels(page, html);
    check_csrf_fields(page, html);
}

async fn a_ministry_officer_issues_a_draft_letter_from_its_page(kind: BackendKind) {
    let app = dev_app(kind).await;
    let hod = app.token("ministry", "HOD");
    let body = app
        .gql(
            &hod,
            r#"mutation { draftLetter(input: { ministry: "HOD", agency: "DMP", year: 2024,
                title: "Tildelingsbrev 2024" }) { letter { id } } }"#,
            json!({}),
        )
        .await;
    let letter = data(&body, "draftLetter.letter.id")
        .as_str()
        .unwrap()
        .to_owned();
    let page_path = format!("/letters/{letter}");
    let path = format!("{page_path}/issue");
    let mut hod_browser = Browser::new(&app);
    hod_browser.sign_in("hod").await;
    let page = hod_browser.get(&page_path).await;
    page.assert_has(r#"id="form-issue_letter""#);

    // The agency sees the draft but has no form, and posting anyway writes nothing.
    let before = log_position(&app).await;
    let mut dmp = Browser::new(&app);
    dmp.sign_in("dmp").await;
    let page = dmp.get(&page_path).await;
    page.assert_lacks(r#"id="form-issue_letter""#);
    let page = dmp.post(&path, &[("issued_on", "2024-02-05")], true).await;
    assert_eq!(page.status, 403, "{}", page.body);
    // A date that is not one: refused beside the field, nothing written.
    let page = hod_browser
        .post(&path, &[("issued_on", "5. februar")], true)
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    page.assert_has(r#"aria-describedby="issue_letter-issued_on-error""#);
    assert_eq!(log_position(&app).await, before);
    // An empty letter: the domain's refusal is shown on the page, nothing written.
    let page = hod_browser
        .post(&path, &[("issued_on", "2024-02-05")], true)
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    page.assert_has("an empty letter cannot be issued");
    assert_eq!(log_position(&app).await, before);

    let body = app
        .gql(
            &hod,
            r#"mutation($id: ID!) { addBudgetLine(letterId: $id, line: { chapter: 746, post: 1,
                amount: 429548, text: "Driftsutgifter" }) { position } }"#,
            json!({ "id": letter }),
        )
        .await;
    data(&body, "");
    let page = hod_browser
        .post(&path, &[("issued_on", "2024-02-05")], true)
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let page = hod_browser.get(&page_path).await;
    page.assert_has("5. februar 2024");
    // Issued: no issue form any more; supplements may now be drafted.
    page.assert_lacks(r#"id="form-issue_letter""#);
    page.assert_has(r#"id="form-draft_supplement""#);
    let body = app
        .gql(
            &hod,
            "query($id: ID!) { letter(id: $id) { issuedOn } }",
            json!({ "id": letter }),
        )
        .await;
    assert_eq!(data(&body, "letter.issuedOn"), "2024-02-05");
}

/// A form's fields as the browser posts them.
type Fields<'a> = &'a [(&'a str, &'a str)];

/// The `value` of the hidden `name` field nearest after `marker` in `html`.
fn hidden_after<'a>(html: &'a str, marker: &str, name: &str) -> &'a str {
    let rest = &html[html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker}: {html}"))..];
    let key = format!(r#"name="{name}" value=""#);
    let at = rest.find(&key).expect("a hidden field") + key.len();
    &rest[at..at + rest[at..].find('"').unwrap()]
}

async fn a_ministry_officer_drafts_a_letter_item_by_item_and_its_parties_settle_its_requirements(
    kind: BackendKind,
) {
    let app = dev_app(kind).await;
    let assignment = issue_assignment(&app, "DMP", "TB2024-7", "Utrede legemiddeltilgang").await;
    // An assignment of another year is not the 2024 letter's to list.
    let last_year = styr_tests::issue_assignment(
        &app,
        json!({
            "reference": "TB2023-7", "ministry": "HOD", "agency": "DMP", "year": 2023,
            "department": "SHA", "title": "Fjorårets oppdrag", "description": "Utrede",
            "parts": [ { "label": "a", "deadline": "2023-03-01" } ]
        }),
    )
    .await;
    let mut hod = Browser::new(&app);
    hod.sign_in("hod").await;
    hod.get("/letters")
        .await
        .assert_has(r#"href="/letters/new""#);
    let page = hod.get("/letters/new").await;
    assert_eq!(page.status, 200, "{}", page.body);
    check_labels("new letter", &page.body);
    check_headings("new letter", &page.body);

    // Nothing written for a missing title or a year that is not a number.
    let before = log_position(&app).await;
    let page = hod
        .post(
            "/letters",
            &[("agency", "DMP"), ("year", "tjuefire"), ("title", " ")],
            true,
        )
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    page.assert_has(r#"id="draft_letter-title-error""#);
    page.assert_has(r#"id="draft_letter-year-error""#);
    page.assert_has(r#"value="tjuefire""#);
    assert_eq!(log_position(&app).await, before);
    let new = [
        ("agency", "DMP"),
        ("year", "2024"),
        ("title", "Tildelingsbrev 2024"),
        ("case_ref", "23/3412"),
    ];
    let page = hod.post("/letters", &new, true).await;
    assert_eq!(page.status, 303, "{}", page.body);
    let letter_path = page.location.unwrap();
    assert_eq!(letter_path, "/letters/HOD:DMP:2024");
    let items = format!("{letter_path}/items");
    let page = hod.get(&letter_path).await;
    check_labels("draft letter", &page.body);
    check_headings("draft letter", &page.body);
    page.assert_has(&format!(
        r#"<option value="{assignment}">TB2024-7 – Utrede legemiddeltilgang</option>"#
    ));
    page.assert_lacks(&format!(r#"<option value="{last_year}">"#));

    // The agency and the auditor see no drafting forms, and their posts write nothing.
    let before = log_position(&app).await;
    let goal = [
        ("section", "2.1"),
        ("title", "Rask tilgang"),
        ("steering_parameters", "Saksbehandlingstid\r\nAntall vedtak"),
    ];
    for who in ["dmp", "rr"] {
        let mut other = Browser::new(&app);
        other.sign_in(who).await;
        let page = other.get(&letter_path).await;
        assert_eq!(page.status, 200, "{who}: {}", page.body);
        page.assert_lacks("form-add_goal");
        page.assert_lacks("/items/");
        page.assert_lacks("form-issue_letter");
        assert_eq!(other.get("/letters/new").await.status, 403, "{who}");
        let page = other.post("/letters", &new, true).await;
        assert_eq!(page.status, 403, "{who}: {}", page.body);
        let page = other.post(&format!("{items}/add_goal"), &goal, true).await;
        assert_eq!(page.status, 403, "{who}: {}", page.body);
    }
    // A bad date, a bad amount, a missing assignment: beside their fields, nothing written.
    let page = hod
        .post(
            &format!("{items}/add_calendar_item"),
            &[("date", "20. september"), ("text", "Tertialrapport")],
            true,
        )
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    page.assert_has(r#"id="add_calendar_item-date-error""#);
    page.assert_has("Tertialrapport");
    let page = hod
        .post(
            &format!("{items}/add_budget_line"),
            &[
                ("chapter", "746"),
                ("post", "1"),
                ("amount", "mye"),
                ("text", "Drift"),
            ],
            true,
        )
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    page.assert_has(r#"id="add_budget_line-amount-error""#);
    let page = hod
        .post(
            &format!("{items}/list_assignment"),
            &[("assignment_id", ""), ("title", "Oppdraget")],
            true,
        )
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    page.assert_has(r#"id="list_assignment-assignment_id-error""#);
    let page = hod.post(&format!("{items}/add_goal"), &goal, false).await;
    assert_eq!(page.status, 403, "no CSRF token");
    assert_eq!(log_position(&app).await, before);

    let goal = [
        ("section", "2.1"),
        ("title", "Rask tilgang"),
        ("steering_parameters", "Saksbehandlingstid\nAntall vedtak"),
    ];
    let steps: [(&str, Fields); 8] = [
        ("add_goal", &goal),
        (
            "add_budget_line",
            &[
                ("chapter", "746"),
                ("post", "1"),
                ("amount", "429 548"),
                ("text", "Driftsutgifter"),
            ],
        ),
        (
            "add_budget_line",
            &[
                ("chapter", "746"),
                ("post", "21"),
                ("amount", "44434"),
                ("text", "Spesielle driftsutgifter"),
            ],
        ),
        (
            "state_chapter_sum",
            &[("chapter", "746"), ("sum", "473982")],
        ),
        ("set_threshold", &[("amount", "5000"), ("per_mille", "50")]),
        (
            "add_requirement",
            &[("text", "Risikovurdering"), ("due", "2024-03-01")],
        ),
        (
            "add_requirement",
            &[("text", "Brukerundersøkelse"), ("due", "2024-06-01")],
        ),
        (
            "add_calendar_item",
            &[
                ("date", "2024-09-20"),
                ("printed_date", "20. september"),
                ("text", "Tertialrapport"),
            ],
        ),
    ];
    for (action, fields) in steps {
        let page = hod.post(&format!("{items}/{action}"), fields, true).await;
        assert_eq!(page.status, 303, "{action}: {}", page.body);
    }
    let listing = [
        ("assignment_id", assignment.as_str()),
        ("reference", "TB2024-7"),
        ("title", "Oppdraget i brevet"),
    ];
    let page = hod
        .post(&format!("{items}/list_assignment"), &listing, true)
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    // The second budget line goes again, by the button beside it.
    let page = hod.get(&letter_path).await;
    let line = hidden_after(&page.body, "746/21", "item_id").to_owned();
    let command = hidden_after(&page.body, "746/21", "command_id").to_owned();
    let remove = [("command_id", command.as_str()), ("item_id", line.as_str())];
    let page = hod
        .post(&format!("{items}/remove_item"), &remove, true)
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    // The same button twice is one command: answered as the first, nothing more written.
    let at = log_position(&app).await;
    let again = hod
        .post(&format!("{items}/remove_item"), &remove, true)
        .await;
    assert_eq!((again.status, again.location), (303, page.location));
    assert_eq!(log_position(&app).await, at);
    // Another remove of the line now gone is refused on the letter's page, not "not found".
    let other = uuid::Uuid::now_v7().to_string();
    let page = hod
        .post(
            &format!("{items}/remove_item"),
            &[("command_id", other.as_str()), ("item_id", line.as_str())],
            true,
        )
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    page.assert_has(r#"class="errors" role="alert""#);
    page.assert_has("form-add_goal");
    assert_eq!(log_position(&app).await, at);
    let page = hod
        .post(
            &format!("{letter_path}/issue"),
            &[("issued_on", "2024-02-05")],
            true,
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);

    let token = app.token("ministry", "HOD");
    let letter_query = r#"{ letter(id: "HOD:DMP:2024") { title caseRef issuedOn
        goals { section title steeringParameters } budget { chapter post original }
        sumMismatches { chapter printedSum sumOfLines }
        reportingRequirements { text due deadlineStatus } assignments { assignmentId reference title }
        calendar { date printedDate text } } }"#;
    // A letter's requirements come in the order of their ids, not always the order added.
    let sorted_letter = |body: Value| {
        let mut letter = data(&body, "letter").clone();
        if let Some(reqs) = letter["reportingRequirements"].as_array_mut() {
            reqs.sort_by_key(|r| r["due"].as_str().map(str::to_owned));
        }
        letter
    };
    let body = app.gql(&token, letter_query, json!({})).await;
    assert_eq!(
        sorted_letter(body),
        json!({ "title": "Tildelingsbrev 2024", "caseRef": "23/3412", "issuedOn": "2024-02-05",
            "goals": [{ "section": "2.1", "title": "Rask tilgang", "steeringParameters": ["Saksbehandlingstid", "Antall vedtak"] }],
            "budget": [{ "chapter": "746", "post": "01", "original": 429548 }],
            "sumMismatches": [{ "chapter": "746", "printedSum": 473982, "sumOfLines": 429548 }],
            "reportingRequirements": [
                { "text": "Risikovurdering", "due": "2024-03-01", "deadlineStatus": "open" },
                { "text": "Brukerundersøkelse", "due": "2024-06-01", "deadlineStatus": "open" }],
            "assignments": [{ "assignmentId": assignment, "reference": "TB2024-7", "title": "Oppdraget i brevet" }],
            "calendar": [{ "date": "2024-09-20", "printedDate": "20. september", "text": "Tertialrapport" }] })
    );

    // Issued: no drafting forms; the agency reports one requirement met, the ministry waives
    // the other with its reason, and the auditor may do neither.
    let page = hod.get(&letter_path).await;
    page.assert_lacks("form-add_goal");
    page.assert_lacks("remove_item");
    // A drafting form posted after the letter was issued: its form is gone, so the refusal
    // is in a summary at the top.
    let at = log_position(&app).await;
    let late = hod.post(&format!("{items}/add_goal"), &goal, true).await;
    assert_eq!(late.status, 422, "{}", late.body);
    late.assert_lacks("form-add_goal");
    late.assert_has(r#"class="errors" role="alert""#);
    assert_eq!(log_position(&app).await, at);
    page.assert_lacks("meet_requirement");
    check_labels("issued letter", &page.body);
    let waive = hidden_after(&page.body, "Brukerundersøkelse", "item_id").to_owned();
    let mut dmp = Browser::new(&app);
    dmp.sign_in("dmp").await;
    let page = dmp.get(&letter_path).await;
    page.assert_lacks("waive_requirement");
    let meet = hidden_after(&page.body, "Risikovurdering", "item_id").to_owned();
    let mut rr = Browser::new(&app);
    rr.sign_in("rr").await;
    rr.get(&letter_path).await.assert_lacks("_requirement");
    let before = log_position(&app).await;
    let page = rr
        .post(
            &format!("{items}/meet_requirement"),
            &[("item_id", &meet)],
            true,
        )
        .await;
    assert_eq!(page.status, 403, "{}", page.body);
    let page = hod
        .post(
            &format!("{items}/waive_requirement"),
            &[("item_id", &waive), ("reason", " ")],
            true,
        )
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    page.assert_has(&format!(r#"id="waive-{waive}-reason-error""#));
    assert_eq!(log_position(&app).await, before);
    let page = dmp
        .post(
            &format!("{items}/meet_requirement"),
            &[("item_id", &meet)],
            true,
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let page = hod
        .post(
            &format!("{items}/waive_requirement"),
            &[("item_id", &waive), ("reason", "Dekkes av årsrapporten")],
            true,
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let letter = sorted_letter(app.gql(&token, letter_query, json!({})).await);
    let statuses: Vec<&str> = letter["reportingRequirements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["deadlineStatus"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["met", "waived"]);
    app.stop().await;
}

async fn every_supplement_change_kind_is_added_from_the_pages_and_takes_effect_when_issued(
    kind: BackendKind,
) {
    let app = dev_app(kind).await;
    let (letter, amended) = issued_letter(&app, "DMP", "Tildelingsbrev 2024", "Oppdrag").await;
    let cancelled = issue_assignment(&app, "DMP", "TB2024-8", "Avlyses").await;
    let transferred = issue_assignment(&app, "DMP", "TB2024-9", "Overføres").await;
    let mut hod = Browser::new(&app);
    hod.sign_in("hod").await;
    let page = hod
        .post(
            &format!("/letters/{letter}/supplements"),
            &[("title", "Tillegg nr. 1")],
            true,
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let supplement = page.location.unwrap();
    let page = hod.get(&supplement).await;
    check_labels("supplement", &page.body);
    check_headings("supplement", &page.body);
    page.assert_has(&format!(
        r#"<option value="{cancelled}">TB2024-8 – Avlyses</option>"#
    ));

    // Bad dates and missing fields: beside the field, nothing written.
    let before = log_position(&app).await;
    let refused: [(&str, Fields, &str); 4] = [
        (
            "change_deadline",
            &[
                ("assignment_id", &amended),
                ("part", "a"),
                ("deadline", "1. juni"),
            ],
            "deadline",
        ),
        (
            "transfer_assignment",
            &[
                ("assignment_id", &transferred),
                ("to_agency", "FHI"),
                ("reason", "Bedre egnet"),
            ],
            "effective",
        ),
        (
            "cancel_assignment",
            &[("reason", "Ikke lenger aktuelt")],
            "assignment_id",
        ),
        (
            "add_requirement",
            &[("text", "Rapport"), ("deadline", "2024-13-01")],
            "deadline",
        ),
    ];
    for (action, fields, field) in refused {
        let page = hod
            .post(&format!("{supplement}/{action}"), fields, true)
            .await;
        assert_eq!(page.status, 422, "{action}: {}", page.body);
        page.assert_has(&format!(r#"id="{action}-{field}-error""#));
    }
    assert_eq!(log_position(&app).await, before);

    let changes: [(&str, Fields); 6] = [
        (
            "amend_assignment",
            &[
                ("assignment_id", &amended),
                ("title", "Oppdrag med nytt navn"),
            ],
        ),
        (
            "change_deadline",
            &[
                ("assignment_id", &amended),
                ("part", "a"),
                ("deadline", "2024-06-01"),
            ],
        ),
        (
            "cancel_assignment",
            &[
                ("assignment_id", &cancelled),
                ("reason", "Ikke lenger aktuelt"),
            ],
        ),
        (
            "transfer_assignment",
            &[
                ("assignment_id", &transferred),
                ("to_agency", "fhi"),
                ("effective", "2024-04-01"),
                ("reason", "Bedre egnet"),
            ],
        ),
        (
            "add_requirement",
            &[
                ("text", "Rapport om ventetider"),
                ("deadline", "2024-09-01"),
            ],
        ),
        ("add_text", &[("text", "Fjernes igjen")]),
    ];
    for (action, fields) in changes {
        let page = hod
            .post(&format!("{supplement}/{action}"), fields, true)
            .await;
        assert_eq!(page.status, 303, "{action}: {}", page.body);
    }
    // The free text goes again, by the button beside it.
    let token = app.token("ministry", "HOD");
    let body = app
        .gql(
            &token,
            "query($id: ID!) { supplement(id: $id) { changes { id kind } } }",
            json!({ "id": supplement.trim_start_matches("/supplements/") }),
        )
        .await;
    let changes = data(&body, "supplement.changes").as_array().unwrap();
    assert_eq!(changes.len(), 6);
    let text = changes[5]["id"].as_str().unwrap();
    hod.get(&supplement)
        .await
        .assert_has(&format!(r#"name="change_id" value="{text}""#));
    let page = hod
        .post(
            &format!("{supplement}/remove_change"),
            &[("change_id", text)],
            true,
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let page = hod
        .post(
            &format!("{supplement}/issue"),
            &[("issued_on", "2024-03-20")],
            true,
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);

    let body = app
        .gql(
            &token,
            r#"query($a: ID!, $b: ID!, $c: ID!, $l: ID!) {
                a: assignment(id: $a) { title parts { label deadline } }
                b: assignment(id: $b) { lifecycle }
                c: assignment(id: $c) { agency }
                letter(id: $l) { reportingRequirements { text due source } } }"#,
            json!({ "a": amended, "b": cancelled, "c": transferred, "l": letter }),
        )
        .await;
    assert_eq!(
        data(&body, ""),
        &json!({
            "a": { "title": "Oppdrag med nytt navn", "parts": [{ "label": "a", "deadline": "2024-06-01" }] },
            "b": { "lifecycle": "cancelled" },
            "c": { "agency": "FHI" },
            "letter": { "reportingRequirements": [{ "text": "Rapport om ventetider", "due": "2024-09-01", "source": "supplement 1" }] } })
    );
    app.stop().await;
}
