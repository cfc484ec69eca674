//! The server over real HTTP, once on SQLite and once on PostgreSQL.

use std::time::Duration;

use serde_json::{Value, json};
use styr_eventstore::{
    Actor, EventMetadata, EventStore, ExpectedVersion, NewEvent, StoreOptions, StreamAppend,
    StreamId,
};
use styr_tests::{TestApp, on_both_backends};

on_both_backends!(
    graphql_answers_typename,
    health_and_version_are_served,
    liveness_and_readiness_probes_answer,
    every_response_carries_a_request_id,
    metrics_count_requests_and_show_the_log_position,
    bad_tokens_are_unauthenticated_and_good_ones_accepted,
    graphiql_is_served_only_in_development,
    subscriptions_push_the_log_position_over_websocket,
    malformed_graphql_gets_a_clear_error,
);

async fn graphql_answers_typename(app: TestApp) {
    let body = app.graphql("{ __typename }", None).await;
    assert_eq!(body, json!({ "data": { "__typename": "Query" } }));
}

async fn health_and_version_are_served(app: TestApp) {
    let body = app
        .graphql("{ health { status logPosition } version }", None)
        .await;
    assert_eq!(body["data"]["health"]["status"], "ok");
    assert_eq!(body["data"]["health"]["logPosition"], 0);
    assert_eq!(body["data"]["version"], env!("CARGO_PKG_VERSION"));
}

async fn liveness_and_readiness_probes_answer(app: TestApp) {
    assert_eq!(app.get("/healthz").await.0, 200);
    let (status, body) = app.get("/readyz").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("ready"));
}

async fn every_response_carries_a_request_id(app: TestApp) {
    let res = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .unwrap();
    let id = res.headers().get("x-request-id").expect("a generated id");
    assert!(uuid::Uuid::parse_str(id.to_str().unwrap()).is_ok());
    let res = app
        .client
        .get(format!("{}/healthz", app.address))
        .insert_header(("x-request-id", "caller-chosen-42"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers().get("x-request-id").unwrap(),
        "caller-chosen-42"
    );
    let res = app
        .client
        .get(format!("{}/nowhere", app.address))
        .insert_header(("x-request-id", "bad id with spaces"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 404);
    assert_ne!(
        res.headers().get("x-request-id").unwrap(),
        "bad id with spaces"
    );
}

async fn metrics_count_requests_and_show_the_log_position(app: TestApp) {
    app.graphql("{ __typename }", None).await;
    append_events(&app, 3).await;
    let (status, body) = app.get("/metrics").await;
    assert_eq!(status, 200);
    assert!(
        body.contains(r#"styr_http_requests_total{method="POST",route="/graphql",status="200"} 1"#),
        "{body}"
    );
    assert!(body.contains("styr_http_request_duration_seconds_bucket"));
    assert!(body.contains("styr_log_position 3"), "{body}");
    assert!(body.contains("styr_projector_position"), "{body}");
    // Errors are counted by their stable code.
    app.graphql("{ nosuchfield }", None).await;
    app.post_graphql(
        json!({ "query": "{ __typename }" }).to_string(),
        Some("Bearer junk"),
    )
    .await;
    let (_, body) = app.get("/metrics").await;
    assert!(
        body.contains(r#"styr_graphql_errors_total{code="VALIDATION"} 1"#),
        "{body}"
    );
    assert!(
        body.contains(r#"styr_graphql_errors_total{code="UNAUTHENTICATED"} 1"#),
        "{body}"
    );
}

async fn bad_tokens_are_unauthenticated_and_good_ones_accepted(app: TestApp) {
    let res = app
        .post_graphql(
            json!({ "query": "{ __typename }" }).to_string(),
            Some("Bearer not-a-jwt"),
        )
        .await;
    assert_eq!(res.status, 401, "{res:?}");
    assert_eq!(
        res.body["errors"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );
    assert!(res.body.get("data").is_none_or(Value::is_null));
    let token = app.token("agency", "DMP");
    let body = app.graphql("{ __typename }", Some(&token)).await;
    assert_eq!(body["data"]["__typename"], "Query", "{body}");
}

async fn graphiql_is_served_only_in_development(app: TestApp) {
    let (status, _) = app.get("/graphql").await;
    assert_eq!(status, 404, "GraphiQL is off unless STYR_DEV=true");
    let dev = styr_tests::spawn_app_with(app.db.kind(), &[("STYR_DEV", "true")]).await;
    let (status, body) = dev.get("/graphql").await;
    assert_eq!(status, 200);
    assert!(body.contains("graphiql"), "{body}");
}

async fn subscriptions_push_the_log_position_over_websocket(app: TestApp) {
    let mut sub = app.subscribe("subscription { logPosition }", None).await;
    let first = sub.next().await;
    assert_eq!(first["payload"]["data"]["logPosition"], 0, "{first}");
    // Written by another connection to the same database, as another server would.
    append_events(&app, 2).await;
    let mut seen = 0;
    while seen < 2 {
        let msg = sub.next().await;
        assert_eq!(msg["type"], "next", "{msg}");
        seen = msg["payload"]["data"]["logPosition"].as_u64().unwrap();
    }
}

async fn malformed_graphql_gets_a_clear_error(app: TestApp) {
    let body = app.graphql("{ nosuchfield }", None).await;
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("nosuchfield"), "{body}");
    let res = app
        .client
        .post(format!("{}/graphql", app.address))
        .insert_header(("content-type", "application/json"))
        .send_body("{not json")
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 400);
}

/// Appends `n` events through a second store on the same database.
async fn append_events(app: &TestApp, n: u64) {
    let store = EventStore::connect(app.db.url(), StoreOptions::default())
        .await
        .unwrap();
    let stream = StreamId::new("assignment", "HOD:DMP:2024:TB2024-1").unwrap();
    let version = store.stream_version(&stream).await.unwrap();
    let events = (0..n)
        .map(|i| NewEvent {
            event_id: uuid::Uuid::now_v7(),
            event_type: "StatusReported".into(),
            schema_version: 1,
            payload: json!({ "n": i }),
            metadata: EventMetadata {
                actor: Actor {
                    subject: "kari".into(),
                    display_name: "Kari".into(),
                    role: "agency".into(),
                    organisation: "DMP".into(),
                },
                reason: None,
                correlation_id: uuid::Uuid::now_v7(),
                causation_id: None,
                effective_at: None,
            },
        })
        .collect();
    store
        .append(vec![StreamAppend {
            stream,
            expected: ExpectedVersion(version),
            events,
        }])
        .await
        .unwrap();
    store.close().await;
}

/// The database going away and coming back, as an orchestrator's readiness probe sees it.
#[actix_web::test]
async fn readiness_follows_the_database_on_postgres() {
    use sqlx::Connection;
    let app = styr_tests::spawn_app(styr_eventstore::BackendKind::Postgres).await;
    assert_eq!(app.get("/readyz").await.0, 200);
    let name = app.db.postgres_name().unwrap().to_owned();
    let mut admin = sqlx::PgConnection::connect(&styr_eventstore::testing::admin_url())
        .await
        .unwrap();
    let run = |sql: String| sqlx::query(sqlx::AssertSqlSafe(sql));
    run(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
        .execute(&mut admin)
        .await
        .unwrap();
    run(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
    ))
    .execute(&mut admin)
    .await
    .unwrap();
    wait_for_readyz(&app, 503).await;
    assert_eq!(
        app.get("/healthz").await.0,
        200,
        "the process itself stays alive"
    );
    run(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
        .execute(&mut admin)
        .await
        .unwrap();
    wait_for_readyz(&app, 200).await;
    let body = app.graphql("{ __typename }", None).await;
    assert_eq!(body["data"]["__typename"], "Query");
}

async fn wait_for_readyz(app: &TestApp, status: u16) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (got, body) = app.get("/readyz").await;
        if got == status {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "readyz stayed {got} ({body}), expected {status}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
