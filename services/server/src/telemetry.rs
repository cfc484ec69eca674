//! Logging and traces. Logs: `tracing` to stdout (the service) or stderr (one-shot commands), as
//! human-readable lines or as JSON (`STYR_LOG_FORMAT=json`); `RUST_LOG` overrides the configured
//! level. Traces: when `STYR_OTLP_ENDPOINT` is set, `styr serve` also turns its spans into
//! OpenTelemetry spans and exports them in batches over OTLP/HTTP with protobuf bodies. Without
//! it no exporter, thread or layer exists.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actix_web::http::header::HeaderMap;
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::settings::{LogFormat, OtlpSettings};

/// Where log lines go.
#[derive(Debug, Clone, Copy)]
pub enum LogTarget {
    Stdout,
    Stderr,
}

/// How long one export (one HTTP request to the collector) may take.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a stop waits for the spans still queued to be exported.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(10);

/// Set once spans go to a collector; the request middleware does the trace-only work
/// (span names, `traceparent`) only then.
static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Logging for one-shot commands and tests: no trace export.
pub fn init(format: LogFormat, level: &str, target: LogTarget) {
    let _ = install(format, level, target, None);
}

/// Logging for `styr serve`, with trace export when `otlp` is set. Keep the returned value and
/// call [`Telemetry::shutdown`] after the server has stopped, so queued spans are sent.
pub fn init_service(
    format: LogFormat,
    level: &str,
    otlp: Option<&OtlpSettings>,
) -> anyhow::Result<Telemetry> {
    let provider = otlp.map(tracer_provider).transpose()?;
    let installed = install(format, level, LogTarget::Stdout, provider.clone());
    let provider = match provider {
        Some(provider) if !installed => {
            // Another subscriber was there first (tests start several servers in one process);
            // spans would never reach this provider.
            let _ = provider.shutdown();
            None
        }
        provider => provider,
    };
    if let (Some(otlp), Some(_)) = (otlp, &provider) {
        EXPORTING.store(true, Ordering::Relaxed);
        tracing::info!(
            endpoint = %otlp.traces_url(),
            service = %otlp.service_name,
            "exporting traces over OTLP"
        );
    }
    Ok(Telemetry { provider })
}

/// Whether spans are exported to a collector.
pub fn exporting() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

/// Makes `span` a child of the caller's trace when the request carries a W3C `traceparent`
/// header (and `tracestate`). Call before the span is first entered.
pub fn continue_trace(span: &tracing::Span, headers: &HeaderMap) {
    struct Headers<'a>(&'a HeaderMap);
    impl Extractor for Headers<'_> {
        fn get(&self, key: &str) -> Option<&str> {
            self.0.get(key)?.to_str().ok()
        }
        fn keys(&self) -> Vec<&str> {
            self.0.keys().map(|k| k.as_str()).collect()
        }
    }
    if !headers.contains_key("traceparent") {
        return;
    }
    let parent = TraceContextPropagator::new().extract(&Headers(headers));
    let _ = span.set_parent(parent);
}

/// The trace exporter, while there is one.
#[must_use = "call shutdown() when the server has stopped, or queued spans are lost"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Exports the spans still queued and stops the exporter. Blocks (up to a few seconds when
    /// the collector does not answer): call it off the async threads.
    pub fn shutdown(self) {
        let Some(provider) = self.provider else {
            return;
        };
        EXPORTING.store(false, Ordering::Relaxed);
        match provider.shutdown_with_timeout(FLUSH_TIMEOUT) {
            Ok(()) => tracing::info!("trace export stopped"),
            Err(e) => tracing::warn!(error = %e, "trace export stopped; spans may be lost"),
        }
    }
}

/// Installs the global subscriber; false if one was already installed.
fn install(
    format: LogFormat,
    level: &str,
    target: LogTarget,
    provider: Option<SdkTracerProvider>,
) -> bool {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let traces = provider.map(|p| {
        tracing_opentelemetry::layer()
            .with_tracer(p.tracer("styr"))
            .with_threads(false)
    });
    tracing_subscriber::registry()
        .with(filter)
        .with(log_layer(format, target))
        .with(traces)
        .try_init()
        .is_ok()
}

type Filtered = tracing_subscriber::layer::Layered<EnvFilter, Registry>;

fn log_layer(format: LogFormat, target: LogTarget) -> Box<dyn Layer<Filtered> + Send + Sync> {
    let layer = tracing_subscriber::fmt::layer();
    match (format, target) {
        (LogFormat::Json, LogTarget::Stdout) => layer
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
        (LogFormat::Json, LogTarget::Stderr) => layer
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(std::io::stderr)
            .boxed(),
        (LogFormat::Pretty, LogTarget::Stdout) => {
            layer.with_ansi(std::io::stdout().is_terminal()).boxed()
        }
        (LogFormat::Pretty, LogTarget::Stderr) => layer
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
            .boxed(),
    }
}

/// A batch span processor (its own thread, default queue and batch sizes, `OTEL_BSP_*`
/// honoured) feeding an OTLP/HTTP protobuf exporter that posts with [`UreqClient`].
fn tracer_provider(otlp: &OtlpSettings) -> anyhow::Result<SdkTracerProvider> {
    let url = otlp.traces_url();
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(UreqClient::new(url.clone()))
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(url.clone())
        .with_timeout(EXPORT_TIMEOUT)
        .build()
        .map_err(|e| anyhow::anyhow!("cannot export traces to {url}: {e}"))?;
    let resource = Resource::builder()
        .with_service_name(otlp.service_name.clone())
        .with_attribute(opentelemetry::KeyValue::new(
            "service.version",
            env!("CARGO_PKG_VERSION"),
        ))
        .build();
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
}

/// Posts export requests with `ureq` (already used for the JWKS), so the exporter needs no
/// second HTTP stack. The batch processor calls it on its own thread under a plain executor, so
/// blocking there holds up no async worker. A failing collector is logged once when it starts
/// failing and once when it answers again, not per batch.
#[derive(Debug)]
struct UreqClient {
    agent: ureq::Agent,
    url: String,
    failing: AtomicBool,
}

impl UreqClient {
    fn new(url: String) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(EXPORT_TIMEOUT))
            .http_status_as_error(false)
            .build()
            .into();
        Self {
            agent,
            url,
            failing: AtomicBool::new(false),
        }
    }

    fn send(&self, request: Request<Bytes>) -> Result<Response<Bytes>, ureq::Error> {
        let (parts, body) = request.into_parts();
        let mut response = self.agent.run(Request::from_parts(parts, &body[..]))?;
        let body = response
            .body_mut()
            .with_config()
            .limit(1 << 20)
            .read_to_vec()?;
        let (parts, _) = response.into_parts();
        Ok(Response::from_parts(parts, Bytes::from(body)))
    }

    fn note(&self, problem: Option<String>) {
        match problem {
            Some(error) if !self.failing.swap(true, Ordering::Relaxed) => tracing::warn!(
                endpoint = %self.url,
                error = %error,
                "cannot export traces; spans are dropped until the collector answers"
            ),
            None if self.failing.swap(false, Ordering::Relaxed) => {
                tracing::info!(endpoint = %self.url, "trace export works again")
            }
            _ => {}
        }
    }
}

#[async_trait::async_trait]
impl HttpClient for UreqClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        match self.send(request) {
            Ok(response) => {
                let status = response.status();
                self.note(
                    (!status.is_success()).then(|| format!("the collector answered {status}")),
                );
                Ok(response)
            }
            Err(e) => {
                self.note(Some(e.to_string()));
                Err(Box::new(e))
            }
        }
    }
}
