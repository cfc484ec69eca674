//! The HTTP server: routes, the request-id/metrics middleware, and start-up and shutdown of the
//! whole service (database, schema, listener).

mod exports;
mod site;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::dev::{Server, Service};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{App, HttpMessage, HttpRequest, HttpResponse, HttpServer, Responder, web};
use async_graphql::Executor;
use async_graphql::http::GraphiQLSource;
use async_graphql::{BatchRequest, Data, ErrorExtensionValues, ServerError};
use async_graphql_actix_web::{GraphQLResponse, GraphQLSubscription};
use futures_util::{FutureExt, StreamExt};
use styr_eventstore::{EventStore, StoreOptions};
use styr_graphql::Api;
use styr_graphql::limits::limit_error;
use styr_workflow::Workflow;
use styr_workflow::domain::Actor;
use tracing::Instrument;

use crate::auth::{AuthError, Claims, Verifier};
use crate::metrics::{Metrics, StoreMetrics};
use crate::settings::{RequestLimits, Settings};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The request's id, for spans opened below the request span (they are what JSON log lines
/// show, so they carry it too).
#[derive(Clone)]
struct RequestId(String);

/// Shared by every worker.
struct AppState {
    api: Api,
    workflow: Workflow,
    metrics: Arc<Metrics>,
    verifier: Arc<Verifier>,
    limits: RequestLimits,
    dev: bool,
    /// Mints development sign-ins for the web pages; only when `dev` is on.
    dev_keys: Option<crate::auth::TokenKeys>,
    /// Web sign-in through the identity provider, when one is configured.
    oidc: Option<Arc<crate::oidc::SignIn>>,
}

/// A built, bound server that has not started serving yet.
pub struct Application {
    port: u16,
    server: Server,
    store: EventStore,
    projector: tokio::task::JoinHandle<()>,
    deadline_monitor: tokio::task::JoinHandle<()>,
    copy_delivery: tokio::task::JoinHandle<()>,
    stop_delivery: tokio::sync::watch::Sender<bool>,
}

impl Application {
    /// Connects to the database (waiting for it up to the configured time), applies
    /// migrations, and binds the listener.
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        // Reading the keys may fetch a JWKS over the network: off the async threads.
        let for_keys = settings.clone();
        let verifier = Arc::new(
            tokio::task::spawn_blocking(move || Verifier::from_settings(&for_keys)).await??,
        );
        // Discovery fetches the provider's document and keys: off the async threads too.
        let oidc = match settings.oidc.clone() {
            Some(oidc) => Some(Arc::new(crate::oidc::SignIn {
                provider: tokio::task::spawn_blocking(move || {
                    crate::oidc::Provider::discover(&oidc)
                })
                .await??,
                sessions: crate::auth::SessionKeys::from_settings(settings)?,
            })),
            None => None,
        };
        let store = connect_with_retry(settings).await?;
        let metrics = Arc::new(Metrics::new());
        store.set_observer(Arc::new(StoreMetrics(metrics.clone())));
        let workflow =
            Workflow::new(store.clone()).with_copy_channels(settings.copy_channels.clone());
        // Bring the read models up to date before serving, then keep them current.
        workflow.projections().catch_up().await?;
        let projector = workflow.projections().clone().spawn();
        let deadline_monitor =
            spawn_deadline_monitor(workflow.clone(), settings.deadline_monitor_every);
        let (stop_delivery, stop_rx) = tokio::sync::watch::channel(false);
        let backlog_metrics = metrics.clone();
        let copy_delivery = tokio::spawn(styr_workflow::delivery::run_delivery(
            workflow.clone(),
            settings.copy_channels.clone(),
            settings.copy_delivery_every,
            move |n| backlog_metrics.set_copy_backlog(n),
            stop_rx,
        ));
        let state = web::Data::new(AppState {
            api: Api::with_limits(workflow.clone(), &settings.limits.graphql),
            workflow,
            metrics,
            verifier,
            limits: settings.limits.clone(),
            dev: settings.dev,
            dev_keys: if settings.dev {
                Some(crate::auth::TokenKeys::from_settings(settings)?)
            } else {
                None
            },
            oidc,
        });

        let listener = TcpListener::bind(settings.listen)
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.listen))?;
        let port = listener.local_addr()?.port();
        let max_body = settings.limits.max_body_bytes;
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(web::JsonConfig::default().limit(max_body))
                .app_data(web::PayloadConfig::default().limit(max_body))
                .wrap_fn(|req, srv| {
                    let state = req.app_data::<web::Data<AppState>>().cloned();
                    let request_id = incoming_request_id(req.headers())
                        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
                    let method = req.method().to_string();
                    // Matched against the route table by path, before routing runs.
                    let route = req
                        .match_pattern()
                        .unwrap_or_else(|| "unmatched".to_owned());
                    let span = tracing::info_span!(
                        "http",
                        request_id = %request_id,
                        method = %method,
                        path = %req.path(),
                        route = %route,
                        status = tracing::field::Empty,
                        otel.name = tracing::field::Empty,
                        otel.kind = tracing::field::Empty,
                        otel.status_code = tracing::field::Empty,
                    );
                    if crate::telemetry::exporting() {
                        span.record("otel.name", format!("{method} {route}"));
                        span.record("otel.kind", "server");
                        crate::telemetry::continue_trace(&span, req.headers());
                    }
                    req.extensions_mut().insert(RequestId(request_id.clone()));
                    let started = Instant::now();
                    let call = srv.call(req).instrument(span.clone());
                    async move {
                        let mut res = call.await?;
                        let status = res.status().as_u16();
                        span.record("status", status);
                        if res.status().is_server_error() && crate::telemetry::exporting() {
                            span.record("otel.status_code", "error");
                        }
                        let elapsed = started.elapsed();
                        if let Some(state) = state {
                            state
                                .metrics
                                .observe_request(&method, &route, status, elapsed);
                        }
                        if let Ok(v) = HeaderValue::from_str(&request_id) {
                            res.headers_mut().insert(REQUEST_ID, v);
                        }
                        span.in_scope(|| {
                            tracing::info!(
                                status,
                                elapsed_ms = elapsed.as_secs_f64() * 1e3,
                                "request"
                            )
                        });
                        Ok(res)
                    }
                    .boxed_local()
                })
                .route("/graphql", web::post().to(graphql))
                .route("/graphql", web::get().to(graphiql))
                .route("/graphql/ws", web::get().to(graphql_ws))
                .route("/healthz", web::get().to(healthz))
                .route("/readyz", web::get().to(readyz))
                .route("/metrics", web::get().to(metrics_endpoint))
                .route("/board.csv", web::get().to(exports::board_csv))
                .route("/board.xlsx", web::get().to(exports::board_xlsx))
                .route("/calendar.ics", web::get().to(exports::calendar_ics))
                .configure(site::routes)
        })
        .listen(listener)?
        .shutdown_timeout(settings.shutdown_timeout.as_secs())
        .run();
        Ok(Self {
            port,
            server,
            store,
            projector,
            deadline_monitor,
            copy_delivery,
            stop_delivery,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle that stops the server gracefully (as SIGTERM does).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGTERM/SIGINT (or a handle's stop): stops accepting, lets in-flight
    /// requests finish, then closes the database pool.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        // Let an attempt in progress record its outcome before the pool closes.
        let _ = self.stop_delivery.send(true);
        let mut delivery = self.copy_delivery;
        if tokio::time::timeout(Duration::from_secs(10), &mut delivery)
            .await
            .is_err()
        {
            delivery.abort();
        }
        for task in [self.projector, self.deadline_monitor] {
            task.abort();
            let _ = task.await;
        }
        self.store.close().await;
        tracing::info!("stopped");
        result
    }
}

async fn connect_with_retry(settings: &Settings) -> anyhow::Result<EventStore> {
    let options = StoreOptions {
        max_connections: settings.database_max_connections,
        ..StoreOptions::default()
    };
    let deadline = Instant::now() + settings.database_connect_timeout;
    let mut delay = Duration::from_millis(250);
    loop {
        match EventStore::connect(&settings.database_url, options.clone()).await {
            Ok(store) => return Ok(store),
            Err(e) if e.is_retryable() && Instant::now() + delay < deadline => {
                tracing::warn!(database = %settings.database_url_redacted(), error = %e, "database not reachable yet; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            Err(e) => {
                anyhow::bail!(
                    "cannot use the database {}: {e}",
                    settings.database_url_redacted()
                )
            }
        }
    }
}

/// Accepts a caller's request id if it is short and printable, so ids can be followed across
/// services; otherwise a new one is made.
fn incoming_request_id(headers: &header::HeaderMap) -> Option<String> {
    let v = headers.get(REQUEST_ID)?.to_str().ok()?;
    let ok = !v.is_empty()
        && v.len() <= 128
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c));
    ok.then(|| v.to_owned())
}

/// The one message every refused token gets: the precise reason is logged, never sent.
const BAD_TOKEN: &str = "the bearer token is not valid";

/// Who is calling: the verified claims and the actor built from them.
#[derive(Clone)]
struct Identity {
    claims: Claims,
    actor: Actor,
}

impl Identity {
    fn into_data(self, data: &mut Data) {
        data.insert(self.claims);
        data.insert(self.actor);
    }
}

/// The authenticated caller if the request carries a bearer token; `Ok(None)` without one
/// (resolvers decide what an anonymous caller may see). A header that is present but not a
/// valid bearer token is an error.
fn caller(req: &HttpRequest, verifier: &Verifier) -> Result<Option<Identity>, AuthError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| AuthError::InvalidToken("the Authorization header is not text".into()))?;
    identify(value, verifier).map(Some)
}

/// Checks `Bearer <token>` (scheme case-insensitive, as RFC 6750 allows).
fn identify(header_value: &str, verifier: &Verifier) -> Result<Identity, AuthError> {
    let (scheme, token) = header_value.trim().split_once(' ').ok_or_else(|| {
        AuthError::InvalidToken("the Authorization header is not 'Bearer <token>'".into())
    })?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::InvalidToken(format!(
            "the Authorization scheme is {scheme:?}, not Bearer"
        )));
    }
    identity_of(verifier.verify(token.trim())?)
}

/// The identity of verified claims: the one place claims become an actor, for bearer tokens
/// and web sessions alike.
fn identity_of(claims: Claims) -> Result<Identity, AuthError> {
    let actor = styr_graphql::actor_from_claims(
        &claims.sub,
        &claims.name,
        &claims.role,
        &claims.org,
        claims.dept.as_deref(),
    )
    .map_err(AuthError::InvalidToken)?;
    Ok(Identity { claims, actor })
}

/// A GraphQL error body with a code, as the HTTP layer reports refusals that never reach the
/// schema.
fn error_response(status: StatusCode, error: ServerError) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    if status == StatusCode::UNAUTHORIZED {
        response.insert_header((header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\""));
    }
    // No `data` key: the request never started executing (GraphQL over HTTP, request errors).
    response.json(serde_json::json!({ "errors": [error] }))
}

fn coded_error(code: &str, message: impl Into<String>) -> ServerError {
    let mut error = ServerError::new(message, None);
    let mut ext = ErrorExtensionValues::default();
    ext.set("code", code);
    error.extensions = Some(ext);
    error
}

fn unauthenticated(reason: &AuthError) -> HttpResponse {
    tracing::info!(reason = %reason, "bearer token refused");
    error_response(
        StatusCode::UNAUTHORIZED,
        coded_error("UNAUTHENTICATED", BAD_TOKEN),
    )
}

/// Reads the body up to the configured size; refuses a larger one with 413 before reading it
/// when its length is declared.
async fn read_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<web::Bytes, HttpResponse> {
    let too_large = || {
        error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            limit_error(
                "body",
                format!("the request body is larger than the limit of {limit} bytes"),
            ),
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            error_response(
                StatusCode::BAD_REQUEST,
                coded_error("BAD_REQUEST", format!("cannot read the request body: {e}")),
            )
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

async fn graphql(
    state: web::Data<AppState>,
    http: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let errors = |code: &str| state.metrics.observe_graphql_error(code);
    let identity = match caller(&http, &state.verifier) {
        Ok(identity) => identity,
        Err(reason) => {
            errors("UNAUTHENTICATED");
            return unauthenticated(&reason);
        }
    };
    let limits = &state.limits;
    let body = match read_body(&http, payload, limits.max_body_bytes).await {
        Ok(body) => body,
        Err(response) => {
            errors("LIMIT_EXCEEDED");
            return response;
        }
    };
    // Decided by the first character: serde would read `[]` as a single request.
    let parsed = if body.trim_ascii_start().starts_with(b"[") {
        serde_json::from_slice(&body).map(BatchRequest::Batch)
    } else {
        serde_json::from_slice(&body).map(BatchRequest::Single)
    };
    let batch = match parsed {
        Ok(batch) => batch,
        Err(e) => {
            errors("BAD_REQUEST");
            return error_response(
                StatusCode::BAD_REQUEST,
                coded_error(
                    "BAD_REQUEST",
                    format!("the body is not a GraphQL request in JSON: {e}"),
                ),
            );
        }
    };
    if let BatchRequest::Batch(requests) = &batch
        && !(1..=limits.max_batch).contains(&requests.len())
    {
        errors("LIMIT_EXCEEDED");
        return error_response(
            StatusCode::BAD_REQUEST,
            limit_error(
                "batch",
                format!(
                    "a batch holds {} operations; it must hold from 1 to {}",
                    requests.len(),
                    limits.max_batch
                ),
            ),
        );
    }
    let batch = match identity {
        Some(identity) => batch.data(identity.claims).data(identity.actor),
        None => batch,
    };
    let span = graphql_span(&http, &batch);
    let execution = state.api.execute_batch(batch).instrument(span);
    match tokio::time::timeout(limits.request_timeout, execution).await {
        Ok(response) => {
            let responses = match &response {
                async_graphql::BatchResponse::Single(r) => std::slice::from_ref(r),
                async_graphql::BatchResponse::Batch(rs) => rs.as_slice(),
            };
            for e in responses.iter().flat_map(|r| &r.errors) {
                let code = e.extensions.as_ref().and_then(|x| x.get("code"));
                match code {
                    Some(async_graphql::Value::String(c)) => errors(c),
                    _ => errors("INTERNAL"),
                }
            }
            GraphQLResponse::from(response)
                .respond_to(&http)
                .map_into_boxed_body()
        }
        Err(_) => {
            errors("TIMEOUT");
            tracing::warn!(
                timeout_secs = limits.request_timeout.as_secs(),
                "request timed out"
            );
            error_response(
                StatusCode::OK,
                coded_error(
                    "TIMEOUT",
                    format!(
                        "the request took longer than {} s and was stopped; mutations that \
                         completed before that stay done, so retry with the same commandId",
                        limits.request_timeout.as_secs()
                    ),
                ),
            )
        }
    }
}

/// The span GraphQL execution runs in, below the request span: the operation's name when the
/// request names one (and it is a GraphQL name), or how many operations a batch holds.
fn graphql_span(http: &HttpRequest, batch: &BatchRequest) -> tracing::Span {
    let request_id = http.extensions().get::<RequestId>().map(|r| r.0.clone());
    let span = tracing::info_span!(
        "graphql",
        request_id = request_id.as_deref().unwrap_or(""),
        operation = tracing::field::Empty,
        batch = tracing::field::Empty,
    );
    match batch {
        BatchRequest::Single(request) => {
            if let Some(name) = request
                .operation_name
                .as_deref()
                .filter(|n| is_graphql_name(n))
            {
                span.record("operation", name);
            }
        }
        BatchRequest::Batch(requests) => {
            span.record("batch", requests.len());
        }
    }
    span
}

fn is_graphql_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 128
        && chars
            .next()
            .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

async fn graphiql(state: web::Data<AppState>) -> HttpResponse {
    if !state.dev {
        return HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body(
                "GraphiQL is available only when STYR_DEV=true; send queries with POST /graphql\n",
            );
    }
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(
            GraphiQLSource::build()
                .endpoint("/graphql")
                .subscription_endpoint("/graphql/ws")
                .title("Styringsdialog")
                .finish(),
        )
}

/// Subscriptions authenticate with the upgrade request's `Authorization` header or, as browsers
/// cannot set headers on websockets, with `Authorization` (or `authorization`) in the
/// `connection_init` payload; an invalid token in either refuses the connection.
async fn graphql_ws(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> actix_web::Result<HttpResponse> {
    let from_header = match caller(&req, &state.verifier) {
        Ok(identity) => identity,
        Err(reason) => return Ok(unauthenticated(&reason)),
    };
    let verifier = state.verifier.clone();
    GraphQLSubscription::new(state.api.clone())
        .on_connection_init(move |init: serde_json::Value| async move {
            let mut data = Data::default();
            let from_payload = ["Authorization", "authorization"]
                .iter()
                .find_map(|k| init.get(*k).and_then(serde_json::Value::as_str));
            let identity = match from_payload {
                Some(value) => match identify(value, &verifier) {
                    Ok(identity) => Some(identity),
                    Err(reason) => {
                        tracing::info!(reason = %reason, "bearer token refused on websocket");
                        return Err(async_graphql::Error::new(BAD_TOKEN));
                    }
                },
                None => from_header,
            };
            if let Some(identity) = identity {
                identity.into_data(&mut data);
            }
            Ok(data)
        })
        .start(&req, payload)
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let check = tokio::time::timeout(Duration::from_secs(3), state.workflow.readiness()).await;
    match check {
        Ok(Ok(())) => HttpResponse::Ok().json(serde_json::json!({ "status": "ready" })),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "not ready");
            HttpResponse::ServiceUnavailable()
                .json(serde_json::json!({ "status": "unavailable", "reason": "database not reachable or not migrated" }))
        }
        Err(_) => {
            tracing::warn!("readiness check timed out");
            HttpResponse::ServiceUnavailable()
                .json(serde_json::json!({ "status": "unavailable", "reason": "database check timed out" }))
        }
    }
}

async fn metrics_endpoint(state: web::Data<AppState>) -> HttpResponse {
    if let Ok(Ok(head)) =
        tokio::time::timeout(Duration::from_secs(2), state.workflow.log_head()).await
    {
        state.metrics.set_log_position(head.position);
        let checkpoint = tokio::time::timeout(
            Duration::from_secs(2),
            state.workflow.projections().checkpoint(),
        )
        .await;
        if let Ok(Ok(projected)) = checkpoint {
            state
                .metrics
                .set_projector(projected, head.position.saturating_sub(projected));
        }
    }
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(state.metrics.render())
}

/// A failure the caller cannot fix: logged in full with the request id, reported without
/// detail.
fn internal_error(e: &dyn std::fmt::Display) -> HttpResponse {
    tracing::error!(error = %e, "internal error");
    HttpResponse::InternalServerError().json(serde_json::json!({
        "error": "internal error; it has been logged with the request id",
        "code": "INTERNAL"
    }))
}

/// Marks deadlines whose Oslo date has passed unmet, every `every`; several servers may run it
/// at once (the monitor is idempotent and conflict-safe).
fn spawn_deadline_monitor(workflow: Workflow, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        // Kept between passes: each pass reads only the events appended since the last.
        let mut monitor = styr_workflow::DeadlineMonitor::new();
        loop {
            match monitor.pass(&workflow).await {
                Ok(report) if !report.marked_missed.is_empty() => {
                    tracing::info!(
                        missed = report.marked_missed.len(),
                        "deadlines marked missed"
                    );
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "deadline monitor pass failed"),
            }
            tokio::time::sleep(every).await;
        }
    })
}
