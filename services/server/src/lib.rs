//! The `styr` server and command-line tool: settings, authentication, HTTP (actix-web),
//! metrics and logging. Protocol edges live here; rules live in the domain and workflow crates.

pub mod app;
mod audit_cli;
pub mod auth;
pub mod backup;
pub mod cli;
mod demo_cli;
mod import_cli;
pub mod metrics;
pub mod oidc;
pub mod settings;
pub mod telemetry;

pub use app::Application;
pub use settings::Settings;
