//! Live updates over `/graphql/ws`: assignments that change and match a filter, and the
//! deadlines coming due. Both apply the caller's scope exactly as queries do: an event on an
//! assignment the caller may not see never produces a message.

use std::time::Duration;

use async_graphql::{Context, Result};
use futures_util::Stream;
use styr_workflow::Workflow;
use styr_workflow::domain::assignment::Assignment;
use styr_workflow::domain::{Aggregate, oslo_date};
use styr_workflow::projections::{BoardQuery, BoardSort};

use crate::assignment::{BoardFilterInput, BoardItem};
use crate::error;
use crate::viewer::{actor, scope};

/// How long to wait for the read models to include a change before skipping it.
const SETTLE: Duration = Duration::from_secs(10);

/// Every later change to an assignment the caller may see and `filter` matches, as its board
/// row after the change.
pub fn assignment_changes(
    ctx: &Context<'_>,
    filter: Option<BoardFilterInput>,
) -> Result<impl Stream<Item = BoardItem> + use<>> {
    let scope = scope(actor(ctx)?)?;
    let workflow = ctx.data_unchecked::<Workflow>().clone();
    let filter = filter.unwrap_or_default().to_filter();
    let start = *workflow.watch_log_head().borrow();
    let subscription = workflow.store().subscribe(start);
    Ok(futures_util::stream::unfold(
        (
            workflow,
            subscription,
            scope,
            filter,
            std::collections::VecDeque::new(),
        ),
        |(workflow, mut sub, scope, filter, mut pending)| async move {
            loop {
                if let Some(item) = pending.pop_front() {
                    return Some((item, (workflow, sub, scope, filter, pending)));
                }
                let batch = match sub.next_batch().await {
                    Ok(batch) => batch,
                    Err(e) => {
                        tracing::warn!(error = %e, "subscription read failed; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                };
                let Some(last) = batch.last().map(|e| e.position) else {
                    continue;
                };
                let mut ids: Vec<String> = batch
                    .iter()
                    .filter(|e| e.stream.stream_type() == Assignment::STREAM_TYPE)
                    .map(|e| e.stream.id().to_owned())
                    .collect();
                ids.dedup();
                if ids.is_empty() {
                    continue;
                }
                if workflow.projections().wait_for(last, SETTLE).await.is_err() {
                    tracing::warn!(position = last, "read models lag; skipping a change notice");
                    continue;
                }
                let mut query_filter = filter.clone();
                query_filter.ids = ids.clone();
                let query = BoardQuery {
                    scope: scope.clone(),
                    filter: query_filter,
                    sort: BoardSort::Updated,
                    descending: false,
                    offset: 0,
                    limit: 1000,
                    today: oslo_date(workflow.now()),
                };
                match workflow.projections().board(&query).await {
                    Ok(page) => pending.extend(page.rows.into_iter().map(BoardItem::from)),
                    Err(e) => tracing::warn!(error = %e, "subscription query failed"),
                }
            }
        },
    ))
}

/// The deadlines due within `within_days` (and overdue ones), sent at once and again whenever
/// the list changes — after a commit, or when the date turns.
pub fn deadlines_due(
    ctx: &Context<'_>,
    within_days: i32,
) -> Result<impl Stream<Item = Vec<BoardItem>> + use<>> {
    if !(0..=366).contains(&within_days) {
        return Err(error::validation(
            "withinDays",
            "withinDays must be from 0 to 366",
        ));
    }
    let scope = scope(actor(ctx)?)?;
    let workflow = ctx.data_unchecked::<Workflow>().clone();
    let head = workflow.watch_log_head();
    Ok(futures_util::stream::unfold(
        (workflow, head, scope, None::<Vec<String>>),
        move |(workflow, mut head, scope, mut last)| async move {
            loop {
                let position = *head.borrow_and_update();
                let _ = workflow.projections().wait_for(position, SETTLE).await;
                let today = oslo_date(workflow.now());
                let query = BoardQuery {
                    scope: scope.clone(),
                    filter: styr_workflow::projections::BoardFilter {
                        deadline_to: Some(today + chrono::Duration::days(i64::from(within_days))),
                        ..Default::default()
                    },
                    sort: BoardSort::NextDeadline,
                    descending: false,
                    offset: 0,
                    limit: 1000,
                    today,
                };
                if let Ok(page) = workflow.projections().board(&query).await {
                    let rows: Vec<_> = page
                        .rows
                        .into_iter()
                        .filter(|r| r.lifecycle == "active")
                        .collect();
                    let key: Vec<String> = rows
                        .iter()
                        .map(|r| format!("{}:{:?}:{}", r.assignment_id, r.next_deadline, today))
                        .collect();
                    if last.as_ref() != Some(&key) {
                        last = Some(key);
                        let items = rows.into_iter().map(BoardItem::from).collect();
                        return Some((items, (workflow, head, scope, last)));
                    }
                }
                // Wake on the next commit, or hourly so a list that changes only because the
                // date turned is sent too.
                let _ = tokio::time::timeout(Duration::from_secs(3600), head.changed()).await;
            }
        },
    ))
}
