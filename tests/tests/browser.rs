//! The web pages in a real headless Chromium, driven over WebDriver, on SQLite and PostgreSQL:
//! each role signs in through the development picker and the day in the life of an assignment
//! happens through the pages — the ministry sees what it issued, the agency reports status (a
//! refused report first, then a valid one) and delivers by keyboard alone, the ministry accepts,
//! the auditor reads the assignment as of a date and its decision trail. Then a letter's year
//! through the letter pages: the ministry drafts a supplement from the real 2024 letter's page
//! by keyboard alone, previews the letter and supplement pasted as text (nothing written) and
//! issues the supplement; the agency reports a deviation (refused, then valid), which the
//! ministry sees flagged with its reporting lag; the calendar as a list and a month; the
//! appendix and tertial report on screen and as printed; the auditor verifies the chain, reads
//! the completeness report, the letter as of a date and its changes between two instants
//! (asked for by keyboard). Along the way: what each role can and cannot see or reach (no audit
//! pages or another agency's letter for an agency, no writing form for the auditor), and on
//! every page a label for every field, headings in order and a language. The SQLite run saves
//! screenshots of the main pages: under `docs/screenshots/` (linked from the README) with
//! `STYR_SCREENSHOTS=docs`, else in the target directory.
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
use styr_tests::{TestApp, data, log_position, spawn_app_with};

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

/// Where screenshots go: `docs/screenshots/` (the README's pictures) when
/// `STYR_SCREENSHOTS=docs`, else the target directory's scratch space, so a test run does not
/// rewrite the committed pictures (times and ids differ on every run).
fn screenshot_dir() -> std::path::PathBuf {
    let dir = if std::env::var("STYR_SCREENSHOTS").as_deref() == Ok("docs") {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots")
    } else {
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots")
    };
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn shoot(client: &Client, name: &str) {
    let png = client.screenshot().await.expect("a screenshot");
    std::fs::write(screenshot_dir().join(format!("{name}.png")), png).unwrap();
}

/// Opens a path on the server.
async fn open(client: &Client, app: &TestApp, path: &str) {
    client
        .goto(&format!("{}{path}", app.address))
        .await
        .unwrap();
}

/// Sets the named fields of the form at `css`, in order.
async fn fill(client: &Client, css: &str, fields: &[(&str, &str)]) {
    let form = client.form(Locator::Css(css)).await.unwrap();
    for (name, value) in fields {
        form.set_by_name(name, value).await.unwrap();
    }
}

/// Screenshots are taken in one run only (the SQLite one): one set is enough.
struct Camera {
    on: bool,
}

impl Camera {
    fn for_run(kind: BackendKind) -> Camera {
        Camera {
            on: kind == BackendKind::Sqlite,
        }
    }

    async fn shoot(&self, client: &Client, name: &str) {
        if self.on {
            shoot(client, name).await;
        }
    }
}

async fn sign_in(client: &Client, app: &TestApp, who: &str) {
    open(client, app, "/login").await;
    click(client, &format!("#identity-{who}")).await;
    click(client, "main button[type=submit]").await;
    client
        .wait()
        .for_element(Locator::Css("form.filters"))
        .await
        .unwrap();
}

async fn sign_out(client: &Client) {
    click(client, "header form button").await;
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
    styr_tests::issue_assignment(
        app,
        json!({
            "reference": reference, "ministry": "HOD", "agency": agency, "year": 2024,
            "department": "FHA", "title": title,
            "description": "Utrede og foreslå tiltak, i samarbeid med Helsedirektoratet.",
            "goal": "2.2",
            "parts": [ { "label": "a", "title": "Kunnskapsgrunnlag", "deadline": deadline },
                       { "label": "b", "title": "Forslag til tiltak", "toBeAgreed": true } ]
        }),
    )
    .await
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

on_both!(
    a_day_in_the_life_through_the_pages_in_chromium,
    a_letter_year_through_the_new_pages_in_chromium,
    the_api_day_in_the_life_entirely_through_the_pages_in_chromium,
);

async fn a_day_in_the_life_through_the_pages_in_chromium(kind: BackendKind) {
    let camera = Camera::for_run(kind);
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

    open(&client, &app, "/login").await;
    check_accessibility(&client, "sign-in").await;
    camera.shoot(&client, "login").await;

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
    open(&client, &app, &format!("/assignments/{fhi}")).await;
    let source = client.source().await.unwrap();
    assert!(!source.contains("antibiotikaresistens"));
    assert!(!exists(&client, "form.action").await);

    // It reports yellow through the form: first without the required cause, then with.
    open(&client, &app, &assignment).await;
    assert!(!exists(&client, "#form-accept_delivery").await);
    assert!(!exists(&client, "a[href^='/audit/']").await);
    fill(
        &client,
        "#form-report_status",
        &[
            ("traffic_light", "yellow"),
            (
                "progress",
                "Venter på data fra de regionale helseforetakene.",
            ),
        ],
    )
    .await;
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
    camera.shoot(&client, "assignment-validation-error").await;
    fill(
        &client,
        "#form-report_status",
        &[
            (
                "cause_and_consequence",
                "Dataene kommer tre uker senere enn planlagt.",
            ),
            (
                "corrective_action",
                "Foreløpig analyse på eksisterende data; purring sendt.",
            ),
        ],
    )
    .await;
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
    camera.shoot(&client, "assignment-agency").await;
    // The history of an assignment outside its scope is not found either (the audit view
    // of its own is allowed, as through the API, but only auditors are offered the link).
    open(&client, &app, &format!("/audit/assignments/{fhi}")).await;
    let source = client.source().await.unwrap();
    assert!(!source.contains("antibiotikaresistens"));
    assert!(!source.contains("<table"), "{source}");
    open(&client, &app, "/").await;
    camera.shoot(&client, "board-agency").await;
    sign_out(&client).await;

    // The ministry accepts the delivery; the board shows the yellow report.
    sign_in(&client, &app, "hod").await;
    let source = client.source().await.unwrap();
    assert!(source.contains("badge yellow"));
    assert!(source.contains("<strong>Hanne Olsen</strong> (departement, HOD)"));
    camera.shoot(&client, "board-ministry").await;
    open(&client, &app, &assignment).await;
    assert!(!exists(&client, "#form-report_status").await);
    check_accessibility(&client, "assignment awaiting review (ministry)").await;
    client
        .execute(
            "document.getElementById('form-accept_delivery').scrollIntoView()",
            vec![],
        )
        .await
        .unwrap();
    camera.shoot(&client, "assignment-ministry-review").await;
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
    open(&client, &app, "/?overdue=true&lang=en").await;
    // FHI's part is past its deadline; DMP's first was delivered and accepted, its second is
    // not due until 2099.
    let source = client.source().await.unwrap();
    assert!(source.contains("antibiotikaresistens"), "{source}");
    assert!(!source.contains("apotekreguleringen"));
    check_accessibility(&client, "board, overdue, in English").await;
    camera.shoot(&client, "board-ministry-overdue-en").await;
    open(&client, &app, "/?lang=nb").await;
    sign_out(&client).await;

    // The auditor reads; it has no forms, and follows the assignment's audit link to the
    // decision trail: as of today everything, as of a day before the assignment nothing.
    sign_in(&client, &app, "rr").await;
    open(&client, &app, &assignment).await;
    assert!(!exists(&client, "form.action").await);
    click(&client, &format!("a[href='/audit{assignment}']")).await;
    wait_for_path(&client, &format!("/audit{assignment}")).await;
    let source = client.source().await.unwrap();
    for kind in ["status_reported", "delivered", "delivery_accepted"] {
        assert!(source.contains(kind), "{kind}: {source}");
    }
    check_accessibility(&client, "audit").await;
    camera.shoot(&client, "audit").await;
    let before = (chrono::Utc::now() - chrono::Duration::days(2)).format("%Y-%m-%d");
    open(&client, &app, &format!("/audit{assignment}?as_of={before}")).await;
    let source = client.source().await.unwrap();
    assert!(source.contains("fantes ikke ennå"), "{source}");
    assert!(!source.contains("status_reported"));

    client.close().await.unwrap();
    app.stop().await;
}

// ---- the letter year: letters, supplements, import, deviations, calendar, audit, reports ----

/// On a draft supplement's page, adds the new assignment TB2024-20 through its form and
/// returns the page once it lists the change.
async fn add_the_lab_fee_assignment(client: &Client) -> String {
    fill(
        client,
        "#form-add_assignment",
        &[
            ("reference", "TB2024-20"),
            ("title", "Gebyr for laboratorietjenester"),
            (
                "description",
                "Vurdere om det bør innføres gebyrer for tjenester på laboratorieområdet.",
            ),
            ("department", "SHA"),
            ("deadline", "2024-05-07"),
        ],
    )
    .await;
    click(client, "#form-add_assignment button[type=submit]").await;
    wait_for_text(client, "Nytt oppdrag").await
}

/// Waits until the page shown contains `text` (a form has been answered), up to 10 s.
async fn wait_for_text(client: &Client, text: &str) -> String {
    for _ in 0..100 {
        let source = client.source().await.unwrap();
        if source.contains(text) {
            return source;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "the page never showed {text:?}: {}",
        client.source().await.unwrap()
    );
}

/// Waits until the browser shows a path under `prefix`, and returns it.
async fn wait_for_path_under(client: &Client, prefix: &str) -> String {
    for _ in 0..100 {
        let path = client.current_url().await.unwrap().path().to_owned();
        if path.starts_with(prefix) {
            return path;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the browser never reached {prefix}…");
}

/// The forms in the page's content that change something (the header's sign-out aside).
async fn writing_forms(client: &Client) -> usize {
    client
        .find_all(Locator::Css("main form[method=post]"))
        .await
        .unwrap()
        .len()
}

/// The text of the table row that mentions `text`.
async fn row_with(client: &Client, text: &str) -> String {
    client
        .execute(
            "const row = [...document.querySelectorAll('tbody tr')]
                 .find(tr => tr.textContent.includes(arguments[0]));
             return row ? row.textContent.replace(/\\s+/g, ' ') : '';",
            vec![json!(text)],
        )
        .await
        .unwrap()
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn scroll_to(client: &Client, css: &str) {
    client
        .execute(
            "document.querySelector(arguments[0]).scrollIntoView()",
            vec![json!(css)],
        )
        .await
        .unwrap();
}

async fn value_of(client: &Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default()
}

/// A Chrome DevTools command, through chromedriver's passthrough (`goog/cdp/execute`).
#[derive(Debug)]
struct Cdp(serde_json::Value);

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.0.to_string()))
    }
}

/// Renders the page as for print (`""`: as for the screen again).
async fn emulate_media(client: &Client, media: &str) {
    client
        .issue_cmd(Cdp(json!({ "cmd": "Emulation.setEmulatedMedia",
                               "params": { "media": media } })))
        .await
        .expect("chromedriver's CDP passthrough");
}

/// What of the site's frame a printed page still shows: the header's navigation, the page
/// links, forms and download links are for the screen.
async fn frame_in_print(client: &Client) -> Vec<String> {
    emulate_media(client, "print").await;
    let shown = client
        .execute(
            "return [...document.querySelectorAll('header.site nav, nav.pages, form, p.downloads')]
                 .filter(e => getComputedStyle(e).display !== 'none')
                 .map(e => e.tagName.toLowerCase() + '.' + e.className);",
            vec![],
        )
        .await
        .unwrap();
    emulate_media(client, "").await;
    serde_json::from_value(shown).unwrap()
}

/// The real 2024 letter to DMP, with its supplement no. 1 after it.
fn seed_letter() -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/seeds/tildelingsbrev-2024-dmp.txt"),
    )
    .expect("the seed letter")
}

/// Imports `text` as HOD's draft letter to `agency` and issues it; returns the letter id.
async fn import_and_issue(app: &TestApp, text: &str, agency: &str) -> String {
    let hod = app.token("ministry", "HOD");
    let body = app
        .gql(
            &hod,
            r#"mutation($text: String!, $agency: String!) { importLetterText(text: $text, ministry: "HOD",
                agency: $agency, year: 2024, apply: true) { applied } }"#,
            json!({ "text": text, "agency": agency }),
        )
        .await;
    let id = data(&body, "importLetterText.applied.letter_id")
        .as_str()
        .unwrap()
        .to_owned();
    let body = app
        .gql(
            &hod,
            r#"mutation($id: ID!) { issueLetter(letterId: $id, issuedOn: "2024-02-05") { letter { issuedOn } } }"#,
            json!({ "id": id }),
        )
        .await;
    data(&body, "issueLetter.letter.issuedOn");
    id
}

async fn schedule(app: &TestApp, agency: &str, date: &str, kind: &str, title: &str) {
    let body = app
        .gql(
            &app.token("ministry", "HOD"),
            r#"mutation($agency: String!, $date: Date!, $kind: CalendarKind!, $title: String!) {
                scheduleCalendarItem(input: { ministry: "HOD", agency: $agency, date: $date, kind: $kind,
                title: $title, responsible: MINISTRY }) { position } }"#,
            json!({ "agency": agency, "date": date, "kind": kind, "title": title }),
        )
        .await;
    data(&body, "scheduleCalendarItem.position");
}

/// The letter's budget line `chapter`/`post` as it stands now.
async fn current_budget(app: &TestApp, letter: &str, chapter: &str, post: &str) -> i64 {
    let body = app
        .gql(
            &app.token("ministry", "HOD"),
            "query($id: ID!) { letter(id: $id) { budget { chapter post current } } }",
            json!({ "id": letter }),
        )
        .await;
    data(&body, "letter.budget")
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["chapter"] == chapter && b["post"] == post)
        .unwrap_or_else(|| panic!("{chapter}/{post} in {body}"))["current"]
        .as_i64()
        .unwrap()
}

/// Thousands separated by a no-break space, as the letter page prints them (and the browser
/// serialises the page: `&nbsp;`).
fn nok(n: i64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push_str("&nbsp;");
        }
        out.push(c);
    }
    out
}

/// A day safely after now in any time zone: "as of" it means "everything recorded so far".
fn after_today() -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(2))
        .format("%Y-%m-%d")
        .to_string()
}

async fn a_letter_year_through_the_new_pages_in_chromium(kind: BackendKind) {
    let camera = Camera::for_run(kind);
    let app = spawn_app_with(kind, &[("STYR_DEV", "true")]).await;
    let hod = app.token("ministry", "HOD");
    let dmp = app.token("agency", "DMP");
    // The real 2024 letter to DMP, imported and issued without its supplement no. 1: that is
    // drafted through the pages. FHI gets a letter, a meeting and a deviation of its own, which
    // DMP must not see.
    let seed = seed_letter();
    let cut = seed
        .find("Tillegg nr. 1 til tildelingsbrev")
        .expect("the seed's supplement");
    let letter = import_and_issue(&app, &seed[..cut], "DMP").await;
    let fhi_letter = import_and_issue(
        &app,
        &seed[..cut].replace(
            "Direktoratet for medisinske produkter",
            "Folkehelseinstituttet",
        ),
        "FHI",
    )
    .await;
    let body = app
        .gql(
            &hod,
            "query($id: ID!) { letter(id: $id) { title assignments { assignmentId } } }",
            json!({ "id": letter }),
        )
        .await;
    let title = data(&body, "letter.title").as_str().unwrap().to_owned();
    let assignments: Vec<String> = data(&body, "letter.assignments")
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["assignmentId"].as_str().unwrap().to_owned())
        .collect();
    assert!(assignments.len() > 2, "{body}");
    // Two tertial reports, so the reports have something in them.
    for (assignment, light, extra) in [
        (&assignments[0], "GREEN", ""),
        (
            &assignments[1],
            "YELLOW",
            r#", causeAndConsequence: "Avhengig av leverandør", correctiveAction: "Tett oppfølging""#,
        ),
    ] {
        let mutation = format!(
            r#"mutation($id: ID!) {{ reportStatus(id: $id, input: {{ period: {{ kind: TERTIAL_2 }},
                trafficLight: {light}, progress: "Arbeidet går etter planen",
                yearEndPhrase: "Arbeidet pågår."{extra} }}) {{ assignment {{ id }} }} }}"#
        );
        let body = app.gql(&dmp, &mutation, json!({ "id": assignment })).await;
        data(&body, "reportStatus.assignment.id");
    }
    schedule(
        &app,
        "DMP",
        "2024-04-11",
        "STEERING_MEETING",
        "Etatsstyringsmøte med DMP",
    )
    .await;
    schedule(
        &app,
        "FHI",
        "2024-04-18",
        "STEERING_MEETING",
        "Etatsstyringsmøte med FHI",
    )
    .await;
    let fhi = app.token("agency", "FHI");
    let body = app
        .gql(
            &fhi,
            r#"mutation { draftDeviationReport(input: { ministry: "HOD", agency: "FHI", kind: GOAL, goal: "1.1",
                category: GOAL_ACHIEVEMENT, explanation: "Forsinket overvåkingsrapport hos FHI",
                discoveredOn: "2024-05-02" }) { report { id } } }"#,
            json!({}),
        )
        .await;
    let id = data(&body, "draftDeviationReport.report.id").clone();
    let body = app
        .gql(
            &fhi,
            "mutation($id: ID!) { submitDeviationReport(id: $id) { position } }",
            json!({ "id": id }),
        )
        .await;
    data(&body, "submitDeviationReport.position");
    // The instant between the issued letter and its supplement, for the auditor's diff.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let between = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    tokio::time::sleep(Duration::from_millis(20)).await;
    let tomorrow = after_today();
    let (_driver, client) = browser().await;
    let letter_path = format!("/letters/{letter}");

    // ---- the ministry drafts supplement no. 1 from the letter, previews the import, issues it.
    sign_in(&client, &app, "hod").await;
    click(&client, "nav.pages a[href='/letters']").await;
    wait_for_path(&client, "/letters").await;
    check_accessibility(&client, "letters (ministry)").await;
    let source = client.source().await.unwrap();
    assert!(source.contains("Folkehelseinstituttet"), "{source}");
    click(&client, &format!("main a[href='{letter_path}']")).await;
    wait_for_path(&client, &letter_path).await;
    check_accessibility(&client, "letter (ministry)").await;
    let original = current_budget(&app, &letter, "746", "01").await;
    let source = client.source().await.unwrap();
    assert!(source.contains(&title));
    assert!(source.contains("746/01"), "{source}");
    assert!(source.contains(&nok(original)), "{source}");
    assert!(source.contains("Rapportering per andre tertial"));
    assert!(
        source.contains("Ingen supplerende tildelingsbrev."),
        "{source}"
    );
    camera.shoot(&client, "letter").await;

    // The supplement is drafted with the keyboard alone: Tab to the title, type, Enter.
    tab_to(&client, "draft_supplement-title").await;
    press(&client, "Tillegg nr. 1 til tildelingsbrev for 2024").await;
    press(&client, &Key::Enter.to_string()).await;
    let supplement = wait_for_path_under(&client, "/supplements/").await;
    let source = wait_for_text(&client, "form-add_budget").await;
    assert!(source.contains("Tillegg nr. 1 til tildelingsbrev for 2024"));
    assert!(source.contains("Ingen endringer."), "{source}");
    check_accessibility(&client, "supplement draft").await;
    fill(
        &client,
        "#form-add_budget",
        &[
            ("chapter", "746"),
            ("post", "1"),
            ("stated_total", "1289"),
            ("reason", "Overført bevilgning fra 2023"),
        ],
    )
    .await;
    click(&client, "#form-add_budget button[type=submit]").await;
    wait_for_text(&client, "Budsjettendring").await;
    let source = add_the_lab_fee_assignment(&client).await;
    assert!(source.contains("Budsjettendring"));
    assert!(!source.contains(r#"class="errors""#), "{source}");
    client
        .execute("window.scrollTo(0, 0)", vec![])
        .await
        .unwrap();
    camera.shoot(&client, "supplement-draft").await;

    // The import preview, from the letter's link: the letter and its supplement pasted, what
    // was recognised and the warnings shown, nothing written.
    open(&client, &app, &letter_path).await;
    click(&client, &format!("a[href='/import?letter={letter}']")).await;
    wait_for_path(&client, "/import").await;
    assert_eq!(value_of(&client, "#import-agency").await, "DMP");
    assert_eq!(value_of(&client, "#import-year").await, "2024");
    check_accessibility(&client, "import").await;
    let body = app
        .gql(
            &hod,
            r#"mutation($text: String!) { importLetterText(text: $text, ministry: "HOD", agency: "DMP", year: 2024) { preview } }"#,
            json!({ "text": seed }),
        )
        .await;
    let warnings = data(&body, "importLetterText.preview.warnings")
        .as_array()
        .unwrap()
        .clone();
    let before = log_position(&app).await;
    fill(&client, "#form-import", &[("text", seed.as_str())]).await;
    click(&client, "#form-import button[value=preview]").await;
    let source = wait_for_text(&client, r#"id="preview""#).await;
    assert!(source.contains("Tillegg nr. 1"), "{source}");
    assert!(source.contains("Oppdrag (19)"), "{source}");
    assert!(
        source.contains(&format!("Advarsler ({})", warnings.len())),
        "{source}"
    );
    let shown = client
        .find_all(Locator::Css("ul.warnings li"))
        .await
        .unwrap()
        .len();
    assert_eq!(shown, warnings.len());
    assert!(exists(&client, "#form-import button[value=apply]").await);
    assert_eq!(log_position(&app).await, before, "a preview writes nothing");
    check_accessibility(&client, "import preview").await;
    scroll_to(&client, "#preview").await;
    camera.shoot(&client, "import-preview").await;

    // Issued, the supplement is in the letter and its adjustment in the budget.
    open(&client, &app, &supplement).await;
    fill(&client, "#form-issue", &[("issued_on", "2024-03-20")]).await;
    click(&client, "#form-issue button[type=submit]").await;
    let source = wait_for_text(&client, "20. mars 2024").await;
    assert!(
        !source.contains("form-add_budget"),
        "an issued supplement has no forms"
    );
    assert_eq!(writing_forms(&client).await, 0);
    check_accessibility(&client, "supplement issued").await;
    assert_eq!(
        current_budget(&app, &letter, "746", "01").await,
        original + 1289
    );
    open(&client, &app, &letter_path).await;
    let source = client.source().await.unwrap();
    assert!(source.contains(&nok(original + 1289)), "{source}");
    assert!(source.contains("Tillegg nr. 1 til tildelingsbrev for 2024"));
    assert!(
        source.contains("Gebyr for laboratorietjenester"),
        "{source}"
    );
    sign_out(&client).await;

    // ---- the agency: not another agency's letter, not the audit pages; a deviation reported.
    sign_in(&client, &app, "dmp").await;
    assert!(!exists(&client, "a[href='/audit']").await);
    assert!(!exists(&client, "a[href='/import']").await);
    open(&client, &app, "/letters").await;
    let source = client.source().await.unwrap();
    assert!(source.contains(&letter_path));
    assert!(!source.contains("Folkehelseinstituttet"), "{source}");
    open(&client, &app, &format!("/letters/{fhi_letter}")).await;
    let source = client.source().await.unwrap();
    assert!(source.contains("Fant ikke siden"), "{source}");
    assert!(!source.contains("Folkehelseinstituttet"));
    check_accessibility(&client, "another agency's letter").await;
    for path in ["/audit".to_owned(), format!("/audit/letters/{letter}")] {
        open(&client, &app, &path).await;
        let source = client.source().await.unwrap();
        assert!(source.contains("Ikke tillatt"), "{path}: {source}");
        assert!(!source.contains("Kjeden"), "{path}");
        assert!(!source.contains("LetterIssued"), "{path}");
        check_accessibility(&client, &format!("{path} (agency)")).await;
    }
    click(&client, "nav.pages a[href='/deviations']").await;
    wait_for_path(&client, "/deviations").await;
    assert!(
        !client
            .source()
            .await
            .unwrap()
            .contains("overvåkingsrapport hos FHI")
    );
    check_accessibility(&client, "deviations (agency)").await;
    // A significant security incident discovered in January, first without the explanation.
    // No reference data is registered here, so the ministry is not filled in for it.
    fill(
        &client,
        "#form-deviation",
        &[
            ("ministry", "HOD"),
            ("goal", "2.3"),
            ("category", "SECURITY_INCIDENT"),
            ("discovered_on", "2024-01-10"),
        ],
    )
    .await;
    click(&client, "#deviation-significant").await;
    let before = log_position(&app).await;
    click(&client, "#form-deviation button[type=submit]").await;
    wait_for_text(&client, "deviation-explanation-error").await;
    let explanation = client
        .find(Locator::Css("#deviation-explanation"))
        .await
        .unwrap();
    assert_eq!(
        explanation
            .attr("aria-describedby")
            .await
            .unwrap()
            .as_deref(),
        Some("deviation-explanation-error")
    );
    assert_eq!(
        explanation.attr("aria-invalid").await.unwrap().as_deref(),
        Some("true")
    );
    let error = client
        .find(Locator::Css("#deviation-explanation-error"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(error, "Må fylles ut.");
    assert_eq!(
        client
            .find_all(Locator::Css("#form-deviation .error[id]"))
            .await
            .unwrap()
            .len(),
        1,
        "only the explanation is wrong"
    );
    // What was entered is kept, and nothing was written.
    assert_eq!(value_of(&client, "#deviation-ministry").await, "HOD");
    assert_eq!(value_of(&client, "#deviation-goal").await, "2.3");
    assert_eq!(
        value_of(&client, "#deviation-category").await,
        "SECURITY_INCIDENT"
    );
    assert!(exists(&client, "#deviation-significant:checked").await);
    assert_eq!(log_position(&app).await, before);
    check_accessibility(&client, "deviation refused").await;
    fill(
        &client,
        "#form-deviation",
        &[(
            "explanation",
            "Alvorlig hendelse i leveransekjeden for legemidler",
        )],
    )
    .await;
    click(&client, "#form-deviation button[type=submit]").await;
    wait_for_text(&client, "<td>Alvorlig hendelse i leveransekjeden").await;
    let row = row_with(&client, "Alvorlig hendelse i leveransekjeden").await;
    assert!(row.contains("Vesentlig"), "{row}");
    assert!(row.contains("10. januar 2024"), "{row}");
    assert!(!exists(&client, ".errors").await);
    assert!(log_position(&app).await > before);
    camera.shoot(&client, "deviations").await;
    let body = app
        .gql(
            &dmp,
            "{ deviationReports { explanation lagDays reportedLate } }",
            json!({}),
        )
        .await;
    let report = data(&body, "deviationReports")
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["explanation"] == "Alvorlig hendelse i leveransekjeden for legemidler")
        .cloned()
        .unwrap();
    assert_eq!(report["reportedLate"], true, "discovered long ago");
    let lag = report["lagDays"].as_i64().unwrap();

    // The calendar: the agency's meetings and its letter's calendar, as a list and a month.
    click(&client, "nav.pages a[href='/calendar']").await;
    wait_for_path(&client, "/calendar").await;
    let source = client.source().await.unwrap();
    assert!(source.contains("Etatsstyringsmøte med DMP"), "{source}");
    assert!(source.contains("Rapportering per andre tertial"));
    assert!(!source.contains("Etatsstyringsmøte med FHI"));
    assert!(exists(&client, "a[href='/calendar.ics']").await);
    check_accessibility(&client, "calendar list").await;
    fill(&client, "form.filters", &[("month", "2024-04")]).await;
    click(&client, "form.filters button[type=submit]").await;
    let source = wait_for_text(&client, "Styringskalender – april 2024").await;
    assert!(source.contains("Etatsstyringsmøte med DMP"), "{source}");
    assert!(
        source.contains("Rapportering per første kvartal"),
        "{source}"
    );
    assert!(!source.contains("Rapportering per andre tertial"));
    assert!(exists(&client, "table.month").await);
    assert!(exists(&client, "a[href='/calendar.ics']").await);
    check_accessibility(&client, "calendar month").await;
    camera.shoot(&client, "calendar-month").await;
    click(&client, "a[rel=next]").await;
    let source = wait_for_text(&client, "Styringskalender – mai 2024").await;
    assert!(!source.contains("Etatsstyringsmøte med DMP"));

    // The reports print: the stylesheet is linked and has print rules that hide the frame.
    // The appendix shows the year-end phrases reported, the tertial report the progress.
    for (link, heading, reported, name) in [
        (
            "appendix",
            "Vedlegg: Oversikt over særskilte oppdrag 2024",
            "Arbeidet pågår.",
            "year-end-appendix",
        ),
        (
            "tertial",
            "Tertialrapport – 2. tertial 2024",
            "Arbeidet går etter planen",
            "tertial-report",
        ),
    ] {
        open(&client, &app, &letter_path).await;
        click(&client, &format!("a[href='{letter_path}/{link}']")).await;
        wait_for_path(&client, &format!("{letter_path}/{link}")).await;
        let h1 = client
            .find(Locator::Css("h1"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(h1, heading);
        let source = client.source().await.unwrap();
        assert!(source.contains(reported), "{name}: {source}");
        assert!(source.contains("TB2024-"), "{name}");
        assert!(exists(&client, "a[href$='download=1']").await, "{name}");
        assert!(exists(&client, "link[rel=stylesheet][href='/static/styr.css']").await);
        // On screen the frame is there; printed, only the report.
        assert!(
            client
                .find(Locator::Css("nav.pages"))
                .await
                .unwrap()
                .is_displayed()
                .await
                .unwrap()
        );
        assert_eq!(
            frame_in_print(&client).await,
            Vec::<String>::new(),
            "{name}"
        );
        assert!(
            client
                .find(Locator::Css("table.report"))
                .await
                .unwrap()
                .is_displayed()
                .await
                .unwrap()
        );
        check_accessibility(&client, name).await;
        camera.shoot(&client, name).await;
    }
    // Two of the letter's assignments were reported on for the second tertial.
    let rows = client
        .find_all(Locator::Css("table.report tbody tr"))
        .await
        .unwrap()
        .len();
    assert!(rows > 2);
    let source = client.source().await.unwrap();
    assert!(
        source.contains(&format!(
            "Ikke rapportert: <strong>{}</strong> / {rows}",
            rows - 2
        )),
        "{source}"
    );
    sign_out(&client).await;

    // ---- the ministry sees the deviation flagged with its lag, and FHI's too.
    sign_in(&client, &app, "hod").await;
    open(&client, &app, "/deviations").await;
    let row = row_with(&client, "Alvorlig hendelse i leveransekjeden").await;
    assert!(row.contains("Vesentlig"), "{row}");
    assert!(row.contains(&format!("{lag} dager")), "{row}");
    assert!(row.contains("Meldt for sent"), "{row}");
    assert!(row.contains("DMP → HOD"), "{row}");
    assert!(
        !row_with(&client, "overvåkingsrapport hos FHI")
            .await
            .is_empty()
    );
    assert!(
        !exists(&client, "#form-deviation").await,
        "the agency reports"
    );
    check_accessibility(&client, "deviations (ministry)").await;
    camera.shoot(&client, "deviations-ministry").await;
    sign_out(&client).await;

    // ---- the auditor: the audit overview, the letter as of a date and between two; no forms
    // that write anywhere.
    sign_in(&client, &app, "rr").await;
    for path in [
        letter_path.clone(),
        supplement.clone(),
        "/deviations".to_owned(),
        "/calendar".to_owned(),
        format!("{letter_path}/appendix"),
    ] {
        open(&client, &app, &path).await;
        assert_eq!(writing_forms(&client).await, 0, "{path}");
        check_accessibility(&client, &format!("{path} (auditor)")).await;
    }
    click(&client, "nav.pages a[href='/audit']").await;
    wait_for_path(&client, "/audit").await;
    assert_eq!(writing_forms(&client).await, 0);
    check_accessibility(&client, "audit overview").await;
    assert!(!client.source().await.unwrap().contains("Kjeden er hel"));
    // The completeness report of copies to Riksrevisjonen, for the whole period.
    fill(
        &client,
        "#copies ~ form",
        &[("from", "2000-01-01"), ("to", tomorrow.as_str())],
    )
    .await;
    click(&client, "#copies ~ form button[type=submit]").await;
    for _ in 0..100 {
        if client.current_url().await.unwrap().query()
            == Some(&format!("from=2000-01-01&to={tomorrow}"))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let body = app
        .gql(
            &app.token("auditor", "RR"),
            r#"query($to: Date!) { copyCompleteness(from: "2000-01-01", to: $to) }"#,
            json!({ "to": tomorrow }),
        )
        .await;
    let report = data(&body, "copyCompleteness");
    let items = report["rows"].as_array().unwrap().len();
    assert!(items > 0, "the letters and the supplement are owed copies");
    let source = client.source().await.unwrap();
    assert!(
        source.contains(&format!("Korrespondanse: <strong>{items}</strong>")),
        "{source}"
    );
    let missing = format!(
        "Mangler: <strong>{}</strong>",
        report["missing"].as_array().unwrap().len()
    );
    assert!(source.contains(&missing), "{source}");
    // The chain, verified on request (for the period chosen: the form keeps it).
    click(&client, "#chain ~ form button[type=submit]").await;
    let source = wait_for_text(&client, "Kjeden er hel").await;
    let position = log_position(&app).await;
    assert!(
        source.contains(&format!("til posisjon {position}")),
        "{source}"
    );
    assert!(
        source.contains(&format!("Korrespondanse: <strong>{items}</strong>")),
        "{source}"
    );
    camera.shoot(&client, "audit-overview").await;

    // The letter as of a day before it existed, then as of today.
    click(&client, &format!("a[href='/audit/letters/{letter}']")).await;
    wait_for_path(&client, &format!("/audit/letters/{letter}")).await;
    check_accessibility(&client, "audit letter").await;
    let as_of = |date: String| {
        let client = client.clone();
        async move {
            fill(
                &client,
                "form.filters:has(#as_of)",
                &[("as_of", date.as_str())],
            )
            .await;
            click(&client, "form.filters:has(#as_of) button[type=submit]").await;
            for _ in 0..100 {
                let url = client.current_url().await.unwrap();
                if url
                    .query()
                    .is_some_and(|q| q.contains(&format!("as_of={date}")))
                {
                    return client.source().await.unwrap();
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            panic!("as of {date} never shown");
        }
    };
    let source = as_of("2024-01-01".to_owned()).await;
    assert!(source.contains("Brevet fantes ikke ennå"), "{source}");
    let source = as_of(tomorrow.clone()).await;
    assert!(!source.contains("Brevet fantes ikke ennå"), "{source}");
    assert!(source.contains("<code>LetterIssued</code>"), "{source}");
    // The difference between the issued letter and now, asked for with the keyboard alone.
    tab_to(&client, "from").await;
    press(&client, &between).await;
    press(&client, &Key::Tab.to_string()).await;
    assert_eq!(focused_id(&client).await, "to");
    press(&client, &tomorrow).await;
    press(&client, &Key::Enter.to_string()).await;
    let source = wait_for_text(&client, "<code>/details/supplements/0</code>").await;
    assert!(!source.contains("<code>/details/title</code>"), "{source}");
    assert_eq!(writing_forms(&client).await, 0);
    check_accessibility(&client, "letter diff").await;
    scroll_to(&client, "#from").await;
    camera.shoot(&client, "letter-diff").await;

    client.close().await.unwrap();
    app.stop().await;
}

// ---- the GraphQL issue's day in the life, every step through the pages ----

/// What GraphQL says of the tobacco assignment's part a, for waiting on a submitted form.
async fn part_a(app: &TestApp, id: &str) -> serde_json::Value {
    let body = app
        .gql(
            &app.token("ministry", "HOD"),
            "query($id: ID!) { assignment(id: $id) { pendingExtension { id } parts { label deadline delivery } } }",
            json!({ "id": id }),
        )
        .await;
    let a = data(&body, "assignment");
    let mut part = a["parts"][0].clone();
    part["pending"] = json!(!a["pendingExtension"].is_null());
    part
}

/// One role's turn on the assignment page: `who` signs in, opens assignment `id` (which shows
/// `sees`, if given), fills `#form-{action}` with `fields`, submits it, waits until `done`
/// holds of part a, and signs out.
#[allow(clippy::too_many_arguments)]
async fn step(
    client: &Client,
    app: &TestApp,
    who: &str,
    id: &str,
    action: &str,
    fields: &[(&str, &str)],
    sees: &str,
    done: impl Fn(&serde_json::Value) -> bool,
) {
    sign_in(client, app, who).await;
    open(client, app, &format!("/assignments/{id}")).await;
    if !sees.is_empty() {
        let source = client.source().await.unwrap();
        assert!(source.contains(sees), "{who} sees {sees:?}: {source}");
    }
    if !fields.is_empty() {
        fill(client, &format!("#form-{action}"), fields).await;
    }
    submit_and_wait(client, app, id, action, done).await;
    sign_out(client).await;
}

/// Submits the form `#form-{action}` and waits until `done` holds of part a (the form was
/// answered and the log has it), then for the assignment page again.
async fn submit_and_wait(
    client: &Client,
    app: &TestApp,
    id: &str,
    action: &str,
    done: impl Fn(&serde_json::Value) -> bool,
) {
    scroll_to(client, &format!("#form-{action}")).await;
    click(client, &format!("#form-{action} button[type=submit]")).await;
    let mut part = json!(null);
    for _ in 0..100 {
        part = part_a(app, id).await;
        if done(&part) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(done(&part), "{action}: part a is {part}");
    wait_for_path(client, &format!("/assignments/{id}")).await;
    assert!(!exists(client, ".errors").await, "{action}");
}

/// The day in the life the GraphQL issue tests over its API, here done by hand through the
/// pages as each role would: the ministry imports the letter's text (previewed first), issues
/// the draft with its goals, budget and assignments, and issues a supplement that adds an
/// assignment and moves money between two budget posts; the agency reports yellow with a
/// corrective action and asks for more time for part a; the ministry grants it; the agency
/// delivers part a (late: its first deadline has passed), the ministry returns it with a
/// reason, the agency delivers again and the ministry accepts; the board and the year-end
/// appendix show the result, and the auditor finds each step in the decision trail.
async fn the_api_day_in_the_life_entirely_through_the_pages_in_chromium(kind: BackendKind) {
    let app = spawn_app_with(kind, &[("STYR_DEV", "true")]).await;
    let hod = app.token("ministry", "HOD");
    let seed = seed_letter();
    let cut = seed
        .find("Tillegg nr. 1 til tildelingsbrev")
        .expect("the seed's supplement");
    let (_driver, client) = browser().await;

    // ---- the ministry: the letter from its text, previewed, written as a draft, issued.
    sign_in(&client, &app, "hod").await;
    open(&client, &app, "/import").await;
    fill(
        &client,
        "#form-import",
        &[("agency", "DMP"), ("year", "2024"), ("text", &seed[..cut])],
    )
    .await;
    let empty = log_position(&app).await;
    click(&client, "#form-import button[value=preview]").await;
    wait_for_text(&client, r#"id="preview""#).await;
    assert_eq!(log_position(&app).await, empty, "a preview writes nothing");
    click(&client, "#form-import button[value=apply]").await;
    wait_for_text(&client, r#"id="applied""#).await;
    assert!(log_position(&app).await > empty);
    click(
        &client,
        "section[aria-labelledby=applied] a[href^='/letters/']",
    )
    .await;
    let letter_path = wait_for_path_under(&client, "/letters/").await;
    let letter = letter_path.trim_start_matches("/letters/").to_owned();
    let source = wait_for_text(&client, "form-issue_letter").await;
    assert!(!source.contains("form-draft_supplement"), "a draft first");
    fill(
        &client,
        "#form-issue_letter",
        &[("issued_on", "2024-02-05")],
    )
    .await;
    click(&client, "#form-issue_letter button[type=submit]").await;
    let source = wait_for_text(&client, "form-draft_supplement").await;
    assert!(source.contains("5. februar 2024"), "{source}");
    assert!(!source.contains("form-issue_letter"));
    let body = app
        .gql(
            &hod,
            "query($id: ID!) { letter(id: $id) { issuedOn goals { id } budget { chapter post current }
                assignments { assignmentId title } } }",
            json!({ "id": letter }),
        )
        .await;
    let issued = data(&body, "letter");
    assert_eq!(issued["issuedOn"], "2024-02-05");
    assert!(!issued["goals"].as_array().unwrap().is_empty(), "{body}");
    let tobacco = issued["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["title"].as_str().unwrap().contains("tobakksstrategi"))
        .unwrap_or_else(|| panic!("the tobacco assignment in {body}"))["assignmentId"]
        .as_str()
        .unwrap()
        .to_owned();
    let post_01 = current_budget(&app, &letter, "746", "01").await;
    let post_21 = current_budget(&app, &letter, "746", "21").await;

    // The supplement: a new assignment, and 500 000 kroner moved from post 01 to post 21.
    fill(
        &client,
        "#form-draft_supplement",
        &[("title", "Tillegg nr. 1 til tildelingsbrev for 2024")],
    )
    .await;
    click(&client, "#form-draft_supplement button[type=submit]").await;
    let supplement = wait_for_path_under(&client, "/supplements/").await;
    wait_for_text(&client, "form-add_budget").await;
    // The form asks for the change (the "stated total" of the adjustment), not the new sum.
    for (post, change) in [("1", "-500"), ("21", "500")] {
        fill(
            &client,
            "#form-add_budget",
            &[
                ("chapter", "746"),
                ("post", post),
                ("stated_total", change),
                ("reason", "Omdisponering til spesielle driftsutgifter"),
            ],
        )
        .await;
        let before = log_position(&app).await;
        click(&client, "#form-add_budget button[type=submit]").await;
        for _ in 0..100 {
            if log_position(&app).await > before {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        wait_for_path(&client, &supplement).await;
    }
    let source = add_the_lab_fee_assignment(&client).await;
    let changes = client
        .execute(
            "return [...document.querySelectorAll('main ol li')]
                 .filter(li => li.textContent.includes('Budsjettendring')).length;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(changes, json!(2), "two budget changes listed: {source}");
    fill(&client, "#form-issue", &[("issued_on", "2024-03-20")]).await;
    click(&client, "#form-issue button[type=submit]").await;
    wait_for_text(&client, "20. mars 2024").await;
    assert_eq!(
        current_budget(&app, &letter, "746", "01").await,
        post_01 - 500
    );
    assert_eq!(
        current_budget(&app, &letter, "746", "21").await,
        post_21 + 500
    );
    open(&client, &app, &letter_path).await;
    let source = client.source().await.unwrap();
    assert!(source.contains(&nok(post_21 + 500)), "{source}");
    assert!(source.contains("Gebyr for laboratorietjenester"));
    // Where each listed assignment came from, in the page's language.
    assert!(source.contains("(Tillegg nr. 1)"), "{source}");
    assert!(source.contains("(Tildelingsbrevet)"), "{source}");
    sign_out(&client).await;

    // ---- the agency reports yellow with its corrective action, and asks for more time.
    let assignment = format!("/assignments/{tobacco}");
    sign_in(&client, &app, "dmp").await;
    open(&client, &app, &assignment).await;
    fill(
        &client,
        "#form-report_status",
        &[
            ("traffic_light", "yellow"),
            (
                "progress",
                "Utredningen av engangs-e-sigaretter er forsinket.",
            ),
            (
                "cause_and_consequence",
                "Innspill fra Helsedirektoratet kom sent.",
            ),
            ("corrective_action", "Ekstra ressurser satt inn i mars."),
            ("year_end_phrase", "Del a levert etter utsatt frist."),
        ],
    )
    .await;
    click(&client, "#form-report_status button[type=submit]").await;
    wait_for_path(&client, &assignment).await;
    wait_for_text(&client, "Ekstra ressurser satt inn i mars.").await;
    fill(
        &client,
        "#form-request_extension",
        &[
            ("part", "a"),
            ("new_date", "2024-04-15"),
            ("reason", "Høringsinnspill må innarbeides"),
        ],
    )
    .await;
    submit_and_wait(&client, &app, &tobacco, "request_extension", |p| {
        p["pending"] == true
    })
    .await;
    assert!(
        !exists(&client, "#form-request_extension").await,
        "one at a time"
    );
    sign_out(&client).await;

    // ---- the ministry grants it: part a is now due 15 April.
    step(
        &client,
        &app,
        "hod",
        &tobacco,
        "grant_extension",
        &[],
        "",
        |p| p["pending"] == false && p["deadline"] == "2024-04-15",
    )
    .await;

    // ---- the agency delivers part a, after even the new deadline; the ministry returns it
    // with a reason, which the agency sees, and it delivers again.
    let fields = [
        ("part", "a"),
        ("summary", "Forslag til forbud mot engangs-e-sigaretter."),
    ];
    step(
        &client,
        &app,
        "dmp",
        &tobacco,
        "deliver",
        &fields,
        "",
        |p| p["delivery"] == "awaiting_review",
    )
    .await;
    let fields = [
        ("part", "a"),
        ("reason", "Konsekvensene for næringen mangler."),
    ];
    step(
        &client,
        &app,
        "hod",
        &tobacco,
        "return_delivery",
        &fields,
        "",
        |p| p["delivery"] == "returned",
    )
    .await;
    let fields = [
        ("part", "a"),
        ("summary", "Forslaget med konsekvenser for næringen."),
        ("document_ref", "24/04321"),
    ];
    let returned_because = "Konsekvensene for næringen mangler.";
    step(
        &client,
        &app,
        "dmp",
        &tobacco,
        "deliver",
        &fields,
        returned_because,
        |p| p["delivery"] == "awaiting_review",
    )
    .await;
    let body = app
        .gql(
            &hod,
            "query($id: ID!) { assignment(id: $id) { deliveries { part late deadlineInForce } } }",
            json!({ "id": tobacco }),
        )
        .await;
    for delivery in data(&body, "assignment.deliveries").as_array().unwrap() {
        assert_eq!(delivery["late"], true, "after 15 April: {delivery}");
        assert_eq!(delivery["deadlineInForce"], "2024-04-15");
    }

    // ---- the ministry accepts; the board and the appendix show the year so far.
    step(
        &client,
        &app,
        "hod",
        &tobacco,
        "accept_delivery",
        &[],
        "",
        |p| p["delivery"] == "accepted",
    )
    .await;
    sign_in(&client, &app, "hod").await;
    let body = app
        .gql(
            &hod,
            "query($letter: ID!) { board(filter: { year: 2024 }, first: 100) { nodes { id reference trafficLight } }
                yearEndAppendix(letterId: $letter) { statusText assignment { id } } }",
            json!({ "letter": letter }),
        )
        .await;
    let row = data(&body, "board.nodes")
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == tobacco.as_str())
        .unwrap_or_else(|| panic!("on the board: {body}"));
    assert_eq!(row["trafficLight"], "YELLOW");
    // The seed's text lost the assignments' numbers ("TB2024- Oppfølging av …"), so the
    // imported assignment has no reference to look for.
    assert_eq!(row["reference"], json!(null));
    let status_text = data(&body, "yearEndAppendix")
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["assignment"]["id"] == tobacco.as_str())
        .unwrap_or_else(|| panic!("the appendix has it: {body}"))["statusText"]
        .clone();
    assert_eq!(
        status_text, "Del a levert etter utsatt frist.",
        "the form's phrase"
    );
    open(&client, &app, "/").await;
    let row = row_with(&client, "tobakksstrategi").await;
    assert!(row.contains("Gul"), "the yellow light: {row}");
    assert!(
        exists(
            &client,
            &format!("tr:has(a[href='{assignment}']) .badge.yellow")
        )
        .await,
        "{row}"
    );
    open(&client, &app, &format!("{letter_path}/appendix")).await;
    let row = row_with(&client, "tobakksstrategi").await;
    assert!(row.contains("Del a levert etter utsatt frist."), "{row}");
    let row = row_with(&client, "Gebyr for laboratorietjenester").await;
    assert!(
        row.contains("TB2024-20"),
        "the supplement's assignment: {row}"
    );
    sign_out(&client).await;

    // ---- the auditor finds every step in the decision trail, and no form to change it.
    sign_in(&client, &app, "rr").await;
    open(&client, &app, &format!("/audit{assignment}")).await;
    let source = client.source().await.unwrap();
    for kind in [
        "status_reported",
        "extension_requested",
        "extension_granted",
        "delivered",
        "delivery_returned",
        "delivery_accepted",
    ] {
        assert!(source.contains(kind), "{kind}: {source}");
    }
    assert!(source.contains("Konsekvensene for næringen mangler."));
    open(&client, &app, &supplement).await;
    assert_eq!(writing_forms(&client).await, 0);

    client.close().await.unwrap();
    app.stop().await;
}
