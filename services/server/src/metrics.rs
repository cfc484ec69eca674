//! Prometheus metrics: HTTP requests by route and status, request latency, store appends by
//! outcome and their latency, and the log head position. Served as text at `GET /metrics`.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use styr_eventstore::{AppendResult, BackendKind, StoreObserver};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: String,
    /// The route pattern (`/graphql`), never the raw path, so label values stay few.
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabels {
    /// The stable `extensions.code` of the error.
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AppendLabels {
    backend: String,
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BackendLabels {
    backend: String,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms … ~4 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 14))
}

pub struct Metrics {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_duration: Family<RouteLabels, Histogram, fn() -> Histogram>,
    graphql_errors: Family<CodeLabels, Counter>,
    appends: Family<AppendLabels, Counter>,
    appended_events: Family<BackendLabels, Counter>,
    append_duration: Family<BackendLabels, Histogram, fn() -> Histogram>,
    log_position: Gauge,
    projector_position: Gauge,
    projector_lag: Gauge,
    copy_backlog: Gauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics(..)")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("styr");
        let http_requests = Family::<HttpLabels, Counter>::default();
        let http_duration =
            Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                latency_histogram as fn() -> Histogram,
            );
        let appends = Family::<AppendLabels, Counter>::default();
        let graphql_errors = Family::<CodeLabels, Counter>::default();
        registry.register(
            "graphql_errors",
            "GraphQL errors by extensions.code",
            graphql_errors.clone(),
        );
        let appended_events = Family::<BackendLabels, Counter>::default();
        let append_duration =
            Family::<BackendLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                latency_histogram as fn() -> Histogram,
            );
        let log_position = Gauge::default();
        let projector_position = Gauge::default();
        let projector_lag = Gauge::default();
        let copy_backlog = Gauge::default();
        registry.register(
            "http_requests",
            "HTTP requests by method, route and status",
            http_requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency",
            http_duration.clone(),
        );
        registry.register(
            "store_appends",
            "Event store appends by outcome",
            appends.clone(),
        );
        registry.register(
            "store_appended_events",
            "Events written to the log",
            appended_events.clone(),
        );
        registry.register(
            "store_append_duration_seconds",
            "Event store append latency",
            append_duration.clone(),
        );
        registry.register(
            "log_position",
            "Global position of the last event in the log",
            log_position.clone(),
        );
        registry.register(
            "projector_position",
            "Log position the read models include",
            projector_position.clone(),
        );
        registry.register(
            "projector_lag_events",
            "Events written but not yet in the read models",
            projector_lag.clone(),
        );
        registry.register(
            "copy_backlog",
            "Correspondence items whose copy is not yet delivered on every channel",
            copy_backlog.clone(),
        );
        Self {
            registry,
            http_requests,
            http_duration,
            graphql_errors,
            appends,
            appended_events,
            append_duration,
            log_position,
            projector_position,
            projector_lag,
            copy_backlog,
        }
    }

    pub fn set_copy_backlog(&self, items: usize) {
        self.copy_backlog
            .set(i64::try_from(items).unwrap_or(i64::MAX));
    }

    pub fn set_projector(&self, position: u64, lag: u64) {
        self.projector_position
            .set(i64::try_from(position).unwrap_or(i64::MAX));
        self.projector_lag
            .set(i64::try_from(lag).unwrap_or(i64::MAX));
    }

    pub fn observe_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        self.http_requests
            .get_or_create(&HttpLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status,
            })
            .inc();
        self.http_duration
            .get_or_create(&RouteLabels {
                method: method.to_owned(),
                route: route.to_owned(),
            })
            .observe(elapsed.as_secs_f64());
    }

    pub fn observe_graphql_error(&self, code: &str) {
        self.graphql_errors
            .get_or_create(&CodeLabels {
                code: code.to_owned(),
            })
            .inc();
    }

    pub fn set_log_position(&self, position: u64) {
        self.log_position
            .set(i64::try_from(position).unwrap_or(i64::MAX));
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// Lets the store report appends without knowing about Prometheus.
pub struct StoreMetrics(pub Arc<Metrics>);

impl StoreObserver for StoreMetrics {
    fn append_finished(
        &self,
        backend: BackendKind,
        events: usize,
        elapsed: Duration,
        result: AppendResult,
    ) {
        let m = &self.0;
        let backend = backend.as_str().to_owned();
        m.appends
            .get_or_create(&AppendLabels {
                backend: backend.clone(),
                result: result.as_str().to_owned(),
            })
            .inc();
        if result == AppendResult::Written {
            m.appended_events
                .get_or_create(&BackendLabels {
                    backend: backend.clone(),
                })
                .inc_by(events as u64);
        }
        m.append_duration
            .get_or_create(&BackendLabels { backend })
            .observe(elapsed.as_secs_f64());
    }
}
