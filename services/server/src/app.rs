//! The HTTP server: routes, the request-id/metrics middleware, and start-up and shutdown of the
//! whole service (database, schema, listener).

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::dev::{Server, Service};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use async_graphql::http::GraphiQLSource;
use async_graphql_actix_web::{GraphQLRequest, GraphQLResponse, GraphQLSubscription};
use futures_util::FutureExt;
use styr_eventstore::{EventStore, StoreOptions};
use styr_graphql::{StyrSchema, build_schema};
use styr_workflow::Workflow;
use tracing::Instrument;

use crate::auth::{Claims, TokenKeys};
use crate::metrics::{Metrics, StoreMetrics};
use crate::settings::Settings;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Shared by every worker.
struct AppState {
    schema: StyrSchema,
    workflow: Workflow,
    metrics: Arc<Metrics>,
    keys: TokenKeys,
    dev: bool,
}

/// A built, bound server that has not started serving yet.
pub struct Application {
    port: u16,
    server: Server,
    store: EventStore,
    projector: tokio::task::JoinHandle<()>,
}

impl Application {
    /// Connects to the database (waiting for it up to the configured time), applies
    /// migrations, and binds the listener.
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        let keys = TokenKeys::from_source(&settings.jwt_secret)?;
        let store = connect_with_retry(settings).await?;
        let metrics = Arc::new(Metrics::new());
        store.set_observer(Arc::new(StoreMetrics(metrics.clone())));
        let workflow = Workflow::new(store.clone());
        // Bring the read models up to date before serving, then keep them current.
        workflow.projections().catch_up().await?;
        let projector = workflow.projections().clone().spawn();
        let state = web::Data::new(AppState {
            schema: build_schema(workflow.clone()),
            workflow,
            metrics,
            keys,
            dev: settings.dev,
        });

        let listener = TcpListener::bind(settings.listen)
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.listen))?;
        let port = listener.local_addr()?.port();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(web::JsonConfig::default().limit(1 << 20))
                .wrap_fn(|req, srv| {
                    let state = req.app_data::<web::Data<AppState>>().cloned();
                    let request_id = incoming_request_id(req.headers())
                        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
                    let method = req.method().to_string();
                    let span = tracing::info_span!(
                        "http",
                        request_id = %request_id,
                        method = %method,
                        path = %req.path(),
                    );
                    let started = Instant::now();
                    let call = srv.call(req).instrument(span.clone());
                    async move {
                        let mut res = call.await?;
                        let route = res
                            .request()
                            .match_pattern()
                            .unwrap_or_else(|| "unmatched".to_owned());
                        let status = res.status().as_u16();
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
        })
        .listen(listener)?
        .shutdown_timeout(settings.shutdown_timeout.as_secs())
        .run();
        Ok(Self {
            port,
            server,
            store,
            projector,
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
        self.projector.abort();
        let _ = self.projector.await;
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

/// The authenticated caller, if the request carries a valid bearer token.
fn caller(req: &HttpRequest, keys: &TokenKeys) -> Result<Option<Claims>, String> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or("the Authorization header must be 'Bearer <token>'")?;
    keys.verify(token.trim())
        .map(Some)
        .map_err(|e| e.to_string())
}

async fn graphql(
    state: web::Data<AppState>,
    http: HttpRequest,
    request: GraphQLRequest,
) -> GraphQLResponse {
    let mut request = request.into_inner();
    match caller(&http, &state.keys) {
        Ok(Some(claims)) => {
            match styr_graphql::actor_from_claims(
                &claims.sub,
                &claims.name,
                &claims.role,
                &claims.org,
                claims.dept.as_deref(),
            ) {
                Ok(actor) => request = request.data(actor),
                Err(reason) => {
                    tracing::info!(%reason, "token claims refused");
                    return unauthenticated_response("the token is not valid".into());
                }
            }
        }
        Ok(None) => {}
        Err(message) => return unauthenticated_response(message),
    }
    state.schema.execute(request).await.into()
}

fn unauthenticated_response(message: String) -> GraphQLResponse {
    let mut error = async_graphql::ServerError::new(message, None);
    error.extensions = Some({
        let mut ext = async_graphql::ErrorExtensionValues::default();
        ext.set("code", "UNAUTHENTICATED");
        ext
    });
    async_graphql::Response::from_errors(vec![error]).into()
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

async fn graphql_ws(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> actix_web::Result<HttpResponse> {
    GraphQLSubscription::new(state.schema.clone()).start(&req, payload)
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
