//! `styr audit checkpoint | keygen | completeness` and `verify --checkpoint`: the auditor's
//! command-line tools over the workflow's audit module. Output is a line or a table on
//! stdout; progress and errors go to stderr; the exit code says whether all is well.

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use chrono::NaiveDate;
use secrecy::ExposeSecret;
use styr_workflow::CommandMeta;
use styr_workflow::checkpoint::{
    Checkpoint, generate_key_hex, public_key_hex, signing_key, verifying_key,
};
use styr_workflow::copies::{content_sha256, system_by};
use styr_workflow::domain::correspondence::{CorrespondenceKind, register_copy};
use styr_workflow::domain::values::OrgCode;
use styr_workflow::domain::{Actor, Role};
use styr_workflow::projections::Scope;

use crate::settings::Settings;

use crate::cli::open_workflow as open;

fn signing(settings: &Settings) -> anyhow::Result<ed25519_dalek::SigningKey> {
    let key = settings.checkpoint_key.as_ref().ok_or_else(|| {
        anyhow!("no checkpoint key: set STYR_CHECKPOINT_KEY or STYR_CHECKPOINT_KEY_FILE (make one with `styr audit keygen`)")
    })?;
    Ok(signing_key(key.expose_secret())?)
}

/// Prints a fresh key pair.
pub fn keygen() -> anyhow::Result<ExitCode> {
    let secret = generate_key_hex().map_err(|e| anyhow!("no randomness: {e}"))?;
    let public = public_key_hex(&signing_key(&secret)?);
    println!("STYR_CHECKPOINT_KEY={secret}");
    println!("STYR_CHECKPOINT_PUBLIC_KEY={public}");
    eprintln!("keep the first line secret; give the second to whoever verifies checkpoints");
    Ok(ExitCode::SUCCESS)
}

/// Signs the head, writes the file (never over an existing one) and registers it as
/// correspondence owed to Riksrevisjonen.
pub async fn checkpoint(settings: &Settings, out: &Path) -> anyhow::Result<ExitCode> {
    let key = signing(settings)?;
    if out.exists() {
        return Err(anyhow!("{} exists; choose another file", out.display()));
    }
    let workflow = open(settings).await?;
    let checkpoint = workflow.checkpoint(&key).await?;
    let text = serde_json::to_string_pretty(&checkpoint)?;
    std::fs::write(out, format!("{text}\n"))
        .with_context(|| format!("cannot write {}", out.display()))?;
    let content = serde_json::to_value(&checkpoint)?;
    let sha = content_sha256(&content);
    let system = OrgCode::parse("STYR")?;
    let event = register_copy(
        CorrespondenceKind::AuditCheckpoint,
        format!(
            "{} ved posisjon {}",
            CorrespondenceKind::AuditCheckpoint.label(),
            checkpoint.position
        ),
        None,
        None,
        system.clone(),
        OrgCode::parse("RR")?,
        None,
        content,
        sha,
        checkpoint.created_at,
        system_by(
            "system:audit-checkpoint",
            "Sjekkpunkt (styr audit checkpoint)",
        ),
    );
    let actor = Actor::new(
        "system:audit-checkpoint",
        "Sjekkpunkt (styr audit checkpoint)",
        Role::Admin,
        system,
        None,
    );
    workflow
        .register_standalone(
            event,
            &CommandMeta::new(actor).with_reason("signed log checkpoint"),
        )
        .await?;
    workflow.store().close().await;
    println!(
        "checkpoint of position {} ({}) written to {}",
        checkpoint.position,
        checkpoint.hash,
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Checks the file's signature with the trusted key, then the log against it.
pub async fn verify_checkpoint(settings: &Settings, file: &Path) -> anyhow::Result<ExitCode> {
    let trusted = match (&settings.checkpoint_public_key, &settings.checkpoint_key) {
        (Some(public), _) => verifying_key(public)?,
        (None, Some(secret)) => signing_key(secret.expose_secret())?.verifying_key(),
        (None, None) => {
            return Err(anyhow!(
                "no trusted key: set STYR_CHECKPOINT_PUBLIC_KEY (or the signing key) to verify checkpoints"
            ));
        }
    };
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let checkpoint = Checkpoint::parse(&text)?;
    if let Err(e) = checkpoint.verify_signature(&trusted) {
        println!("checkpoint {} is not valid: {e}", file.display());
        return Ok(ExitCode::FAILURE);
    }
    let workflow = open(settings).await?;
    let mut last = Instant::now();
    let check = workflow
        .verify_checkpoint(&checkpoint, |checked, total| {
            if last.elapsed() >= Duration::from_secs(1) {
                eprintln!("verified {checked} of {total} events");
                last = Instant::now();
            }
        })
        .await?;
    workflow.store().close().await;
    println!("{check}");
    Ok(if check.is_intact() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The completeness report as a table or JSON; exit 1 when anything is missing.
pub async fn completeness(
    settings: &Settings,
    from: NaiveDate,
    to: NaiveDate,
    agency: Option<&str>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    if from > to {
        return Err(anyhow!("--from {from} is after --to {to}"));
    }
    let workflow = open(settings).await?;
    let report = workflow
        .completeness(&Scope::All, agency, from, to, workflow.copy_channels())
        .await?;
    workflow.store().close().await;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "{:<10}  {:<10}  {:<6}  {:<12}  {:<16}  title",
            "date", "state", "agency", "sha256", "receipt"
        );
        for r in &report.rows {
            println!(
                "{:<10}  {:<10}  {:<6}  {:<12}  {:<16}  {}",
                styr_workflow::domain::oslo_date(r.occurred_at),
                format!("{:?}", r.state).to_lowercase(),
                r.agency.as_deref().unwrap_or("-"),
                &r.content_sha256[..12],
                r.receipts
                    .first()
                    .map(|x| x.at.format("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or_else(|| "-".into()),
                r.title
            );
        }
        println!(
            "{} items, {} delivered, {} missing (channels: {})",
            report.rows.len(),
            report.delivered,
            report.missing.len(),
            if report.channels.is_empty() {
                "none configured".to_owned()
            } else {
                report.channels.join(", ")
            }
        );
    }
    Ok(if report.is_complete() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
