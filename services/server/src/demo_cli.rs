//! `styr demo [--database-url URL]`: loads the real 2024 HOD→DMP steering year into an empty
//! database by replaying the compiled-in script (`styr_workflow::demo`) through the commands,
//! each step dated as it happened. Progress per phase goes to stdout, then a summary.

use std::process::ExitCode;

use styr_eventstore::{BackendKind, EventStore, redact_url};
use styr_workflow::demo::{self, DemoError, DemoScript, PhaseReport};

use crate::settings::Settings;

pub async fn demo(settings: &Settings, database_url: Option<&str>) -> anyhow::Result<ExitCode> {
    let url = database_url.unwrap_or(&settings.database_url);
    if BackendKind::from_url(url).is_err() {
        eprintln!(
            "error: --database-url: {} is not a sqlite:// or postgres:// URL",
            redact_url(url)
        );
        return Ok(ExitCode::from(2));
    }
    let script = DemoScript::year_2024()?;
    let store = EventStore::connect(url, crate::cli::store_options(settings)).await?;
    // Refused before anything is printed or written (`load` checks again).
    let head = store.head().await;
    if let Ok(head) = &head
        && head.position != 0
    {
        store.close().await;
        eprintln!(
            "error: {}",
            DemoError::NotEmpty {
                events: head.position
            }
        );
        return Ok(ExitCode::FAILURE);
    }
    head?;
    println!(
        "Loading the {} steering year {} → {} into {}",
        script.year,
        script.ministry,
        script.agency,
        redact_url(url)
    );
    println!(
        "Every step is dated as it happened: the events' times and effective_at are the step's \
         date; recorded_at is the real time of loading. For the year as it stood on a date, use \
         the effective axis, e.g. boardAsOf(asOf: <now>, effectiveBy: \"2024-06-01T12:00:00Z\")."
    );
    let mut progress = |p: &PhaseReport| {
        let dates = if p.first_date == p.last_date {
            p.first_date.to_string()
        } else {
            format!("{} – {}", p.first_date, p.last_date)
        };
        println!(
            "[{}/{}] {}: {} steps ({dates}), {} events",
            p.index, p.of, p.name, p.steps, p.events
        );
    };
    let result = demo::load(
        store.clone(),
        &script,
        demo::LETTER_TEXT_2024,
        &mut progress,
    )
    .await;
    store.close().await;
    let summary = match result {
        Ok(summary) => summary,
        Err(e @ DemoError::NotEmpty { .. }) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::FAILURE);
        }
        Err(e) => return Err(e.into()),
    };
    println!(
        "Loaded {} steps ({} – {}): {} assignments, {} supplements, {} calendar items, {} \
         deviation report(s); {} events",
        summary.steps,
        summary.first_date,
        summary.last_date,
        summary.assignments,
        summary.supplements,
        summary.calendar_items,
        summary.deviation_reports,
        summary.events
    );
    let board: Vec<String> = summary
        .board
        .iter()
        .map(|(status, n)| format!("{n} {status}"))
        .collect();
    println!(
        "Year-end board of {}: {}",
        summary.letter_id,
        board.join(", ")
    );
    println!(
        "Chain head: position {}, hash {}",
        summary.head.position, summary.head.hash
    );
    println!(
        "Next: styr serve, then sign in as HOD (styr token --role ministry --org HOD) or DMP \
         (styr token --role agency --org DMP)."
    );
    Ok(ExitCode::SUCCESS)
}
