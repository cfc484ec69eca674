//! The web pages over real HTTP, on SQLite and PostgreSQL: development sign-in, CSRF refusals,
//! an agency reporting status through the form, scoping between agencies, and basic
//! accessibility (a label for every field, headings in order).

use serde_json::{Value, json};
use styr_eventstore::BackendKind;
use styr_tests::web::{Browser, attr, check_headings, check_labels, dev_app, tags};
use styr_tests::{TestApp, data, spawn_app_with};

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
        data(&body, "health.logPosition").as_u64().unwrap_or(0)
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
    tags(html, "a")
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
