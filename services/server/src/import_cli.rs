//! `styr import letter FILE`: reads a letter's text, prints what was recognised (a table, or
//! JSON with `--json`) and, without `--dry-run`, writes it as drafts through the commands —
//! as the user of `--token`, or as a local import identity of the ministry.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, anyhow};
use styr_import::{ImportContext, decode, parse_letter, render_table};
use styr_workflow::CommandMeta;
use styr_workflow::domain::values::{OrgCode, Year};
use styr_workflow::domain::{Actor, Role};

use crate::settings::Settings;

pub struct ImportArgs<'a> {
    pub file: &'a Path,
    pub ministry: &'a str,
    pub agency: &'a str,
    pub year: i32,
    pub dry_run: bool,
    pub json: bool,
    pub token: Option<&'a str>,
}

/// The identity the import acts as.
fn importer(settings: &Settings, token: Option<&str>, ministry: &OrgCode) -> anyhow::Result<Actor> {
    let Some(token) = token else {
        return Ok(Actor::new(
            "local:styr-import",
            "styr import (lokal)",
            Role::Ministry,
            ministry.clone(),
            None,
        ));
    };
    let verifier = crate::auth::Verifier::from_settings(settings)?;
    let claims = verifier
        .verify(token.trim())
        .map_err(|e| anyhow!("the token is not valid here: {e}"))?;
    styr_graphql::actor_from_claims(
        &claims.sub,
        &claims.name,
        &claims.role,
        &claims.org,
        claims.dept.as_deref(),
    )
    .map_err(|e| anyhow!("the token's identity is not usable: {e}"))
}

pub async fn import_letter(settings: &Settings, args: ImportArgs<'_>) -> anyhow::Result<ExitCode> {
    let ctx = ImportContext {
        ministry: OrgCode::parse(args.ministry).map_err(|e| anyhow!("--ministry: {e}"))?,
        agency: OrgCode::parse(args.agency).map_err(|e| anyhow!("--agency: {e}"))?,
        year: Year::new(args.year).map_err(|e| anyhow!("--year: {e}"))?,
    };
    let bytes =
        std::fs::read(args.file).with_context(|| format!("cannot read {}", args.file.display()))?;
    let text = decode(&bytes).map_err(|e| anyhow!("{}: {e}", args.file.display()))?;
    let preview = parse_letter(&text, &ctx).map_err(|e| anyhow!("{}: {e}", args.file.display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&preview)?);
    } else {
        print!("{}", render_table(&preview));
    }
    if args.dry_run {
        return Ok(ExitCode::SUCCESS);
    }
    let actor = importer(settings, args.token, &ctx.ministry)?;
    let workflow = crate::cli::open_workflow(settings).await?;
    let meta = CommandMeta::new(actor).with_reason(format!(
        "imported from {}",
        args.file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("a file")
    ));
    let report = workflow.apply_import(&preview, &ctx, &meta).await;
    workflow.store().close().await;
    let report = report?;
    eprintln!(
        "letter {}: {} assignments, {} supplements; {} commands applied, {} already done",
        report.letter_id,
        report.assignments.len(),
        report.supplements.len(),
        report.commands_applied,
        report.commands_repeated
    );
    Ok(ExitCode::SUCCESS)
}
