//! The web pages over real HTTP, on SQLite and PostgreSQL: development sign-in, CSRF refusals,
//! an agency reporting status through the form, the ministry's and the agency's other forms
//! (each refused to the other role), scoping between agencies, and basic accessibility (a
//! label for every field, headings in order).

use serde_json::{Value, json};
use styr_eventstore::BackendKind;
use styr_tests::web::{Browser, attr, check_headings, check_labels, dev_app, tags};
use styr_tests::{TestApp, data, log_position, spawn_app_with};

styr_tests::on_both_kinds!(
    the_login_picker_exists_only_in_development,
    a_post_without_the_csrf_token_is_refused_and_changes_nothing,
    an_agency_reports_status_through_the_form,
    another_agency_sees_neither_the_row_nor_the_assignment,
    every_field_has_a_label_and_headings_are_in_order,
    an_auditor_reads_the_assignment_as_of_a_date,
    cookies_are_secure_except_on_localhost_in_development,
    the_ministry_grants_an_extension_the_agency_asked_for,
    the_ministry_cancels_an_assignment_with_a_reason,
    the_board_filters_by_registered_agencies,
    the_board_pages_through_more_rows_than_one_page_holds,
    the_board_filters_by_year_goal_and_text,
    the_ministry_issues_an_assignment_from_its_page,
    the_ministry_agrees_and_changes_deadlines_amends_and_completes,
    the_ministry_transfers_and_carries_over_an_assignment,
    an_agency_corrects_a_status_report,
    a_refusal_whose_form_is_gone_is_shown_at_the_top,
);

async fn issue(app: &TestApp, agency: &str, reference: &str, title: &str) -> String {
    styr_tests::issue_assignment(
        app,
        json!({
            "reference": reference, "ministry": "HOD", "agency": agency, "year": 2024,
            "department": "FHA", "title": title, "description": "Utrede og foreslå regulering",
            "parts": [ { "label": "a", "deadline": "2024-03-01" }, { "label": "b", "toBeAgreed": true } ]
        }),
    )
    .await
}

async fn reports(app: &TestApp, id: &str) -> Value {
    let hod = app.token("ministry", "HOD");
    let body = app
        .gql(
            &hod,
            "query($id: ID!) { assignment(id: $id) { statusReports { trafficLight progress } } }",
            json!({ "id": id }),
        )
        .await;
    data(&body, "assignment.statusReports").clone()
}

async fn the_login_picker_exists_only_in_development(kind: BackendKind) {
    let app = dev_app(kind).await;
    let mut browser = Browser::new(&app);
    let page = browser.get("/login").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.body.matches(r#"name="identity""#).count(), 3);
    let csrf = browser.cookies.get("styr_csrf").cloned().unwrap();
    assert_eq!(csrf.len(), 64);
    // Signed out, the board sends to the sign-in page.
    let page = browser.get("/").await;
    assert_eq!(
        (page.status, page.location.as_deref()),
        (303, Some("/login"))
    );
    browser.sign_in("hod").await;
    let page = browser.get("/").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains("<strong>Hanne Olsen</strong> (departement, HOD)"),
        "{}",
        page.body
    );
    assert!(page.body.contains("departement"));
    // English on request, remembered in a cookie.
    let page = browser.get("/?status=issued&lang=en").await;
    assert!(page.body.contains("Assignment board"));
    assert!(
        page.body.contains(r#"href="/?status=issued&amp;lang=nb""#),
        "the language link keeps the filters: {}",
        page.body
    );
    let page = browser.get("/").await;
    assert!(page.body.contains("Assignment board"));
    // Signing out needs the CSRF token too, and then the session is gone.
    let page = browser.post("/logout", &[], false).await;
    assert_eq!(page.status, 403);
    let page = browser.post("/logout", &[], true).await;
    assert_eq!(
        (page.status, page.location.as_deref()),
        (303, Some("/login"))
    );
    assert!(!browser.cookies.contains_key("styr_session"));
    app.stop().await;

    let app = spawn_app_with(kind, &[]).await;
    let mut browser = Browser::new(&app);
    let page = browser.get("/login").await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains(r#"name="identity""#));
    assert!(page.body.contains("OIDC"));
    let page = browser.post("/login", &[("identity", "hod")], true).await;
    assert_eq!(page.status, 404);
    assert!(!browser.cookies.contains_key("styr_session"));
    app.stop().await;
}

async fn a_post_without_the_csrf_token_is_refused_and_changes_nothing(kind: BackendKind) {
    let app = dev_app(kind).await;
    let id = issue(&app, "DMP", "TB2024-1", "Tobakksstrategi").await;
    let mut browser = Browser::new(&app);
    // Signing in needs it as well.
    browser.get("/login").await;
    let page = browser.post("/login", &[("identity", "dmp")], false).await;
    assert_eq!(page.status, 403);
    assert!(!browser.cookies.contains_key("styr_session"));
    browser.sign_in("dmp").await;
    let fields = [
        ("period", "YEAR"),
        ("traffic_light", "green"),
        ("progress", "I rute"),
    ];
    let path = format!("/assignments/{id}/report_status");
    let page = browser.post(&path, &fields, false).await;
    assert_eq!(page.status, 403);
    let zeros = "0".repeat(64);
    let mut forged = fields.to_vec();
    forged.push(("csrf", &zeros));
    let page = browser.post(&path, &forged, false).await;
    assert_eq!(page.status, 403);
    assert_eq!(reports(&app, &id).await, json!([]));
    app.stop().await;
}

async fn an_agency_reports_status_through_the_form(kind: BackendKind) {
    let app = dev_app(kind).await;
    let id = issue(&app, "DMP", "TB2024-2", "Legemiddelmangel").await;
    let mut browser = Browser::new(&app);
    browser.sign_in("dmp").await;
    let page = browser.get(&format!("/assignments/{id}")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Legemiddelmangel"));
    assert!(page.body.contains("Gul og rød krever"), "the rule is shown");
    page.assert_has("1. mars 2024");
    let path = format!("/assignments/{id}/report_status");
    // Yellow without cause and action: refused in the form, with what was entered kept.
    let page = browser
        .post(
            &path,
            &[
                ("period", "TERTIAL_1"),
                ("traffic_light", "yellow"),
                ("progress", "Venter på data fra RHF-ene"),
            ],
            true,
        )
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    page.assert_has("cause and consequence");
    assert!(page.body.contains("Venter på data fra RHF-ene</textarea>"));
    assert!(page.body.contains(r#"<option value="yellow" selected>"#));
    assert!(page.body.contains(
        r#"aria-invalid="true" aria-describedby="report_status-cause_and_consequence-error""#
    ));
    assert_eq!(reports(&app, &id).await, json!([]));
    let page = browser
        .post(
            &path,
            &[
                ("period", "TERTIAL_1"),
                ("traffic_light", "yellow"),
                ("progress", "Venter på data fra RHF-ene"),
                ("cause_and_consequence", "Data kommer sent"),
                ("corrective_action", "Purring sendt"),
            ],
            true,
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let page = browser.get(&format!("/assignments/{id}")).await;
    assert!(page.body.contains("Purring sendt"));
    // The timeline adds the organisation to the name once.
    assert!(page.body.contains("Dag Moen (DMP)"));
    page.assert_lacks("(DMP) (DMP)");
    assert!(
        page.body.contains("Status rapportert"),
        "the timeline in words"
    );
    assert_eq!(reports(&app, &id).await[0]["trafficLight"], "YELLOW");
    // The board shows it with its light, and the download link works with the session.
    let page = browser.get("/").await;
    page.assert_has(r#"class="badge yellow""#);
    let page = browser.get("/board.csv").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("TB2024-2"));
    app.stop().await;
}

async fn another_agency_sees_neither_the_row_nor_the_assignment(kind: BackendKind) {
    let app = dev_app(kind).await;
    let id = issue(&app, "DMP", "TB2024-3", "Hemmelig for FHI").await;
    let mut dmp = Browser::new(&app);
    dmp.sign_in("dmp").await;
    assert!(dmp.get("/").await.body.contains("Hemmelig for FHI"));
    // FHI signs in with a token the server signed; the page path is the same.
    let mut fhi = Browser::new(&app);
    fhi.get("/login").await;
    fhi.cookies
        .insert("styr_session".into(), app.token("agency", "FHI"));
    let page = fhi.get("/").await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("Hemmelig for FHI"));
    let page = fhi.get(&format!("/assignments/{id}")).await;
    assert_eq!(page.status, 404);
    assert!(!page.body.contains("Hemmelig"));
    let page = fhi
        .post(
            &format!("/assignments/{id}/report_status"),
            &[
                ("period", "YEAR"),
                ("traffic_light", "green"),
                ("progress", "x"),
            ],
            true,
        )
        .await;
    assert_eq!(page.status, 404);
    assert_eq!(reports(&app, &id).await, json!([]));
    // Administrators manage reference data and read no steering documents.
    fhi.cookies
        .insert("styr_session".into(), app.token("admin", "DFO"));
    let page = fhi.get("/").await;
    assert_eq!(page.status, 403, "{}", page.body);
    // A token that does not verify is no session.
    fhi.cookies.insert("styr_session".into(), "forged".into());
    let page = fhi.get("/").await;
    assert_eq!(
        (page.status, page.location.as_deref()),
        (303, Some("/login"))
    );
    app.stop().await;
}

async fn every_field_has_a_label_and_headings_are_in_order(kind: BackendKind) {
    let app = dev_app(kind).await;
    let id = issue(&app, "DMP", "TB2024-4", "Tilgjengelighet").await;
    let mut pages = Vec::new();
    for who in ["hod", "dmp", "rr"] {
        let mut browser = Browser::new(&app);
        pages.push((format!("{who} /login"), browser.get("/login").await.body));
        browser.sign_in(who).await;
        pages.push((format!("{who} /"), browser.get("/").await.body));
        let path = format!("/assignments/{id}");
        pages.push((format!("{who} {path}"), browser.get(&path).await.body));
        if who == "dmp" {
            // Deliver so the ministry has forms to accept or return.
            let page = browser
                .post(
                    &format!("{path}/deliver"),
                    &[("part", "a"), ("summary", "Rapport levert")],
                    true,
                )
                .await;
            assert_eq!(page.status, 303, "{}", page.body);
        }
    }
    let mut hod = Browser::new(&app);
    hod.sign_in("hod").await;
    let page = hod.get(&format!("/assignments/{id}")).await;
    assert!(page.body.contains("accept_delivery"));
    pages.push(("hod after delivery".into(), page.body));
    for (name, html) in &pages {
        check_labels(name, html);
        check_headings(name, html);
    }
    app.stop().await;
}

async fn an_auditor_reads_the_assignment_as_of_a_date(kind: BackendKind) {
    let app = dev_app(kind).await;
    let id = issue(&app, "DMP", "TB2024-5", "Revidert oppdrag").await;
    let mut dmp = Browser::new(&app);
    dmp.sign_in("dmp").await;
    let page = dmp
        .post(
            &format!("/assignments/{id}/report_status"),
            &[
                ("period", "YEAR"),
                ("traffic_light", "green"),
                ("progress", "I rute"),
            ],
            true,
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let mut rr = Browser::new(&app);
    rr.sign_in("rr").await;
    let page = rr.get(&format!("/assignments/{id}")).await;
    assert!(page.body.contains(&format!("/audit/assignments/{id}")));
    assert!(
        !page.body.contains("report_status"),
        "an auditor changes nothing"
    );
    let page = rr
        .post(
            &format!("/assignments/{id}/deliver"),
            &[("part", "a"), ("summary", "Revisors levering")],
            true,
        )
        .await;
    assert_eq!(page.status, 403, "{}", page.body);
    let page = rr.get(&format!("/audit/assignments/{id}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.assert_has("status_reported");
    assert!(page.body.contains("Dag Moen (DMP)"));
    page.assert_lacks("(DMP) (DMP)");
    check_labels("audit", &page.body);
    check_headings("audit", &page.body);
    let page = rr
        .get(&format!("/audit/assignments/{id}?as_of=2000-01-01"))
        .await;
    assert_eq!(page.status, 200);
    page.assert_has("fantes ikke ennå");
    assert!(!page.body.contains("status_reported"));
    let mut fhi = Browser::new(&app);
    fhi.cookies
        .insert("styr_session".into(), app.token("agency", "FHI"));
    let page = fhi.get(&format!("/audit/assignments/{id}")).await;
    assert_eq!(page.status, 404);
    assert!(!page.body.contains("Revidert"));
    app.stop().await;
}

async fn cookies_are_secure_except_on_localhost_in_development(kind: BackendKind) {
    let app = dev_app(kind).await;
    let set_cookies = |res: &awc::ClientResponse<_>| -> Vec<String> {
        res.headers()
            .get_all("set-cookie")
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    };
    let client = awc::Client::default();
    let res = client
        .get(format!("{}/login", app.address))
        .send()
        .await
        .unwrap();
    let local = set_cookies(&res);
    assert!(local.iter().any(|c| c.starts_with("styr_csrf=")));
    for c in &local {
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax"), "{c}");
        assert!(
            !c.contains("Secure"),
            "plain-http localhost in development: {c}"
        );
    }
    let res = client
        .get(format!("{}/login", app.address))
        .insert_header(("Host", "styr.example.no"))
        .send()
        .await
        .unwrap();
    let remote = set_cookies(&res);
    assert!(!remote.is_empty());
    for c in &remote {
        assert!(c.contains("Secure"), "any other host: {c}");
    }
    let (status, css) = app.get("/static/styr.css").await;
    assert_eq!(status, 200);
    assert!(css.contains("@media print"));
    app.stop().await;
}

async fn the_board_filters_by_registered_agencies(kind: BackendKind) {
    let app = dev_app(kind).await;
    let admin = app.token("admin", "STYR");
    for m in [
        r#"mutation { registerMinistry(code: "HOD", name: "Helse- og omsorgsdepartementet") { ministries { code } } }"#,
        r#"mutation { registerAgency(code: "DMP", name: "Direktoratet for medisinske produkter", ministry: "HOD") { agencies { code } } }"#,
        r#"mutation { registerAgency(code: "FHI", name: "Folkehelseinstituttet", ministry: "HOD") { agencies { code } } }"#,
    ] {
        data(&app.gql(&admin, m, json!({})).await, "");
    }
    issue(&app, "DMP", "TB2024-7", "For DMP").await;
    issue(&app, "FHI", "TB2024-8", "For FHI").await;
    let mut hod = Browser::new(&app);
    hod.sign_in("hod").await;
    let page = hod.get("/").await;
    assert!(
        page.body
            .contains(r#"<select id="f-agency" name="agency">"#),
        "{}",
        page.body
    );
    assert!(page.body.contains("Folkehelseinstituttet"));
    assert!(page.body.contains("For DMP") && page.body.contains("For FHI"));
    let page = hod.get("/?agency=FHI").await;
    assert!(page.body.contains(r#"<option value="FHI" selected>"#));
    assert!(page.body.contains("For FHI") && !page.body.contains("For DMP"));
    assert!(page.body.contains(r#"href="/board.csv?agency=FHI""#));
    check_labels("board with lists", &page.body);
    app.stop().await;
}

/// The hidden `command_id` of the form posting to `action`.
fn command_id(html: &str, action: &str) -> String {
    let form = &html[html
        .find(&format!(r#"id="form-{action}""#))
        .expect("the form")..];
    let tag = tags(form, "input")
        .into_iter()
        .find(|t| attr(t, "name") == Some("command_id"))
        .expect("a command id");
    attr(tag, "value").unwrap().to_owned()
}

async fn the_ministry_grants_an_extension_the_agency_asked_for(kind: BackendKind) {
    let app = dev_app(kind).await;
    let id = issue(&app, "DMP", "TB2024-6", "Utsatt frist").await;
    let path = format!("/assignments/{id}");
    let mut dmp = Browser::new(&app);
    dmp.sign_in("dmp").await;
    // Without a date: refused, the reason kept.
    let page = dmp
        .post(
            &format!("{path}/request_extension"),
            &[
                ("part", "a"),
                ("new_date", ""),
                ("reason", "Venter på data"),
            ],
            true,
        )
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(page.body.contains("Venter på data</textarea>"));
    let page = dmp.get(&path).await;
    let command = command_id(&page.body, "request_extension");
    let fields = [
        ("part", "a"),
        ("new_date", "2024-04-02"),
        ("reason", "Venter på data"),
        ("command_id", command.as_str()),
    ];
    let page = dmp
        .post(&format!("{path}/request_extension"), &fields, true)
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    // The same form sent again (a double click, a reload) acts once.
    let page = dmp
        .post(&format!("{path}/request_extension"), &fields, true)
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let page = dmp.get(&path).await;
    assert!(page.body.contains("2. april 2024"));
    assert!(
        !page.body.contains("form-grant_extension"),
        "the agency cannot grant"
    );

    let mut hod = Browser::new(&app);
    hod.sign_in("hod").await;
    let page = hod.get(&path).await;
    assert!(page.body.contains("form-grant_extension"));
    assert!(
        !page.body.contains("form-report_status"),
        "the ministry does not report"
    );
    let form = &page.body[page.body.find(r#"id="form-grant_extension""#).unwrap()..];
    let request = tags(form, "input")
        .into_iter()
        .find(|t| attr(t, "name") == Some("request_id"))
        .and_then(|t| attr(t, "value"))
        .unwrap()
        .to_owned();
    let page = hod
        .post(
            &format!("{path}/grant_extension"),
            &[("request_id", &request)],
            true,
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let hod_token = app.token("ministry", "HOD");
    let body = app
        .gql(
            &hod_token,
            "query($id: ID!) { assignment(id: $id) { parts { deadline } pendingExtension { id } timeline { eventType } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(data(&body, "assignment.parts")[0]["deadline"], "2024-04-02");
    assert!(data(&body, "assignment.pendingExtension").is_null());
    let requested = data(&body, "assignment.timeline")
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["eventType"]
                .as_str()
                .unwrap()
                .contains("ExtensionRequested")
        })
        .count();
    assert_eq!(requested, 1, "{body}");
    app.stop().await;
}

async fn the_ministry_cancels_an_assignment_with_a_reason(kind: BackendKind) {
    let app = dev_app(kind).await;
    let id = issue(&app, "DMP", "TB2024-7", "Avlyses").await;
    let path = format!("/assignments/{id}");
    let mut dmp = Browser::new(&app);
    dmp.sign_in("dmp").await;
    let page = dmp.get(&path).await;
    // The agency cannot cancel.
    page.assert_lacks("form-cancel_assignment");
    // The agency posting the form anyway is refused and nothing changes.
    let page = dmp
        .post(
            &format!("{path}/cancel_assignment"),
            &[("reason", "Ikke vårt valg")],
            true,
        )
        .await;
    assert_ne!(page.status, 303, "{}", page.body);

    let mut hod = Browser::new(&app);
    hod.sign_in("hod").await;
    let page = hod.get(&path).await;
    page.assert_has("form-cancel_assignment");
    // Without a reason: refused beside the field, nothing written.
    let log_position = || async {
        let body = app.graphql("{ health { logPosition } }", None).await;
        data(&body, "health.logPosition")
            .as_u64()
            .expect("the log position is a number")
    };
    let head = log_position().await;
    let page = hod
        .post(
            &format!("{path}/cancel_assignment"),
            &[("reason", " ")],
            true,
        )
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert_eq!(log_position().await, head, "a refused form writes nothing");
    let page = hod
        .post(
            &format!("{path}/cancel_assignment"),
            &[("reason", "Overtatt av et annet oppdrag")],
            true,
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let page = hod.get(&path).await;
    // A cancelled assignment has no forms; the reason is in the timeline.
    page.assert_lacks("form-cancel_assignment");
    page.assert_has("Overtatt av et annet oppdrag");
    let token = app.token("ministry", "HOD");
    let body = app
        .gql(
            &token,
            "query($id: ID!) { assignment(id: $id) { lifecycle } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(data(&body, "assignment.lifecycle"), "cancelled");
}

/// The assignment links in a board page's table, in order.
fn board_rows(html: &str) -> Vec<String> {
    let table = html.split_once("<tbody>").map_or("", |(_, t)| t);
    tags(table, "a")
        .into_iter()
        .filter_map(|a| attr(a, "href"))
        .filter(|h| h.starts_with("/assignments/"))
        .map(str::to_owned)
        .collect()
}

async fn the_board_pages_through_more_rows_than_one_page_holds(kind: BackendKind) {
    let app = dev_app(kind).await;
    for n in 1..=203 {
        issue(&app, "DMP", &format!("TB2024-{n}"), &format!("Oppdrag {n}")).await;
    }
    issue(&app, "FHI", "TB2024-900", "For FHI").await;
    let mut hod = Browser::new(&app);
    hod.sign_in("hod").await;
    let first = hod.get("/?agency=DMP").await;
    assert_eq!(first.status, 200);
    let rows = board_rows(&first.body);
    assert_eq!(rows.len(), 200);
    first.assert_has("200 / 203");
    first.assert_lacks(r#"rel="first""#);
    let next = tags(&first.body, "a")
        .into_iter()
        .find(|a| attr(a, "rel") == Some("next"))
        .and_then(|a| attr(a, "href"))
        .expect("a link to the next page")
        .replace("&amp;", "&");
    assert!(next.starts_with("/?agency=DMP&after="), "{next}");
    let second = hod.get(&next).await;
    let more = board_rows(&second.body);
    assert_eq!(more.len(), 3);
    second.assert_lacks(r#"rel="next""#);
    second.assert_has(r#"href="/?agency=DMP" rel="first""#);
    check_labels("board, second page", &second.body);
    check_headings("board, second page", &second.body);
    let mut all: Vec<String> = rows.into_iter().chain(more).collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 203, "every DMP row once, FHI's on neither page");
    // A page link that is not the board's own starts again from the first page, filters kept.
    let edited = hod.get("/?agency=DMP&after=not-a-cursor").await;
    assert_eq!(
        (edited.status, edited.location.as_deref()),
        (303, Some("/?agency=DMP"))
    );
    app.stop().await;
}

/// The assignment as the ministry reads it through the API.
async fn assignment(app: &TestApp, id: &str) -> Value {
    let hod = app.token("ministry", "HOD");
    let body = app
        .gql(
            &hod,
            "query($id: ID!) { assignment(id: $id) { reference title description year agency department goal lifecycle
               parts { label title deadline deadlineToBeAgreed }
               statusReports { period trafficLight progress causeAndConsequence }
               timeline { eventType reason } } }",
            json!({ "id": id }),
        )
        .await;
    data(&body, "assignment").clone()
}

/// The text of the form posting to `action`, up to its end.
fn form_of<'a>(html: &'a str, action: &str) -> &'a str {
    let start = html
        .find(&format!(r#"id="form-{action}""#))
        .unwrap_or_else(|| panic!("no form {action}: {html}"));
    let end = html[start..].find("</form>").unwrap() + start;
    &html[start..end]
}

async fn register_hod_dmp_fhi(app: &TestApp) {
    let admin = app.token("admin", "STYR");
    for m in [
        r#"mutation { registerMinistry(code: "HOD", name: "Helse- og omsorgsdepartementet") { ministries { code } } }"#,
        r#"mutation { registerAgency(code: "DMP", name: "Direktoratet for medisinske produkter", ministry: "HOD") { agencies { code } } }"#,
        r#"mutation { registerAgency(code: "FHI", name: "Folkehelseinstituttet", ministry: "HOD") { agencies { code } } }"#,
    ] {
        data(&app.gql(&admin, m, json!({})).await, "");
    }
}

async fn the_ministry_issues_an_assignment_from_its_page(kind: BackendKind) {
    let app = dev_app(kind).await;
    register_hod_dmp_fhi(&app).await;
    // The agency has no link, no page and no way to post it.
    let mut dmp = Browser::new(&app);
    dmp.sign_in("dmp").await;
    dmp.get("/").await.assert_lacks("/assignments/new");
    assert_eq!(dmp.get("/assignments/new").await.status, 403);
    let head = log_position(&app).await;
    let page = dmp
        .post(
            "/assignments/new",
            &[
                ("agency", "DMP"),
                ("year", "2024"),
                ("title", "Agenturens eget"),
                ("part_0_title", "Alt"),
            ],
            true,
        )
        .await;
    assert_eq!(page.status, 403, "{}", page.body);
    assert_eq!(log_position(&app).await, head);

    let mut hod = Browser::new(&app);
    hod.sign_in("hod").await;
    hod.get("/").await.assert_has(r#"href="/assignments/new""#);
    let page = hod.get("/assignments/new").await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.assert_has(r#"<option value="DMP">"#);
    check_labels("new assignment", &page.body);
    check_headings("new assignment", &page.body);
    let command = command_id(&page.body, "new_assignment");
    // No title, a date that is no date, and a row with both a date and "to be agreed": each
    // error beside its field, the values kept, nothing written.
    let mut fields = vec![
        ("reference", "TB2024-20"),
        ("agency", "DMP"),
        ("year", "2024"),
        ("department", "FHA"),
        ("goal", "Bedre legemiddelberedskap"),
        ("title", ""),
        ("description", "Utrede lagerplikt"),
        ("part_0_label", "a"),
        ("part_0_title", "Utredning"),
        ("part_0_deadline", "2024-13-45"),
        ("part_1_label", "b"),
        ("part_1_title", "Oppfølging"),
        ("part_1_deadline", "2024-10-01"),
        ("part_1_to_be_agreed", "true"),
        ("command_id", command.as_str()),
    ];
    let page = hod.post("/assignments/new", &fields, true).await;
    assert_eq!(page.status, 422, "{}", page.body);
    for f in ["title", "part_0_deadline", "part_1_deadline"] {
        page.assert_has(&format!(r#"id="new-{f}-error""#));
    }
    page.assert_has("Utrede lagerplikt</textarea>");
    page.assert_has(r#"value="Bedre legemiddelberedskap""#);
    page.assert_has(
        r#"id="new-part_1_to_be_agreed" name="part_1_to_be_agreed" value="true" checked"#,
    );
    check_labels("new assignment refused", &page.body);
    assert_eq!(log_position(&app).await, head);
    // The API's refusal of a part's label beside that row's label, though the row before it
    // (a label alone) was left out.
    fields[5].1 = "Lagerplikt for legemidler";
    fields[8].1 = "";
    fields[9].1 = "";
    fields[10].1 = "b b";
    fields[12].1 = "";
    let page = hod.post("/assignments/new", &fields, true).await;
    assert_eq!(page.status, 422, "{}", page.body);
    page.assert_has(r#"id="new-part_1_label-error""#);
    assert_eq!(log_position(&app).await, head);
    // A year beyond the API's 32-bit `Int`, or negative past it: beside its field, not a
    // query that fails to parse.
    fields[5].1 = "Lagerplikt for legemidler";
    for year in ["99999999999", "-99999999999"] {
        fields[2].1 = year;
        let page = hod.post("/assignments/new", &fields, true).await;
        assert_eq!(page.status, 422, "{year}: {}", page.body);
        page.assert_has(r#"id="new-year-error""#);
        page.assert_lacks("Failed to parse");
    }
    fields[2].1 = "2024";
    assert_eq!(log_position(&app).await, head);
    // The domain's refusal (a reference of another year) beside its field too.
    fields[0].1 = "TB2023-20";
    fields[8].1 = "Utredning";
    fields[9].1 = "2024-06-01";
    fields[10].1 = "b";
    let page = hod.post("/assignments/new", &fields, true).await;
    assert_eq!(page.status, 422, "{}", page.body);
    page.assert_has(r#"id="new-reference-error""#);
    assert_eq!(log_position(&app).await, head);
    fields[0].1 = "TB2024-20";
    let page = hod.post("/assignments/new", &fields, true).await;
    assert_eq!(page.status, 303, "{}", page.body);
    let location = page.location.clone().unwrap();
    let id = location.strip_prefix("/assignments/").unwrap().to_owned();
    // The same form again (a reload) issues nothing new.
    let head = log_position(&app).await;
    let again = hod.post("/assignments/new", &fields, true).await;
    assert_eq!(again.location, Some(location.clone()));
    assert_eq!(log_position(&app).await, head);
    let a = assignment(&app, &id).await;
    assert_eq!(a["reference"], "TB2024-20");
    assert_eq!(a["title"], "Lagerplikt for legemidler");
    assert_eq!(a["agency"], "DMP");
    assert_eq!(a["department"], "FHA");
    assert_eq!(a["goal"], "Bedre legemiddelberedskap");
    assert_eq!(
        a["parts"],
        json!([
            { "label": "a", "title": "Utredning", "deadline": "2024-06-01", "deadlineToBeAgreed": false },
            { "label": "b", "title": "Oppfølging", "deadline": null, "deadlineToBeAgreed": true },
        ])
    );
    let page = hod.get(&location).await;
    assert_eq!(page.status, 200);
    page.assert_has("Lagerplikt for legemidler");
    app.stop().await;
}

async fn the_ministry_agrees_and_changes_deadlines_amends_and_completes(kind: BackendKind) {
    let app = dev_app(kind).await;
    let id = issue(&app, "DMP", "TB2024-21", "Frister og endringer").await;
    let path = format!("/assignments/{id}");
    let ministry_forms = [
        (
            "agree_deadline",
            vec![("part", "b"), ("date", "2024-09-01")],
        ),
        (
            "change_deadline",
            vec![("part", "a"), ("term", "date"), ("date", "2024-05-01")],
        ),
        ("amend_assignment", vec![("title", "Agenturens tittel")]),
        ("complete_assignment", vec![("note", "Ferdig")]),
        (
            "transfer_assignment",
            vec![
                ("to_agency", "FHI"),
                ("effective", "2024-01-01"),
                ("reason", "x"),
            ],
        ),
        ("carry_over_assignment", vec![("reason", "x")]),
    ];
    // The agency sees none of the ministry's forms, and posting them is refused.
    let mut dmp = Browser::new(&app);
    dmp.sign_in("dmp").await;
    let page = dmp.get(&path).await;
    let head = log_position(&app).await;
    for (action, fields) in &ministry_forms {
        page.assert_lacks(&format!("form-{action}"));
        let refused = dmp.post(&format!("{path}/{action}"), fields, true).await;
        assert_eq!(refused.status, 403, "{action}: {}", refused.body);
    }
    assert_eq!(log_position(&app).await, head);

    let mut hod = Browser::new(&app);
    hod.sign_in("hod").await;
    let page = hod.get(&path).await;
    for (action, _) in &ministry_forms {
        page.assert_has(&format!(r#"id="form-{action}""#));
    }
    check_labels("hod assignment", &page.body);
    check_headings("hod assignment", &page.body);
    // Only the part whose deadline is to be agreed can be agreed.
    let agree = form_of(&page.body, "agree_deadline");
    assert!(agree.contains(r#"<option value="b">"#) && !agree.contains(r#"<option value="a">"#));

    // Agree: a bad date beside the field, the reason kept, nothing written.
    let page = hod
        .post(
            &format!("{path}/agree_deadline"),
            &[
                ("part", "b"),
                ("date", "1. sept"),
                ("reason", "Avtalt i møte"),
            ],
            true,
        )
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    page.assert_has(r#"id="agree_deadline-date-error""#);
    page.assert_has("Avtalt i møte</textarea>");
    assert_eq!(log_position(&app).await, head);
    let page = hod
        .post(
            &format!("{path}/agree_deadline"),
            &[
                ("part", "b"),
                ("date", "2024-09-01"),
                ("reason", "Avtalt i møte"),
            ],
            true,
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let a = assignment(&app, &id).await;
    assert_eq!(a["parts"][1]["deadline"], "2024-09-01");
    assert!(
        a["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["eventType"] == "DeadlineAgreed" && e["reason"] == "Avtalt i møte"),
        "{a}"
    );
    hod.get(&path).await.assert_lacks("form-agree_deadline");

    // Change: a date chosen but none given is refused beside the date; to be agreed is taken.
    let head = log_position(&app).await;
    let page = hod
        .post(
            &format!("{path}/change_deadline"),
            &[("part", "a"), ("term", "date"), ("date", "")],
            true,
        )
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    page.assert_has(r#"id="change_deadline-date-error""#);
    assert_eq!(log_position(&app).await, head);
    let page = hod
        .post(
            &format!("{path}/change_deadline"),
            &[
                ("part", "a"),
                ("term", "to_be_agreed"),
                ("date", ""),
                ("reason", "Avventer budsjett"),
            ],
            true,
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let a = assignment(&app, &id).await;
    assert_eq!(a["parts"][0]["deadlineToBeAgreed"], true);
    assert!(a["parts"][0]["deadline"].is_null());

    // Amend: nothing to change is refused beside the title; a new title is taken.
    let head = log_position(&app).await;
    let page = hod
        .post(
            &format!("{path}/amend_assignment"),
            &[
                ("title", " "),
                ("description", ""),
                ("reason", "Presisering"),
            ],
            true,
        )
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    page.assert_has(r#"id="amend_assignment-title-error""#);
    page.assert_has("Presisering</textarea>");
    assert_eq!(log_position(&app).await, head);
    let page = hod
        .post(
            &format!("{path}/amend_assignment"),
            &[
                ("title", "Frister, endret"),
                ("description", "Ny tekst"),
                ("reason", "Presisering"),
            ],
            true,
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let a = assignment(&app, &id).await;
    assert_eq!(
        (&a["title"], &a["description"]),
        (&json!("Frister, endret"), &json!("Ny tekst"))
    );

    // Complete, with a note; then no forms are left.
    let page = hod
        .post(
            &format!("{path}/complete_assignment"),
            &[("note", "Levert gjennom annet oppdrag")],
            true,
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let a = assignment(&app, &id).await;
    assert_eq!(a["lifecycle"], "completed");
    assert!(
        a["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["eventType"] == "AssignmentCompleted"
                && e["reason"] == "Levert gjennom annet oppdrag"),
        "{a}"
    );
    let page = hod.get(&path).await;
    for (action, _) in &ministry_forms {
        page.assert_lacks(&format!("form-{action}"));
    }
    app.stop().await;
}

async fn the_ministry_transfers_and_carries_over_an_assignment(kind: BackendKind) {
    let app = dev_app(kind).await;
    register_hod_dmp_fhi(&app).await;
    let id = issue(&app, "DMP", "TB2024-22", "Flyttes og videreføres").await;
    let path = format!("/assignments/{id}");
    let mut hod = Browser::new(&app);
    hod.sign_in("hod").await;
    let page = hod.get(&path).await;
    // The registered agencies other than the one responsible.
    let transfer = form_of(&page.body, "transfer_assignment");
    assert!(transfer.contains(r#"<option value="FHI">"#), "{transfer}");
    assert!(!transfer.contains(r#"<option value="DMP""#), "{transfer}");
    check_labels("hod with agencies", &page.body);

    let head = log_position(&app).await;
    let bad_date = [
        ("to_agency", "FHI"),
        ("effective", "snart"),
        ("reason", "Ansvar flyttes"),
    ];
    let page = hod
        .post(&format!("{path}/transfer_assignment"), &bad_date, true)
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    page.assert_has(r#"id="transfer_assignment-effective-error""#);
    page.assert_has(r#"<option value="FHI" selected>"#);
    page.assert_has("Ansvar flyttes</textarea>");
    // The domain's refusal (to the agency it already has) beside the agency.
    let same = [
        ("to_agency", "DMP"),
        ("effective", "2024-02-01"),
        ("reason", "Ansvar flyttes"),
    ];
    let page = hod
        .post(&format!("{path}/transfer_assignment"), &same, true)
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    page.assert_has(r#"id="transfer_assignment-to_agency-error""#);
    assert_eq!(log_position(&app).await, head);
    let to_fhi = [
        ("to_agency", "FHI"),
        ("effective", "2024-02-01"),
        ("reason", "Ansvar flyttes"),
    ];
    let page = hod
        .post(&format!("{path}/transfer_assignment"), &to_fhi, true)
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(assignment(&app, &id).await["agency"], "FHI");

    // Carry over: a reference of the wrong year is refused beside it; then the new one opens.
    let head = log_position(&app).await;
    let page = hod
        .post(
            &format!("{path}/carry_over_assignment"),
            &[
                ("new_reference", "TB2024-30"),
                ("reason", "Fortsetter neste år"),
            ],
            true,
        )
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    page.assert_has(r#"id="carry_over_assignment-new_reference-error""#);
    assert_eq!(log_position(&app).await, head);
    let page = hod
        .post(
            &format!("{path}/carry_over_assignment"),
            &[
                ("new_reference", "TB2025-30"),
                ("reason", "Fortsetter neste år"),
            ],
            true,
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let location = page.location.unwrap();
    let new_id = location.strip_prefix("/assignments/").unwrap();
    assert_ne!(new_id, id);
    assert_eq!(assignment(&app, &id).await["lifecycle"], "carried_over");
    let next = assignment(&app, new_id).await;
    assert_eq!(
        (&next["reference"], &next["year"]),
        (&json!("TB2025-30"), &json!(2025))
    );
    app.stop().await;
}

async fn an_agency_corrects_a_status_report(kind: BackendKind) {
    let app = dev_app(kind).await;
    let id = issue(&app, "DMP", "TB2024-23", "Korrigeres").await;
    let path = format!("/assignments/{id}");
    let mut dmp = Browser::new(&app);
    dmp.sign_in("dmp").await;
    // Nothing reported, nothing to correct.
    dmp.get(&path).await.assert_lacks("form-correct_status");
    let page = dmp
        .post(
            &format!("{path}/report_status"),
            &[
                ("period", "TERTIAL_1"),
                ("traffic_light", "green"),
                ("progress", "I rute"),
            ],
            true,
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let page = dmp.get(&path).await;
    let correct = form_of(&page.body, "correct_status");
    assert!(
        correct.contains(r#"<option value="TERTIAL_1">"#),
        "{correct}"
    );
    assert!(
        !correct.contains(r#"<option value="YEAR">"#),
        "only reported periods: {correct}"
    );
    check_labels("dmp with a report", &page.body);
    check_headings("dmp with a report", &page.body);

    // The ministry neither sees nor may post it.
    let mut hod = Browser::new(&app);
    hod.sign_in("hod").await;
    hod.get(&path).await.assert_lacks("form-correct_status");
    let head = log_position(&app).await;
    let by_ministry = [
        ("period", "TERTIAL_1"),
        ("traffic_light", "red"),
        ("progress", "Stoppet"),
        ("cause_and_consequence", "x"),
        ("corrective_action", "y"),
        ("reason", "Departementet vet best"),
    ];
    let page = hod
        .post(&format!("{path}/correct_status"), &by_ministry, true)
        .await;
    assert_eq!(page.status, 403, "{}", page.body);

    // No reason, and yellow without its explanation: refused beside the fields, kept.
    let mut fields = vec![
        ("period", "TERTIAL_1"),
        ("traffic_light", "yellow"),
        ("progress", "Forsinket likevel"),
        ("cause_and_consequence", "Data kom sent"),
        ("corrective_action", ""),
        ("reason", " "),
    ];
    let page = dmp
        .post(&format!("{path}/correct_status"), &fields, true)
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    page.assert_has(r#"id="correct_status-reason-error""#);
    page.assert_has("Forsinket likevel</textarea>");
    fields[5].1 = "Feil trafikklys";
    let page = dmp
        .post(&format!("{path}/correct_status"), &fields, true)
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    page.assert_has(r#"id="correct_status-corrective_action-error""#);
    assert_eq!(log_position(&app).await, head);
    fields[4].1 = "Purret";
    let page = dmp
        .post(&format!("{path}/correct_status"), &fields, true)
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let a = assignment(&app, &id).await;
    assert_eq!(a["statusReports"].as_array().unwrap().len(), 1, "{a}");
    assert_eq!(a["statusReports"][0]["trafficLight"], "YELLOW");
    assert_eq!(a["statusReports"][0]["progress"], "Forsinket likevel");
    assert!(
        a["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["eventType"] == "StatusCorrected" && e["reason"] == "Feil trafikklys"),
        "{a}"
    );
    app.stop().await;
}

async fn a_refusal_whose_form_is_gone_is_shown_at_the_top(kind: BackendKind) {
    let app = dev_app(kind).await;
    let id = issue(&app, "DMP", "TB2024-30", "Levert to ganger").await;
    let path = format!("/assignments/{id}");
    let mut dmp = Browser::new(&app);
    dmp.sign_in("dmp").await;
    let page = dmp
        .post(
            &format!("{path}/deliver"),
            &[("part", "a"), ("summary", "Rapport levert")],
            true,
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let mut hod = Browser::new(&app);
    hod.sign_in("hod").await;
    let page = hod
        .post(&format!("{path}/accept_delivery"), &[("part", "a")], true)
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    // Accepted again (another officer, another command): no delivery awaits review, so the
    // form is not offered; the refusal is shown above the page, nothing written.
    let head = log_position(&app).await;
    let page = hod
        .post(&format!("{path}/accept_delivery"), &[("part", "a")], true)
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(
        !page.body.contains(r#"id="form-accept_delivery""#),
        "{}",
        page.body
    );
    assert!(
        page.body.contains(r#"class="errors" role="alert""#),
        "{}",
        page.body
    );
    // The summary names the refused action without linking to a form that is not there.
    assert!(
        !page.body.contains(r##"href="#form-accept_delivery""##),
        "{}",
        page.body
    );
    assert_eq!(log_position(&app).await, head);
    app.stop().await;
}

async fn the_board_filters_by_year_goal_and_text(kind: BackendKind) {
    let app = dev_app(kind).await;
    for (reference, year, goal, title) in [
        ("TB2024-1", 2024, "2.2", "Legemiddelberedskap"),
        ("TB2025-1", 2025, "1.1", "Apotekregulering"),
    ] {
        styr_tests::issue_assignment(
            &app,
            json!({
                "reference": reference, "ministry": "HOD", "agency": "DMP", "year": year,
                "department": "FHA", "title": title, "description": "Utrede", "goal": goal,
                "parts": [ { "label": "a", "deadline": format!("{year}-03-01") } ]
            }),
        )
        .await;
    }
    let mut hod = Browser::new(&app);
    hod.sign_in("hod").await;
    for (query, shown, hidden) in [
        ("year=2025", "Apotekregulering", "Legemiddelberedskap"),
        ("goal=2.2", "Legemiddelberedskap", "Apotekregulering"),
        ("text=apotek", "Apotekregulering", "Legemiddelberedskap"),
    ] {
        let page = hod.get(&format!("/?{query}")).await;
        assert_eq!(page.status, 200, "{query}");
        page.assert_has(shown);
        page.assert_lacks(hidden);
        // The downloads take the same filter.
        page.assert_has(&format!(r#"href="/board.csv?{query}""#));
        check_labels("board filters", &page.body);
    }
    let csv = hod.get("/board.csv?goal=2.2").await;
    assert_eq!(csv.status, 200);
    csv.assert_has("Legemiddelberedskap");
    csv.assert_lacks("Apotekregulering");
    // A year that is not a number filters nothing, as an unknown status does.
    let page = hod.get("/?year=tjuetjuefire").await;
    page.assert_has("Legemiddelberedskap");
    page.assert_has("Apotekregulering");
    app.stop().await;
}
