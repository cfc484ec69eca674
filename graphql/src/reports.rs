//! Report views built from the board and the assignments: upcoming and overdue deadlines, the
//! year-end appendix ("Oversikt over særskilte oppdrag") and the tertial report for a letter.

use async_graphql::{Context, Result, SimpleObject};
use chrono::Duration;
use chrono::{DateTime, Utc};
use styr_workflow::Workflow;
use styr_workflow::domain::assignment::Assignment;
use styr_workflow::domain::{Period, oslo_date};
use styr_workflow::projections::{BoardFilter, BoardQuery, BoardRow, BoardSort};

use crate::assignment::{BoardItem, Light, PeriodInput, StatusKind};
use crate::error;
use crate::viewer::{actor, scope};

/// The most rows a report gathers; a letter has far fewer assignments.
const REPORT_ROWS: u32 = 1000;

async fn rows(ctx: &Context<'_>, filter: BoardFilter, sort: BoardSort) -> Result<Vec<BoardRow>> {
    let scope = scope(actor(ctx)?)?;
    let workflow = ctx.data_unchecked::<Workflow>();
    let query = BoardQuery {
        scope,
        filter,
        sort,
        descending: false,
        offset: 0,
        limit: REPORT_ROWS,
        today: oslo_date(workflow.now()),
    };
    Ok(workflow
        .projections()
        .board(&query)
        .await
        .map_err(error::workflow)?
        .rows)
}

/// Deadlines due within `within_days` (from today, Oslo), and with `include_overdue` those
/// already passed, earliest first.
pub async fn deadlines(
    ctx: &Context<'_>,
    within_days: i32,
    include_overdue: bool,
) -> Result<Vec<BoardItem>> {
    if !(0..=366).contains(&within_days) {
        return Err(error::validation(
            "withinDays",
            "withinDays must be from 0 to 366",
        ));
    }
    let today = oslo_date(ctx.data_unchecked::<Workflow>().now());
    let mut filter = BoardFilter {
        deadline_to: Some(today + Duration::days(i64::from(within_days))),
        ..BoardFilter::default()
    };
    if !include_overdue {
        filter.deadline_from = Some(today);
    }
    let rows = rows(ctx, filter, BoardSort::NextDeadline).await?;
    Ok(rows
        .into_iter()
        .filter(|r| r.lifecycle == "active")
        .map(BoardItem::from)
        .collect())
}

fn letter_filter(letter_id: &str) -> Result<BoardFilter> {
    let mut parts = letter_id.split(':');
    match (
        parts.next(),
        parts.next(),
        parts.next().and_then(|y| y.parse::<i32>().ok()),
    ) {
        (Some(m), Some(a), Some(y)) => Ok(BoardFilter {
            ministry: Some(m.to_owned()),
            agency: Some(a.to_owned()),
            year: Some(y),
            ..BoardFilter::default()
        }),
        _ => Err(error::validation(
            "letterId",
            "a letter id looks like HOD:DMP:2024",
        )),
    }
}

/// One row of the year-end appendix, as an annual report lists it.
#[derive(SimpleObject)]
pub struct AppendixRow {
    pub assignment: BoardItem,
    /// The latest year-end phrase the agency wrote, e.g. "Levert til HOD innen frist.".
    pub status_text: Option<String>,
    pub status: StatusKind,
    pub description: String,
}

/// The year-end appendix of a letter: every assignment of its ministry, agency and year —
/// now, or as the log knew it at `as_of` (narrowed to what had taken effect by
/// `effective_by`), computed from the events alone.
pub async fn appendix(
    ctx: &Context<'_>,
    letter_id: &str,
    as_of: Option<DateTime<Utc>>,
    effective_by: Option<DateTime<Utc>>,
) -> Result<Vec<AppendixRow>> {
    let workflow = ctx.data_unchecked::<Workflow>();
    let filter = letter_filter(letter_id)?;
    let view = if as_of.is_some() || effective_by.is_some() {
        Some(crate::audit::view(ctx, as_of, effective_by).await?)
    } else {
        None
    };
    let rows = match &view {
        None => rows(ctx, filter, BoardSort::Reference).await?,
        Some(at) => {
            let scope = scope(actor(ctx)?)?;
            let today = oslo_date(effective_by.or(as_of).unwrap_or_else(|| workflow.now()));
            workflow
                .board_as_of(at, &scope, &filter, BoardSort::Reference, today)
                .await
                .map_err(error::workflow)?
        }
    };
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let (state, _) = match &view {
            None => workflow.load::<Assignment>(&row.assignment_id).await,
            Some(at) => {
                workflow
                    .load_as_of::<Assignment>(&row.assignment_id, at)
                    .await
            }
        }
        .map_err(error::workflow)?;
        let Some(d) = state.details else { continue };
        let status_text = d
            .status_reports
            .iter()
            .rev()
            .find_map(|r| r.year_end_phrase.clone());
        out.push(AppendixRow {
            status: row.status.into(),
            status_text,
            description: d.description.clone(),
            assignment: BoardItem::from(row),
        });
    }
    Ok(out)
}

/// One assignment in a period's report.
#[derive(SimpleObject)]
pub struct PeriodReportRow {
    pub assignment: BoardItem,
    /// False when the agency has not reported on it for the period.
    pub reported: bool,
    pub traffic_light: Option<Light>,
    pub progress: Option<String>,
    pub cause_and_consequence: Option<String>,
    pub corrective_action: Option<String>,
}

/// The status of every assignment of a letter for one period (e.g. the second tertial), with
/// the ones not yet reported on.
pub async fn period_report(
    ctx: &Context<'_>,
    letter_id: &str,
    period: PeriodInput,
) -> Result<Vec<PeriodReportRow>> {
    let period: Period = period.to_domain()?;
    let rows = rows(ctx, letter_filter(letter_id)?, BoardSort::Reference).await?;
    let workflow = ctx.data_unchecked::<Workflow>();
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let (state, _) = workflow
            .load::<Assignment>(&row.assignment_id)
            .await
            .map_err(error::workflow)?;
        let Some(d) = state.details else { continue };
        let report = d.status_reports.iter().rev().find(|r| r.period == period);
        out.push(PeriodReportRow {
            reported: report.is_some(),
            traffic_light: report.map(|r| Light::from(r.light)),
            progress: report.map(|r| r.progress.as_str().to_owned()),
            cause_and_consequence: report
                .and_then(|r| r.cause_and_consequence.as_ref())
                .map(|t| t.as_str().to_owned()),
            corrective_action: report
                .and_then(|r| r.corrective_action.as_ref())
                .map(|t| t.as_str().to_owned()),
            assignment: BoardItem::from(row),
        });
    }
    Ok(out)
}
