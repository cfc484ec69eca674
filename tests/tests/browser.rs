//! The web pages in a real headless Chromium, driven over WebDriver: each role signs in through
//! the picker, the agency reports status through the form, and screenshots of the main pages
//! are saved under `docs/screenshots/`.
//!
//! Needs Debian's `chromium` and `chromium-driver`, so it is ignored by default:
//! `cargo test -p styr-tests --test browser -- --ignored`.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

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

async fn issue(app: &TestApp, reference: &str, title: &str, deadline: &str) -> String {
    let hod = app.token("ministry", "HOD");
    let body = app
        .gql(
            &hod,
            r#"mutation($input: IssueAssignmentInput!) { issueAssignment(input: $input) { assignment { id } } }"#,
            json!({ "input": {
                "reference": reference, "ministry": "HOD", "agency": "DMP", "year": 2024,
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

#[actix_web::test]
#[ignore = "needs chromium and chromedriver; run with --ignored"]
async fn each_role_uses_the_pages_in_chromium() {
    let app = spawn_app_with(BackendKind::Sqlite, &[("STYR_DEV", "true")]).await;
    let id = issue(
        &app,
        "TB2024-12",
        "Nasjonal strategi for legemiddelberedskap",
        "2024-03-01",
    )
    .await;
    issue(
        &app,
        "TB2024-13",
        "Evaluering av apotekreguleringen",
        "2099-06-15",
    )
    .await;
    let (_driver, client) = browser().await;

    client
        .goto(&format!("{}/login", app.address))
        .await
        .unwrap();
    shoot(&client, "login").await;

    // The agency reports yellow through the form: first without the required cause, then with.
    sign_in(&client, &app, "dmp").await;
    client
        .goto(&format!("{}/assignments/{id}", app.address))
        .await
        .unwrap();
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
    client
        .find(Locator::Css("#form-report_status button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&client, &format!("/assignments/{id}/report_status")).await;
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
    client
        .find(Locator::Css("#form-report_status button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&client, &format!("/assignments/{id}")).await;
    let source = client.source().await.unwrap();
    assert!(source.contains("purring sendt"), "{source}");
    assert!(!source.contains(r#"class="errors""#));
    client
        .execute("window.scrollTo(0, 0)", vec![])
        .await
        .unwrap();
    shoot(&client, "assignment-agency").await;
    client.goto(&format!("{}/", app.address)).await.unwrap();
    shoot(&client, "board-agency").await;
    sign_out(&client).await;

    sign_in(&client, &app, "hod").await;
    let source = client.source().await.unwrap();
    assert!(source.contains("badge yellow"));
    assert!(source.contains("Hanne Olsen (HOD)"));
    shoot(&client, "board-ministry").await;
    client
        .goto(&format!("{}/?overdue=true&lang=en", app.address))
        .await
        .unwrap();
    let source = client.source().await.unwrap();
    assert!(source.contains("Nasjonal strategi"));
    assert!(!source.contains("apotekreguleringen"));
    shoot(&client, "board-ministry-overdue-en").await;
    client
        .goto(&format!("{}/?lang=nb", app.address))
        .await
        .unwrap();
    sign_out(&client).await;

    sign_in(&client, &app, "rr").await;
    client
        .goto(&format!("{}/audit/assignments/{id}", app.address))
        .await
        .unwrap();
    let source = client.source().await.unwrap();
    assert!(source.contains("status_reported"), "{source}");
    shoot(&client, "audit").await;

    client.close().await.unwrap();
    app.stop().await;
}
