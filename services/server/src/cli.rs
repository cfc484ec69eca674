//! The command line: `styr serve | migrate | token | demo | audit verify | audit export | …`. Every failure ends in one
//! line on stderr and a non-zero exit code: 2 for bad settings or arguments, 1 otherwise.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;
use chrono::NaiveDate;
use clap::{Parser, Subcommand};
use styr_eventstore::{BackendKind, EventStore, StoreOptions, sqlite_file};
use styr_workflow::export::{ExportError, ExportRequest, write_package};

use crate::auth::{TokenKeys, TokenRequest, parse_ttl};
use crate::settings::Settings;
use crate::telemetry::{self, LogTarget};

#[derive(Debug, Parser)]
#[command(
    name = "styr",
    version,
    about = "Styringsdialog: the steering dialogue between a ministry and its agencies"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (GraphQL at /graphql, health at /healthz and /readyz, metrics at /metrics).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print a signed development token for the given identity.
    Token {
        /// ministry, agency, auditor or admin.
        #[arg(long)]
        role: String,
        /// Organisation code, e.g. HOD, DMP, RR.
        #[arg(long)]
        org: String,
        /// Subject (user id); defaults to role-org.
        #[arg(long)]
        sub: Option<String>,
        /// Display name; defaults to the subject.
        #[arg(long)]
        name: Option<String>,
        /// Ministry department code, e.g. SHA.
        #[arg(long)]
        dept: Option<String>,
        /// Lifetime, e.g. 30m, 8h, 7d.
        #[arg(long, default_value = "8h", value_parser = parse_ttl)]
        ttl: Duration,
    },
    /// Read-model maintenance.
    Projections {
        #[command(subcommand)]
        command: ProjectionsCommand,
    },
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Write a consistent copy of the database to a new file (SQLite: online; PostgreSQL:
    /// pg_dump custom format).
    Backup {
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Replace the database with a backup, then verify its hash chain. Stop the service first.
    Restore {
        #[arg(long)]
        from: std::path::PathBuf,
        /// Replace a database that already holds events.
        #[arg(long)]
        force: bool,
    },
    /// Read documents into the service.
    Import {
        #[command(subcommand)]
        command: ImportCommand,
    },
    /// Audit tools.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Load the real 2024 steering year HOD → DMP into an empty database, replayed through
    /// the commands and dated as it happened (a database that holds events is refused).
    Demo {
        /// The database to load into (default: the configured one).
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum ProjectionsCommand {
    /// Empty every read model and rebuild it from the whole event log.
    Rebuild,
}

#[derive(Debug, Subcommand)]
enum ImportCommand {
    /// Read a tildelingsbrev (plain text or Markdown, with any supplements in it) and write it
    /// as a draft letter, assignments and draft supplements. Importing the same text again
    /// writes nothing new.
    Letter {
        file: std::path::PathBuf,
        #[arg(long)]
        ministry: String,
        #[arg(long)]
        agency: String,
        #[arg(long)]
        year: i32,
        /// Only show what was recognised; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print the preview as one JSON document.
        #[arg(long)]
        json: bool,
        /// Act as this user (a token the server accepts); default: a local import identity of
        /// the ministry.
        #[arg(long)]
        token: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Verify the hash chain and stream versions; exit 0 when intact, 1 at the first break.
    Verify {
        /// First position to check (default: the whole log).
        #[arg(long, default_value_t = 1)]
        from: u64,
        /// Also prove the log up to a signed checkpoint has not been rewritten since.
        #[arg(long)]
        checkpoint: Option<std::path::PathBuf>,
    },
    /// Sign the head of the log (Ed25519, key from STYR_CHECKPOINT_KEY[_FILE]), write the
    /// checkpoint file and register it for delivery to Riksrevisjonen.
    Checkpoint {
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Print a new checkpoint signing key (hex) and its public key.
    Keygen,
    /// Every correspondence item of a period and whether its copy was delivered; exit 1 when
    /// any is missing.
    Completeness {
        #[arg(long)]
        from: chrono::NaiveDate,
        #[arg(long)]
        to: chrono::NaiveDate,
        /// Only one agency's correspondence, e.g. DMP.
        #[arg(long)]
        agency: Option<String>,
        /// One JSON document instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Write an archive package of the events recorded in a period: events as JSON Lines, an
    /// XML structure modelled on a Noark 5 archive extract, a manifest with SHA-256 of every
    /// file and the chain head, and a README (docs/audit-export.md).
    Export {
        /// First day of the period (Oslo calendar date, YYYY-MM-DD).
        #[arg(long, value_name = "DATE", value_parser = parse_date)]
        from: NaiveDate,
        /// Last day of the period, inclusive (YYYY-MM-DD).
        #[arg(long, value_name = "DATE", value_parser = parse_date)]
        to: NaiveDate,
        /// The package directory to create; it must not exist or be empty.
        #[arg(long, value_name = "DIR")]
        out: std::path::PathBuf,
    },
}

fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|e| format!("{s:?} is not a date as YYYY-MM-DD ({e})"))
}

/// Runs the command line and maps the outcome to an exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(cli.command, settings));
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, settings: Settings) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve => {
            let telemetry = telemetry::init_service(
                settings.log_format,
                &settings.log_level,
                settings.otlp.as_ref(),
            )?;
            let result = serve(settings).await;
            // After the server has stopped, so the last requests' spans are in the batch.
            tokio::task::spawn_blocking(move || telemetry.shutdown()).await?;
            result
        }
        Command::Migrate => {
            telemetry::init(settings.log_format, &settings.log_level, LogTarget::Stderr);
            let store = EventStore::connect_without_migrating(
                &settings.database_url,
                store_options(&settings),
            )
            .await?;
            store.migrate().await?;
            store.close().await;
            eprintln!("migrations applied to {}", settings.database_url_redacted());
            Ok(ExitCode::SUCCESS)
        }
        Command::Token {
            role,
            org,
            sub,
            name,
            dept,
            ttl,
        } => {
            let keys = TokenKeys::from_settings(&settings)?;
            if !settings
                .jwt_algorithms
                .contains(&crate::settings::TokenAlgorithm::Hs256)
            {
                eprintln!(
                    "warning: this server does not accept HS256 tokens (STYR_JWT_ALGORITHMS); \
                     the token is printed anyway"
                );
            }
            match keys.issue(&TokenRequest {
                role,
                org,
                sub,
                name,
                dept,
                ttl,
            }) {
                Ok(token) => {
                    println!("{token}");
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    Ok(ExitCode::from(2))
                }
            }
        }
        Command::Projections {
            command: ProjectionsCommand::Rebuild,
        } => {
            telemetry::init(settings.log_format, &settings.log_level, LogTarget::Stderr);
            let store =
                EventStore::connect(&settings.database_url, store_options(&settings)).await?;
            let head = store.head().await?.position;
            eprintln!("rebuilding the read models from {head} events");
            let started = std::time::Instant::now();
            let position = styr_workflow::projections::Projections::new(store.clone())
                .rebuild()
                .await?;
            store.close().await;
            println!(
                "read models rebuilt to position {position} in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Backup { out } => {
            telemetry::init(settings.log_format, &settings.log_level, LogTarget::Stderr);
            crate::backup::backup(&settings, &out).await
        }
        Command::Restore { from, force } => {
            telemetry::init(settings.log_format, &settings.log_level, LogTarget::Stderr);
            crate::backup::restore(&settings, &from, force).await
        }
        Command::Schema => {
            print!("{}", styr_graphql::sdl());
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit {
            command: AuditCommand::Verify { from, checkpoint },
        } => {
            telemetry::init(settings.log_format, &settings.log_level, LogTarget::Stderr);
            let chain = verify(&settings, from).await?;
            match checkpoint {
                Some(file) if chain == ExitCode::SUCCESS => {
                    crate::audit_cli::verify_checkpoint(&settings, &file).await
                }
                _ => Ok(chain),
            }
        }
        Command::Import {
            command:
                ImportCommand::Letter {
                    file,
                    ministry,
                    agency,
                    year,
                    dry_run,
                    json,
                    token,
                },
        } => {
            telemetry::init(settings.log_format, &settings.log_level, LogTarget::Stderr);
            crate::import_cli::import_letter(
                &settings,
                crate::import_cli::ImportArgs {
                    file: &file,
                    ministry: &ministry,
                    agency: &agency,
                    year,
                    dry_run,
                    json,
                    token: token.as_deref(),
                },
            )
            .await
        }
        Command::Demo { database_url } => {
            telemetry::init(settings.log_format, &settings.log_level, LogTarget::Stderr);
            crate::demo_cli::demo(&settings, database_url.as_deref()).await
        }
        Command::Audit {
            command: AuditCommand::Checkpoint { out },
        } => {
            telemetry::init(settings.log_format, &settings.log_level, LogTarget::Stderr);
            crate::audit_cli::checkpoint(&settings, &out).await
        }
        Command::Audit {
            command: AuditCommand::Keygen,
        } => crate::audit_cli::keygen(),
        Command::Audit {
            command:
                AuditCommand::Completeness {
                    from,
                    to,
                    agency,
                    json,
                },
        } => {
            telemetry::init(settings.log_format, &settings.log_level, LogTarget::Stderr);
            crate::audit_cli::completeness(&settings, from, to, agency.as_deref(), json).await
        }
        Command::Audit {
            command: AuditCommand::Export { from, to, out },
        } => {
            telemetry::init(settings.log_format, &settings.log_level, LogTarget::Stderr);
            export(settings, ExportRequest::new(from, to, out)).await
        }
    }
}

/// Connects to the configured database (applying migrations), for the CLI's commands.
pub(crate) async fn open_workflow(settings: &Settings) -> anyhow::Result<styr_workflow::Workflow> {
    let store = EventStore::connect(&settings.database_url, store_options(settings)).await?;
    Ok(styr_workflow::Workflow::new(store).with_copy_channels(settings.copy_channels.clone()))
}

pub(crate) fn store_options(settings: &Settings) -> StoreOptions {
    StoreOptions {
        max_connections: settings.database_max_connections,
        ..StoreOptions::default()
    }
}

async fn serve(settings: Settings) -> anyhow::Result<ExitCode> {
    let app = crate::Application::build(&settings).await?;
    tracing::info!(
        "Styringsdialog {} listening on http://{}:{} with database {}",
        env!("CARGO_PKG_VERSION"),
        settings.listen.ip(),
        app.port(),
        settings.database_url_redacted()
    );
    app.run_until_stopped().await?;
    Ok(ExitCode::SUCCESS)
}

async fn verify(settings: &Settings, from: u64) -> anyhow::Result<ExitCode> {
    let store =
        EventStore::connect_without_migrating(&settings.database_url, store_options(settings))
            .await?;
    store.readiness().await?;
    let mut last_report = std::time::Instant::now();
    let report = store
        .verify_chain(from, |checked, total| {
            if last_report.elapsed() >= Duration::from_secs(1) {
                eprintln!("verified {checked} of {total} events");
                last_report = std::time::Instant::now();
            }
        })
        .await?;
    store.close().await;
    match report.first_break {
        None => {
            println!(
                "chain intact: {} events verified, positions {}..={}",
                report.events_checked, report.from, report.verified_to
            );
            Ok(ExitCode::SUCCESS)
        }
        Some(b) => {
            println!("{b}");
            Ok(ExitCode::FAILURE)
        }
    }
}

async fn export(settings: Settings, request: ExportRequest) -> anyhow::Result<ExitCode> {
    // Bad arguments are refused before anything is opened.
    if let Err(e) = styr_workflow::export::check_request(&request) {
        eprintln!("error: {e}");
        return Ok(ExitCode::from(2));
    }
    // Opening a SQLite URL creates the file; an export must not.
    if BackendKind::from_url(&settings.database_url)? == BackendKind::Sqlite
        && !sqlite_file(&settings.database_url)?.exists()
    {
        bail!(
            "there is no database at {} to export from",
            settings.database_url_redacted()
        );
    }
    let store =
        EventStore::connect_without_migrating(&settings.database_url, store_options(&settings))
            .await?;
    store.readiness().await?;
    let result = write_package(&store, &request, |written, total| {
        if total >= styr_workflow::export::PROGRESS_EVERY {
            eprintln!("exported {written} of {total} events");
        }
    })
    .await;
    store.close().await;
    let summary = match result {
        Ok(summary) => summary,
        Err(e @ ExportError::InvalidRequest(_)) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(2));
        }
        Err(e) => return Err(e.into()),
    };
    let m = &summary.manifest;
    let positions = match (m.events.first_position, m.events.last_position) {
        (Some(first), Some(last)) => format!("positions {first}..={last}"),
        _ => "none recorded in the period".to_owned(),
    };
    println!(
        "audit export {}..={} written to {}: {} events ({positions}), {} case files, {} \
         registry entries; chain head at position {} ({})",
        m.period.from,
        m.period.to,
        summary.dir.display(),
        m.events.count,
        summary.case_files,
        summary.registry_entries,
        m.chain_head.position,
        m.chain_head.hash
    );
    Ok(ExitCode::SUCCESS)
}
