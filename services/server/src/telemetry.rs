//! Logging: `tracing` to stdout (the service) or stderr (one-shot commands), as human-readable
//! lines or as JSON (`STYR_LOG_FORMAT=json`). `RUST_LOG` overrides the configured level.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::settings::LogFormat;

/// Where log lines go.
#[derive(Debug, Clone, Copy)]
pub enum LogTarget {
    Stdout,
    Stderr,
}

pub fn init(format: LogFormat, level: &str, target: LogTarget) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    // A second init (tests start several servers in one process) keeps the first subscriber.
    let _ = match (format, target) {
        (LogFormat::Json, LogTarget::Stdout) => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        (LogFormat::Json, LogTarget::Stderr) => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(std::io::stderr)
            .try_init(),
        (LogFormat::Pretty, LogTarget::Stdout) => builder
            .with_ansi(std::io::stdout().is_terminal())
            .try_init(),
        (LogFormat::Pretty, LogTarget::Stderr) => builder
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
            .try_init(),
    };
}
