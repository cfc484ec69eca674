//! `styr token` as an operator uses it against a server that checks issuer and audience, and
//! against one that accepts only identity-provider tokens.

use std::process::{Command, Output, Stdio};

use serde_json::Value;

const SECRET: &str = "token-cli-test-secret-0123456789abcdef";

fn token(env: &[(&str, &str)]) -> Output {
    let dir = std::env::temp_dir().join(format!("styr-token-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_styr"))
        .current_dir(&dir)
        .env_clear()
        .env("STYR_JWT_SECRET", SECRET)
        .envs(env.iter().copied())
        .args([
            "token", "--role", "ministry", "--org", "HOD", "--dept", "SHA",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    std::fs::remove_dir_all(dir).unwrap();
    out
}

fn claims_of(out: &Output) -> Value {
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    jsonwebtoken::dangerous::insecure_decode::<Value>(text.trim())
        .expect("a JWT on stdout")
        .claims
}

#[test]
fn minted_tokens_carry_the_configured_issuer_and_audience() {
    let out = token(&[
        ("STYR_JWT_ISSUER", "https://styr.example"),
        ("STYR_JWT_AUDIENCE", "styr-api"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let claims = claims_of(&out);
    assert_eq!(claims["iss"], "https://styr.example");
    assert_eq!(claims["aud"], "styr-api");
    assert_eq!(claims["dept"], "SHA");
    assert!(out.stderr.is_empty());
    let plain = claims_of(&token(&[]));
    assert!(
        plain.get("iss").is_none() && plain.get("aud").is_none(),
        "{plain}"
    );
}

#[test]
fn minting_for_a_server_that_refuses_hs256_warns() {
    let jwks = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/jwks.json");
    let out = token(&[("STYR_JWKS", jwks)]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("does not accept HS256"), "{stderr}");
    assert_eq!(claims_of(&out)["role"], "ministry");
}
