//! Downloads over real HTTP, on SQLite and PostgreSQL: the board as CSV and Excel, the
//! calendar as iCalendar — each scoped to the caller, each refusing bad input clearly.

use serde_json::json;
use styr_tests::{TestApp, on_both_backends};

on_both_backends!(
    the_board_downloads_as_csv_and_excel_within_scope,
    the_calendar_subscribes_with_a_token_in_the_link,
);

async fn issue(app: &TestApp, agency: &str, reference: &str, deadline: &str) {
    let hod = app.token("ministry", "HOD");
    let body = app
        .graphql_with(
            json!({
                "query": "mutation($input: IssueAssignmentInput!) { issueAssignment(input: $input) { position } }",
                "variables": { "input": {
                    "reference": reference, "ministry": "HOD", "agency": agency, "year": 2024,
                    "title": format!("Oppdrag {reference} – særlig viktig"), "description": "",
                    "parts": [{ "deadline": deadline }] } }
            }),
            Some(&hod),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
}

async fn get(app: &TestApp, path: &str, token: Option<&str>) -> (u16, String, Vec<u8>) {
    let mut req = app.client.get(format!("{}{path}", app.address));
    if let Some(t) = token {
        req = req.insert_header(("Authorization", format!("Bearer {t}")));
    }
    let mut res = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let content_type = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = res.body().limit(50 << 20).await.unwrap().to_vec();
    (res.status().as_u16(), content_type, body)
}

async fn the_board_downloads_as_csv_and_excel_within_scope(app: TestApp) {
    issue(&app, "DMP", "TB2024-1", "2024-03-01").await;
    issue(&app, "FHI", "TB2024-2", "2024-04-01").await;
    let dmp = app.token("agency", "DMP");

    let (status, content_type, body) = get(&app, "/board.csv?year=2024", Some(&dmp)).await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/csv"), "{content_type}");
    let text = String::from_utf8(body).unwrap();
    let mut lines = text.trim_start_matches('\u{feff}').lines();
    assert_eq!(
        lines.next().unwrap(),
        "Referanse;Tittel;År;Departement;Virksomhet;Avdeling;Mål;Status;Trafikklys;Neste frist;Frist avtales;Forfalt;Sist endret"
    );
    let row = lines.next().unwrap();
    assert!(
        row.starts_with(
            "TB2024-1;Oppdrag TB2024-1 – særlig viktig;2024;HOD;DMP;;;issued;;2024-03-01;nei;ja;"
        ),
        "{row}"
    );
    assert!(lines.next().is_none(), "only DMP's row: {text}");

    let (status, _, body) = get(&app, "/board.csv?status=issued,nonsense", Some(&dmp)).await;
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    let (status, _, _) = get(&app, "/board.csv?agencyy=DMP", Some(&dmp)).await;
    assert_eq!(status, 400, "unknown parameters are refused, not ignored");
    let (status, _, _) = get(&app, "/board.csv", None).await;
    assert_eq!(status, 401);
    let admin = app.token("admin", "STYR");
    let (status, _, _) = get(&app, "/board.csv", Some(&admin)).await;
    assert_eq!(status, 403);

    let (status, content_type, body) = get(&app, "/board.xlsx?overdue=true", Some(&dmp)).await;
    assert_eq!(status, 200);
    assert_eq!(
        content_type,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert!(
        body.starts_with(b"PK\x03\x04"),
        "an xlsx file is a zip archive"
    );
}

async fn the_calendar_subscribes_with_a_token_in_the_link(app: TestApp) {
    issue(&app, "DMP", "TB2024-1", "2024-03-01").await;
    issue(&app, "FHI", "TB2024-2", "2024-04-01").await;
    let hod = app.token("ministry", "HOD");
    let schedule = r#"mutation { scheduleCalendarItem(input: { ministry: "HOD", agency: "DMP", date: "2024-09-20",
        kind: TERTIAL_REPORT, title: "Rapportering per andre tertial", responsible: AGENCY }) { position } }"#;
    let body = app.graphql(schedule, Some(&hod)).await;
    assert!(body.get("errors").is_none(), "{body}");

    let dmp = app.token("agency", "DMP");
    let (status, content_type, body) = get(&app, &format!("/calendar.ics?token={dmp}"), None).await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/calendar"), "{content_type}");
    let ics = String::from_utf8(body).unwrap();
    assert!(ics.starts_with("BEGIN:VCALENDAR"), "{ics}");
    assert!(ics.contains("Frist: TB2024-1"), "{ics}");
    assert!(ics.contains("DTSTART;VALUE=DATE:20240301"), "{ics}");
    assert!(ics.contains("Rapportering per andre tertial"), "{ics}");
    assert!(
        !ics.contains("TB2024-2"),
        "another agency's deadline leaked: {ics}"
    );

    let (status, _, _) = get(&app, "/calendar.ics?token=garbage", None).await;
    assert_eq!(status, 401);
    let (status, _, body) = get(&app, "/calendar.ics", Some(&hod)).await;
    assert_eq!(status, 200, "the header works as well");
    assert!(
        String::from_utf8(body).unwrap().contains("TB2024-2"),
        "the ministry sees both agencies"
    );
}
