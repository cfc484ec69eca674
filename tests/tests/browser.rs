//! The web pages in a real headless Chromium, driven over WebDriver, on SQLite and PostgreSQL:
//! each role signs in through the development picker and the day in the life of an assignment
//! happens through the pages — the ministry sees what it issued, the agency reports status (a
//! refused report first, then a valid one) and delivers by keyboard alone, the ministry accepts,
//! the auditor reads the assignment as of a date and its decision trail. Along the way: what
//! each role can and cannot see, and on every page a label for every field, headings in order
//! and a language. The SQLite run saves screenshots of the main pages under
//! `docs/screenshots/` (linked from the README).
//!
//! Needs Debian's `chromium` and `chromium-driver`, so it is ignored by a plain
//! `cargo nextest run`; the README's test command (and so `.ci/run`, which installs both) runs
//! it with `--run-ignored all`, where a missing `chromedriver` fails it.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use styr_eventstore::BackendKind;
use styr_tests::{TestApp, data, spawn_app_with};

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn browser() -> (Driver, Client) {
    let port = free_port();
    let driver = Driver(
        Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is installed (apt-get install chromium chromium-driver)"),
    );
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({ "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,1600", "--lang=nb"] }),
    );
    for _ in 0..50 {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(client) => return (driver, client),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    panic!("chromedriver did not start");
}

fn screenshot_dir() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn shoot(client: &Client, name: &str) {
    let png = client.screenshot().await.expect("a screenshot");
    std::fs::write(screenshot_dir().join(format!("{name}.png")), png).unwrap();
}

async fn sign_in(client: &Client, app: &TestApp, who: &str) {
    client
        .goto(&format!("{}/login", app.address))
        .await
        .unwrap();
    client
        .find(Locator::Css(&format!("#identity-{who}")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client
        .find(Locator::Css("main button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client
        .wait()
        .for_element(Locator::Css("form.filters"))
        .await
        .unwrap();
}

async fn sign_out(client: &Client) {
    client
        .find(Locator::Css("header form button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client
        .wait()
        .for_element(Locator::Css("input[name=identity]"))
        .await
        .unwrap();
}

/// Waits until the browser shows `path` (a submitted form has navigated), up to 10 s.
async fn wait_for_path(client: &Client, path: &str) {
    for _ in 0..100 {
        if client.current_url().await.unwrap().path() == path {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the browser never reached {path}");
}

async fn issue(
    app: &TestApp,
    agency: &str,
    reference: &str,
    title: &str,
    deadline: &str,
) -> String {
    let hod = app.token("ministry", "HOD");
    let body = app
        .gql(
            &hod,
            r#"mutation($input: IssueAssignmentInput!) { issueAssignment(input: $input) { assignment { id } } }"#,
            json!({ "input": {
                "reference": reference, "ministry": "HOD", "agency": agency, "year": 2024,
                "department": "FHA", "title": title,
                "description": "Utrede og foreslå tiltak, i samarbeid med Helsedirektoratet.",
                "goal": "2.2",
                "parts": [ { "label": "a", "title": "Kunnskapsgrunnlag", "deadline": deadline },
                           { "label": "b", "title": "Forslag til tiltak", "toBeAgreed": true } ]
            } }),
        )
        .await;
    data(&body, "issueAssignment.assignment.id")
        .as_str()
        .unwrap()
        .to_owned()
}

/// Accessibility basics on the page shown: a label for every field, one `h1` first and no
/// skipped heading level, a name on every button, and the page's language.
async fn check_accessibility(client: &Client, page: &str) {
    let problems = client
        .execute(
            r#"const problems = [];
            for (const el of document.querySelectorAll('input, select, textarea')) {
                if (['hidden', 'submit', 'button'].includes(el.type)) continue;
                const labelled = (el.id && document.querySelector(`label[for="${el.id}"]`))
                    || el.closest('label') || el.getAttribute('aria-label')
                    || el.getAttribute('aria-labelledby');
                if (!labelled) problems.push('no label: ' + el.outerHTML);
            }
            const levels = [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')]
                .map(h => Number(h.tagName[1]));
            if (levels[0] !== 1) problems.push('the first heading is not h1: ' + levels);
            if (levels.filter(l => l === 1).length !== 1) problems.push('not one h1: ' + levels);
            for (let i = 1; i < levels.length; i++) {
                if (levels[i] > levels[i - 1] + 1) problems.push('a level skipped: ' + levels);
            }
            for (const b of document.querySelectorAll('button')) {
                if (!b.textContent.trim()) problems.push('a button without a name');
            }
            if (!document.documentElement.lang) problems.push('no lang on html');
            if (!document.title.trim()) problems.push('no title');
            return problems;"#,
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(problems, json!([]), "accessibility on {page}");
}

/// Presses keys on whatever has the focus, as a keyboard does.
async fn press(client: &Client, keys: &str) {
    let mut actions = KeyActions::new("keyboard".into());
    for value in keys.chars() {
        actions = actions
            .then(KeyAction::Down { value })
            .then(KeyAction::Up { value });
    }
    client.perform_actions(actions).await.unwrap();
}

async fn focused_id(client: &Client) -> String {
    client
        .execute("return document.activeElement.id || ''", vec![])
        .await
        .unwrap()
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Moves the focus with Tab from the top of the page until the field `id` has it.
async fn tab_to(client: &Client, id: &str) {
    client
        .execute(
            "document.activeElement.blur(); window.scrollTo(0, 0)",
            vec![],
        )
        .await
        .unwrap();
    for _ in 0..120 {
        press(client, &Key::Tab.to_string()).await;
        if focused_id(client).await == id {
            return;
        }
    }
    panic!("Tab never reached #{id}");
}

async fn exists(client: &Client, css: &str) -> bool {
    !client.find_all(Locator::Css(css)).await.unwrap().is_empty()
}

async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
}

async fn delivery_of_part_a(app: &TestApp, id: &str) -> String {
    let body = app
        .gql(
            &app.token("ministry", "HOD"),
            "query($id: ID!) { assignment(id: $id) { parts { label delivery } } }",
            json!({ "id": id }),
        )
        .await;
    data(&body, "assignment.parts")[0]["delivery"]
        .as_str()
        .unwrap()
        .to_owned()
}

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $(
            #[actix_web::test]
            #[ignore = "needs chromium and chromium-driver; run with --run-ignored all"]
            async fn $name() { super::$name(styr_eventstore::BackendKind::Sqlite).await; }
        )* }
        mod postgres { $(
            #[actix_web::test]
            #[ignore = "needs chromium and chromium-driver; run with --run-ignored all"]
            async fn $name() { super::$name(styr_eventstore::BackendKind::Postgres).await; }
        )* }
    };
}

on_both!(a_day_in_the_life_through_the_pages_in_chromium);

async fn a_day_in_the_life_through_the_pages_in_chromium(kind: BackendKind) {
    // One set of screenshots is enough; the SQLite run takes them.
    let shots = kind == BackendKind::Sqlite;
    let shoot = |client: &Client, name: &'static str| {
        let client = client.clone();
        async move {
            if shots {
                shoot(&client, name).await;
            }
        }
    };
    let app = spawn_app_with(kind, &[("STYR_DEV", "true")]).await;
    let id = issue(
        &app,
        "DMP",
        "TB2024-12",
        "Nasjonal strategi for legemiddelberedskap",
        "2024-03-01",
    )
    .await;
    issue(
        &app,
        "DMP",
        "TB2024-13",
        "Evaluering av apotekreguleringen",
        "2099-06-15",
    )
    .await;
    let fhi = issue(
        &app,
        "FHI",
        "TB2024-31",
        "Overvåking av antibiotikaresistens",
        "2024-10-01",
    )
    .await;
    let (_driver, client) = browser().await;
    let assignment = format!("/assignments/{id}");

    client
        .goto(&format!("{}/login", app.address))
        .await
        .unwrap();
    check_accessibility(&client, "sign-in").await;
    shoot(&client, "login").await;

    // The ministry sees what it issued, for every agency, and opens it from the board. Nothing
    // is awaiting its review yet, and the agency's forms are not its.
    sign_in(&client, &app, "hod").await;
    let source = client.source().await.unwrap();
    assert!(source.contains("Nasjonal strategi for legemiddelberedskap"));
    assert!(source.contains("Overvåking av antibiotikaresistens"));
    check_accessibility(&client, "board (ministry)").await;
    click(&client, &format!("main a[href='{assignment}']")).await;
    wait_for_path(&client, &assignment).await;
    check_accessibility(&client, "assignment (ministry)").await;
    for form in ["report_status", "deliver", "accept_delivery"] {
        assert!(!exists(&client, &format!("#form-{form}")).await, "{form}");
    }
    sign_out(&client).await;

    // The agency sees its own assignments and not FHI's, on the board or by address.
    sign_in(&client, &app, "dmp").await;
    let source = client.source().await.unwrap();
    assert!(source.contains("Nasjonal strategi for legemiddelberedskap"));
    assert!(!source.contains("antibiotikaresistens"));
    check_accessibility(&client, "board (agency)").await;
    client
        .goto(&format!("{}/assignments/{fhi}", app.address))
        .await
        .unwrap();
    let source = client.source().await.unwrap();
    assert!(!source.contains("antibiotikaresistens"));
    assert!(!exists(&client, "form.action").await);

    // It reports yellow through the form: first without the required cause, then with.
    client
        .goto(&format!("{}{assignment}", app.address))
        .await
        .unwrap();
    assert!(!exists(&client, "#form-accept_delivery").await);
    assert!(!exists(&client, "a[href^='/audit/']").await);
    let form = client
        .form(Locator::Css("#form-report_status"))
        .await
        .unwrap();
    form.set_by_name("traffic_light", "yellow").await.unwrap();
    form.set_by_name(
        "progress",
        "Venter på data fra de regionale helseforetakene.",
    )
    .await
    .unwrap();
    click(&client, "#form-report_status button[type=submit]").await;
    wait_for_path(&client, &format!("{assignment}/report_status")).await;
    let source = client.source().await.unwrap();
    assert!(source.contains("cause and consequence"), "{source}");
    assert!(source.contains("Venter på data fra de regionale helseforetakene."));
    client
        .find(Locator::Css("#form-report_status"))
        .await
        .unwrap()
        .find(Locator::Css(".errors"))
        .await
        .unwrap();
    check_accessibility(&client, "assignment with a refused report").await;
    client
        .execute(
            "document.getElementById('form-report_status').scrollIntoView()",
            vec![],
        )
        .await
        .unwrap();
    shoot(&client, "assignment-validation-error").await;
    let form = client
        .form(Locator::Css("#form-report_status"))
        .await
        .unwrap();
    form.set_by_name(
        "cause_and_consequence",
        "Dataene kommer tre uker senere enn planlagt.",
    )
    .await
    .unwrap();
    form.set_by_name(
        "corrective_action",
        "Foreløpig analyse på eksisterende data; purring sendt.",
    )
    .await
    .unwrap();
    click(&client, "#form-report_status button[type=submit]").await;
    wait_for_path(&client, &assignment).await;
    let source = client.source().await.unwrap();
    assert!(source.contains("purring sendt"), "{source}");
    assert!(!source.contains(r#"class="errors""#));

    // It delivers part a with the keyboard alone: Tab to the summary, type, Tab to the
    // document reference, type, and Enter submits the form.
    tab_to(&client, "deliver-summary").await;
    press(&client, "Kunnskapsgrunnlaget er levert.").await;
    press(&client, &Key::Tab.to_string()).await;
    assert_eq!(focused_id(&client).await, "deliver-document_ref");
    press(&client, "24/01234").await;
    press(&client, &Key::Enter.to_string()).await;
    for _ in 0..100 {
        if delivery_of_part_a(&app, &id).await == "awaiting_review" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(delivery_of_part_a(&app, &id).await, "awaiting_review");
    wait_for_path(&client, &assignment).await;
    let source = client.source().await.unwrap();
    assert!(
        source.contains("Kunnskapsgrunnlaget er levert."),
        "{source}"
    );
    assert!(source.contains("24/01234"));
    client
        .execute("window.scrollTo(0, 0)", vec![])
        .await
        .unwrap();
    shoot(&client, "assignment-agency").await;
    // The history of an assignment outside its scope is not found either (the audit view
    // of its own is allowed, as through the API, but only auditors are offered the link).
    client
        .goto(&format!("{}/audit/assignments/{fhi}", app.address))
        .await
        .unwrap();
    let source = client.source().await.unwrap();
    assert!(!source.contains("antibiotikaresistens"));
    assert!(!source.contains("<table"), "{source}");
    client.goto(&format!("{}/", app.address)).await.unwrap();
    shoot(&client, "board-agency").await;
    sign_out(&client).await;

    // The ministry accepts the delivery; the board shows the yellow report.
    sign_in(&client, &app, "hod").await;
    let source = client.source().await.unwrap();
    assert!(source.contains("badge yellow"));
    assert!(source.contains("<strong>Hanne Olsen</strong> (departement, HOD)"));
    shoot(&client, "board-ministry").await;
    client
        .goto(&format!("{}{assignment}", app.address))
        .await
        .unwrap();
    assert!(!exists(&client, "#form-report_status").await);
    check_accessibility(&client, "assignment awaiting review (ministry)").await;
    client
        .execute(
            "document.getElementById('form-accept_delivery').scrollIntoView()",
            vec![],
        )
        .await
        .unwrap();
    shoot(&client, "assignment-ministry-review").await;
    click(&client, "#form-accept_delivery button[type=submit]").await;
    for _ in 0..100 {
        if delivery_of_part_a(&app, &id).await == "accepted" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(delivery_of_part_a(&app, &id).await, "accepted");
    wait_for_path(&client, &assignment).await;
    assert!(!exists(&client, "#form-accept_delivery").await);
    client
        .goto(&format!("{}/?overdue=true&lang=en", app.address))
        .await
        .unwrap();
    // FHI's part is past its deadline; DMP's first was delivered and accepted, its second is
    // not due until 2099.
    let source = client.source().await.unwrap();
    assert!(source.contains("antibiotikaresistens"), "{source}");
    assert!(!source.contains("apotekreguleringen"));
    check_accessibility(&client, "board, overdue, in English").await;
    shoot(&client, "board-ministry-overdue-en").await;
    client
        .goto(&format!("{}/?lang=nb", app.address))
        .await
        .unwrap();
    sign_out(&client).await;

    // The auditor reads; it has no forms, and follows the assignment's audit link to the
    // decision trail: as of today everything, as of a day before the assignment nothing.
    sign_in(&client, &app, "rr").await;
    client
        .goto(&format!("{}{assignment}", app.address))
        .await
        .unwrap();
    assert!(!exists(&client, "form.action").await);
    click(&client, &format!("a[href='/audit{assignment}']")).await;
    wait_for_path(&client, &format!("/audit{assignment}")).await;
    let source = client.source().await.unwrap();
    for kind in ["status_reported", "delivered", "delivery_accepted"] {
        assert!(source.contains(kind), "{kind}: {source}");
    }
    check_accessibility(&client, "audit").await;
    shoot(&client, "audit").await;
    let before = (chrono::Utc::now() - chrono::Duration::days(2)).format("%Y-%m-%d");
    client
        .goto(&format!("{}/audit{assignment}?as_of={before}", app.address))
        .await
        .unwrap();
    let source = client.source().await.unwrap();
    assert!(source.contains("fantes ikke ennå"), "{source}");
    assert!(!source.contains("status_reported"));

    client.close().await.unwrap();
    app.stop().await;
}
