//! `importLetterText` over HTTP on both backends: preview first, then apply; the same text
//! twice writes nothing new; only the letter's ministry may import; bad text is refused.

use serde_json::json;
use styr_tests::{TestApp, code, data, on_both_backends};

on_both_backends!(import_letter_text_previews_then_applies_once);

const IMPORT: &str = r#"mutation($text: String!, $apply: Boolean!) {
    importLetterText(text: $text, ministry: "HOD", agency: "DMP", year: 2024, apply: $apply) {
        preview applied } }"#;

async fn import_letter_text_previews_then_applies_once(app: TestApp) {
    let hod = app.token("ministry", "HOD");
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/seeds/tildelingsbrev-2024-dmp.txt"),
    )
    .unwrap();

    let body = app
        .gql(&hod, IMPORT, json!({ "text": text, "apply": false }))
        .await;
    let result = data(&body, "importLetterText");
    assert!(result["applied"].is_null());
    let letters = result["preview"]["letters"].as_array().unwrap();
    assert_eq!(letters[0]["assignments"].as_array().unwrap().len(), 19);
    assert_eq!(letters[0]["goals"].as_array().unwrap().len(), 3);
    let no_letter = app
        .gql(&hod, r#"{ letters(year: 2024) { id } }"#, json!({}))
        .await;
    assert!(
        data(&no_letter, "letters").as_array().unwrap().is_empty(),
        "a preview writes nothing"
    );

    let body = app
        .gql(&hod, IMPORT, json!({ "text": text, "apply": true }))
        .await;
    let applied = &data(&body, "importLetterText")["applied"];
    assert_eq!(applied["letter_id"], "HOD:DMP:2024");
    assert_eq!(applied["assignments"].as_array().unwrap().len(), 19);
    assert!(applied["commands_applied"].as_u64().unwrap() > 19);
    let body = app
        .gql(&hod, IMPORT, json!({ "text": text, "apply": true }))
        .await;
    assert_eq!(
        data(&body, "importLetterText")["applied"]["commands_applied"],
        0
    );

    let board = app
        .gql(&hod, "{ board(first: 100) { totalCount } }", json!({}))
        .await;
    assert_eq!(data(&board, "board.totalCount"), 19);
    let letter = app
        .gql(
            &hod,
            r#"{ letter(id: "HOD:DMP:2024") { goals { section } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(data(&letter, "letter.goals").as_array().unwrap().len(), 3);

    // Only the ministry of the letter; bad text is a validation error.
    let dmp = app.token("agency", "DMP");
    assert_eq!(
        code(
            &app.gql(&dmp, IMPORT, json!({ "text": text, "apply": false }))
                .await
        ),
        "FORBIDDEN"
    );
    let fin = app.token("ministry", "FIN");
    assert_eq!(
        code(
            &app.gql(&fin, IMPORT, json!({ "text": text, "apply": true }))
                .await
        ),
        "FORBIDDEN"
    );
    let body = app
        .gql(&hod, IMPORT, json!({ "text": "   ", "apply": true }))
        .await;
    assert_eq!(code(&body), "VALIDATION");
    let wrong_year = text.replace("2024", "2023");
    let body = app
        .gql(&hod, IMPORT, json!({ "text": wrong_year, "apply": true }))
        .await;
    assert_eq!(code(&body), "VALIDATION");
}
