//! Audit reads: the history of any stream, any aggregate and the board *as of* an instant,
//! the decision trail of an assignment, differences between two instants, and the
//! completeness of the copies owed to Riksrevisjonen. Read-only: nothing here appends.
//!
//! Two time axes: every event has `recorded_at` (when the log learned it; never decreases
//! along the log) and `effective_at` (when it took effect; earlier for a late registration).
//! "As of T" means *what the log knew at T*: the events recorded up to T, i.e. a prefix of the
//! log ([`AsOf::recorded`]). Optionally the view is narrowed to what had *taken effect* by a
//! second instant ([`AsOf::effective_by`]), which shows a late registration where it belongs
//! in the real world. A correction is a later event; as of an instant before it is recorded,
//! the original stands.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::Value;
use styr_domain::assignment::{Assignment, AssignmentEvent, AssignmentSource, ChangeSource};
use styr_domain::correspondence::{CopyDelivered, Correspondence, CorrespondenceDetails};
use styr_domain::values::DeadlineTerm;
use styr_domain::{Aggregate, DomainEvent, oslo_date};
use styr_eventstore::{RecordedEvent, StreamId};

use crate::Workflow;
use crate::delivery::{Channel, channels_for};
use crate::error::WorkflowError;
use crate::handler::stream_of;
use crate::projections::{BoardFilter, BoardRow, BoardSort, Scope};

/// Which events a view includes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AsOf {
    /// Events at positions up to this one (those recorded by the chosen instant).
    pub position: u64,
    /// If set, only events that had taken effect by then.
    pub effective_by: Option<DateTime<Utc>>,
}

impl AsOf {
    pub fn includes(&self, e: &RecordedEvent) -> bool {
        e.position <= self.position && self.effective_by.is_none_or(|t| e.effective_at <= t)
    }
}

/// One changed field between two states, by JSON path (`/parts/0/deadline`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    pub path: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// One step in an assignment's decision trail.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrailEntry {
    pub position: u64,
    pub recorded_at: DateTime<Utc>,
    pub effective_at: DateTime<Utc>,
    pub actor: styr_eventstore::Actor,
    pub reason: Option<String>,
    /// `deadline_set`, `deadline_agreed`, `extension_requested`, `extension_granted`,
    /// `extension_rejected`, `deadline_changed`, `status_reported`, `status_corrected`,
    /// `delivered`, `delivery_accepted`, `delivery_returned`, `completed`, `cancelled`,
    /// `transferred`, `carried_over` or `amended`.
    pub kind: String,
    pub part: Option<String>,
    pub deadline_before: Option<String>,
    pub deadline_after: Option<String>,
    /// The letter or supplement the step came from, if any.
    pub source: Option<String>,
    pub detail: String,
}

/// How one item's copy stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CopyState {
    /// Delivered on every channel that serves its recipient.
    Delivered,
    /// Not yet attempted on some channel, or in flight.
    Pending,
    /// The last attempt on some channel failed; it will be retried.
    Failed,
    /// No configured channel serves its recipient.
    NoChannel,
}

/// One correspondence item in a completeness report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompletenessRow {
    pub item_id: String,
    pub kind: styr_domain::correspondence::CorrespondenceKind,
    pub title: String,
    pub occurred_at: DateTime<Utc>,
    pub ministry: Option<String>,
    pub agency: Option<String>,
    pub copy_to: String,
    pub content_sha256: String,
    pub exempt_legal_basis: Option<String>,
    pub state: CopyState,
    pub receipts: Vec<CopyDelivered>,
    pub attempts: u32,
    pub last_error: Option<String>,
}

/// Every item of a period with its copy's state; `missing` lists those not delivered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompletenessReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub agency: Option<String>,
    pub channels: Vec<String>,
    pub rows: Vec<CompletenessRow>,
    pub delivered: usize,
    pub missing: Vec<String>,
}

impl CompletenessReport {
    pub fn is_complete(&self) -> bool {
        self.missing.is_empty()
    }
}

/// One stored event as its aggregate's event type (older schema versions upcast).
pub(crate) fn decode<A: Aggregate>(r: &RecordedEvent) -> Result<A::Event, WorkflowError> {
    // From the stored text, which events read from the store always carry (parsed or not);
    // an event built elsewhere without it is decoded from its parsed payload.
    let decoded = if r.payload_text.is_empty() {
        A::Event::from_stored(&r.event_type, r.schema_version, r.payload.clone())
    } else {
        A::Event::from_stored_text(&r.event_type, r.schema_version, &r.payload_text)
    };
    decoded.map_err(|source| WorkflowError::Undecodable {
        stream: r.stream.to_string(),
        version: r.version,
        source,
    })
}

/// Decodes a stream's events into an aggregate state.
pub(crate) fn fold<A: Aggregate>(events: &[RecordedEvent]) -> Result<(A, u64), WorkflowError> {
    let mut state = A::default();
    let mut version = 0;
    for r in events {
        state.evolve(&decode::<A>(r)?);
        version = r.version;
    }
    Ok((state, version))
}

impl Workflow {
    /// The position the log had reached at instant `t` (0 before the first event).
    pub async fn position_at(&self, t: DateTime<Utc>) -> Result<u64, WorkflowError> {
        Ok(self.store().position_at(t).await?)
    }

    /// The events of a stream included in `at` (all of them with `None`).
    pub async fn history(
        &self,
        stream: &StreamId,
        at: Option<&AsOf>,
    ) -> Result<Vec<RecordedEvent>, WorkflowError> {
        let mut events = self.store().read_stream(stream, 0).await?;
        if let Some(at) = at {
            events.retain(|e| at.includes(e));
        }
        Ok(events)
    }

    /// An aggregate as it stood in view `at`: its state and the version it had reached.
    pub async fn load_as_of<A: Aggregate>(
        &self,
        stream_id: &str,
        at: &AsOf,
    ) -> Result<(A, u64), WorkflowError> {
        let stream = stream_of::<A>(stream_id)?;
        let events = self.history(&stream, Some(at)).await?;
        fold::<A>(&events)
    }

    /// The board as it stood in view `at`, computed from the events alone (not the read
    /// model): the rows a projection of exactly those events would hold, scoped and filtered,
    /// with "overdue" judged on `today`.
    pub async fn board_as_of(
        &self,
        at: &AsOf,
        scope: &Scope,
        filter: &BoardFilter,
        sort: BoardSort,
        today: NaiveDate,
    ) -> Result<Vec<BoardRow>, WorkflowError> {
        let mut rows = Vec::new();
        for id in self.store().stream_ids(Assignment::STREAM_TYPE).await? {
            let stream = stream_of::<Assignment>(&id)?;
            let events = self.history(&stream, Some(at)).await?;
            let Some(last) = events.last() else { continue };
            let (state, _) = fold::<Assignment>(&events)?;
            let Some(d) = state.details else { continue };
            let row = BoardRow::derive(&d, last.position, last.recorded_at);
            if scope.can_see(&row.ministry, &row.agency) && filter.matches(&row, today) {
                rows.push(row);
            }
        }
        crate::projections::sort_rows(&mut rows, sort, false);
        Ok(rows)
    }

    /// What changed in an aggregate between two views, field by field.
    pub async fn diff<A: Aggregate + Serialize>(
        &self,
        stream_id: &str,
        before: &AsOf,
        after: &AsOf,
    ) -> Result<Vec<FieldChange>, WorkflowError> {
        let (a, _) = self.load_as_of::<A>(stream_id, before).await?;
        let (b, _) = self.load_as_of::<A>(stream_id, after).await?;
        let a = serde_json::to_value(&a).unwrap_or(Value::Null);
        let b = serde_json::to_value(&b).unwrap_or(Value::Null);
        let mut changes = Vec::new();
        json_diff("", Some(&a), Some(&b), &mut changes);
        Ok(changes)
    }

    /// The decision trail of an assignment in view `at`.
    pub async fn decision_trail(
        &self,
        assignment_id: &str,
        at: &AsOf,
    ) -> Result<Vec<TrailEntry>, WorkflowError> {
        let stream = stream_of::<Assignment>(assignment_id)?;
        let events = self.history(&stream, Some(at)).await?;
        let mut out = Vec::new();
        let mut state = Assignment::default();
        for r in &events {
            let event = decode::<Assignment>(r)?;
            trail_entries(r, &state, &event, &mut out);
            state.evolve(&event);
        }
        Ok(out)
    }

    /// The correspondence items that occurred on the Oslo dates `from..=to` (of one agency, if
    /// given) that `scope` may see, in the order they occurred. Items of no dialogue (log
    /// checkpoints) are for auditors only.
    pub async fn correspondence(
        &self,
        scope: &Scope,
        agency: Option<&str>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<(String, CorrespondenceDetails)>, WorkflowError> {
        let mut items = Vec::new();
        for id in self.store().stream_ids(Correspondence::STREAM_TYPE).await? {
            let (item, _) = self.load::<Correspondence>(&id).await?;
            let Some(d) = item.details else { continue };
            let r = &d.registered;
            let on = oslo_date(r.occurred_at);
            if on < from || on > to {
                continue;
            }
            let visible = match (&r.ministry, &r.agency) {
                (Some(m), Some(a)) => scope.can_see(m.as_str(), a.as_str()),
                _ => *scope == Scope::All,
            };
            let wanted = agency.is_none_or(|a| r.agency.as_ref().is_some_and(|x| x.as_str() == a));
            if visible && wanted {
                items.push((id, d));
            }
        }
        items.sort_by(|(a_id, a), (b_id, b)| {
            (a.registered.occurred_at, a_id).cmp(&(b.registered.occurred_at, b_id))
        });
        Ok(items)
    }

    /// Every correspondence item that occurred on the Oslo dates `from..=to` (of one agency,
    /// if given) and the state of its copy on `channels`.
    pub async fn completeness(
        &self,
        scope: &Scope,
        agency: Option<&str>,
        from: NaiveDate,
        to: NaiveDate,
        channels: &[Channel],
    ) -> Result<CompletenessReport, WorkflowError> {
        let rows: Vec<CompletenessRow> = self
            .correspondence(scope, agency, from, to)
            .await?
            .into_iter()
            .map(|(id, d)| completeness_row(id, &d, channels))
            .collect();
        let missing = rows
            .iter()
            .filter(|r| r.state != CopyState::Delivered)
            .map(|r| r.item_id.clone())
            .collect::<Vec<_>>();
        Ok(CompletenessReport {
            from,
            to,
            agency: agency.map(str::to_owned),
            channels: channels.iter().map(|c| c.name.clone()).collect(),
            delivered: rows.len() - missing.len(),
            rows,
            missing,
        })
    }
}

fn completeness_row(
    item_id: String,
    d: &CorrespondenceDetails,
    channels: &[Channel],
) -> CompletenessRow {
    let r = &d.registered;
    let serving: Vec<&Channel> = channels_for(channels, d).collect();
    let receipts: Vec<CopyDelivered> = serving
        .iter()
        .filter_map(|c| d.delivered_on(&c.name).cloned())
        .collect();
    let failing = serving.iter().any(|c| {
        d.channels.get(&c.name).is_some_and(|s| {
            s.delivered.is_none() && s.in_flight.is_none() && s.last_error.is_some()
        })
    });
    let state = if serving.is_empty() {
        CopyState::NoChannel
    } else if receipts.len() == serving.len() {
        CopyState::Delivered
    } else if failing {
        CopyState::Failed
    } else {
        CopyState::Pending
    };
    CompletenessRow {
        item_id,
        kind: r.kind,
        title: r.title.clone(),
        occurred_at: r.occurred_at,
        ministry: r.ministry.as_ref().map(|m| m.to_string()),
        agency: r.agency.as_ref().map(|a| a.to_string()),
        copy_to: r.copy_to.to_string(),
        content_sha256: r.content_sha256.clone(),
        exempt_legal_basis: d
            .exemption
            .as_ref()
            .map(|e| e.legal_basis.as_str().to_owned()),
        state,
        receipts,
        attempts: d.channels.values().map(|c| c.attempts).sum(),
        last_error: d.channels.values().find_map(|c| {
            c.delivered
                .is_none()
                .then(|| c.last_error.clone())
                .flatten()
        }),
    }
}

/// The letter or supplement a payload says it came from (`source` field), if any.
pub fn origin_of(payload: &Value) -> Option<String> {
    let source = payload.get("source")?;
    match source.get("kind")?.as_str()? {
        "letter" => Some("tildelingsbrev".to_owned()),
        "supplement" => Some(format!(
            "supplement nr. {}",
            source.get("number").and_then(Value::as_u64).unwrap_or(0)
        )),
        "other" => source
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_owned),
        _ => None,
    }
}

fn term(t: &DeadlineTerm) -> String {
    match t.date() {
        Some(d) => d.to_string(),
        None => "to be agreed".to_owned(),
    }
}

fn change_source(s: &ChangeSource) -> Option<String> {
    match s {
        ChangeSource::Direct => None,
        ChangeSource::Supplement { number, .. } => Some(format!("supplement nr. {number}")),
    }
}

fn trail_entries(
    r: &RecordedEvent,
    before: &Assignment,
    event: &AssignmentEvent,
    out: &mut Vec<TrailEntry>,
) {
    use AssignmentEvent as E;
    let entry = |kind: &str,
                 part: Option<String>,
                 from: Option<String>,
                 to: Option<String>,
                 source: Option<String>,
                 detail: String| TrailEntry {
        position: r.position,
        recorded_at: r.recorded_at,
        effective_at: r.effective_at,
        actor: r.actor.clone(),
        reason: r.reason.clone(),
        kind: kind.to_owned(),
        part,
        deadline_before: from,
        deadline_after: to,
        source,
        detail,
    };
    let label = |p: &Option<styr_domain::values::PartLabel>| p.as_ref().map(|l| l.to_string());
    let current = |p: &Option<styr_domain::values::PartLabel>| {
        before
            .details
            .as_ref()
            .and_then(|d| d.part(p))
            .map(|part| term(&part.deadline))
    };
    match event {
        E::AssignmentIssued(e) => {
            let source = match &e.source {
                AssignmentSource::Letter => Some("tildelingsbrev".to_owned()),
                AssignmentSource::Supplement { number, .. } => {
                    Some(format!("supplement nr. {number}"))
                }
                AssignmentSource::Other { description } => Some(description.clone()),
            };
            for p in &e.parts {
                out.push(entry(
                    "deadline_set",
                    label(&p.label),
                    None,
                    Some(term(&p.deadline)),
                    source.clone(),
                    format!("issued: {}", e.title.as_str()),
                ));
            }
        }
        E::DeadlineAgreed(e) => out.push(entry(
            "deadline_agreed",
            label(&e.part),
            current(&e.part),
            Some(e.date.to_string()),
            None,
            "deadline agreed".into(),
        )),
        E::ExtensionRequested(e) => out.push(entry(
            "extension_requested",
            label(&e.part),
            Some(e.current_date.to_string()),
            Some(e.new_date.to_string()),
            None,
            e.reason.as_str().to_owned(),
        )),
        E::ExtensionGranted(e) => out.push(entry(
            "extension_granted",
            label(&e.part),
            current(&e.part),
            Some(e.new_date.to_string()),
            Some(format!("extension request {}", e.request_id)),
            "extension granted".into(),
        )),
        E::ExtensionRejected(e) => out.push(entry(
            "extension_rejected",
            None,
            None,
            None,
            Some(format!("extension request {}", e.request_id)),
            e.reason.as_str().to_owned(),
        )),
        E::PartDeadlineChanged(e) => out.push(entry(
            "deadline_changed",
            label(&e.part),
            Some(term(&e.previous)),
            Some(term(&e.deadline)),
            change_source(&e.source),
            "deadline changed".into(),
        )),
        E::StatusReported(e) => out.push(entry(
            "status_reported",
            None,
            None,
            None,
            None,
            format!(
                "{:?}: {} — {}",
                e.period,
                crate::projections::light_name(e.light),
                e.progress.as_str()
            ),
        )),
        E::StatusCorrected(e) => out.push(entry(
            "status_corrected",
            None,
            None,
            None,
            None,
            format!(
                "{:?}: {} — {} (correction: {})",
                e.period,
                crate::projections::light_name(e.light),
                e.progress.as_str(),
                e.reason.as_str()
            ),
        )),
        E::AssignmentDelivered(e) => out.push(entry(
            "delivered",
            label(&e.part),
            e.deadline_in_force.map(|d| d.to_string()),
            None,
            None,
            format!(
                "{}{}",
                e.summary.as_str(),
                if e.is_late() { " (late)" } else { "" }
            ),
        )),
        E::DeliveryAccepted(e) => out.push(entry(
            "delivery_accepted",
            label(&e.part),
            None,
            None,
            None,
            "accepted".into(),
        )),
        E::DeliveryReturned(e) => out.push(entry(
            "delivery_returned",
            label(&e.part),
            None,
            None,
            None,
            e.reason.as_str().to_owned(),
        )),
        E::AssignmentCompleted(e) => out.push(entry(
            "completed",
            None,
            None,
            None,
            None,
            e.note.clone().unwrap_or_default(),
        )),
        E::AssignmentCancelled(e) => out.push(entry(
            "cancelled",
            None,
            None,
            None,
            change_source(&e.source),
            e.reason.as_str().to_owned(),
        )),
        E::AssignmentTransferred(e) => out.push(entry(
            "transferred",
            None,
            None,
            None,
            change_source(&e.source),
            format!(
                "{} → {} from {}: {}",
                e.from_agency,
                e.to_agency,
                e.effective,
                e.reason.as_str()
            ),
        )),
        E::AssignmentCarriedOver(e) => out.push(entry(
            "carried_over",
            None,
            None,
            None,
            None,
            format!("to {}: {}", e.to_year, e.reason.as_str()),
        )),
        E::AssignmentAmended(e) => out.push(entry(
            "amended",
            None,
            None,
            None,
            change_source(&e.source),
            e.title
                .as_ref()
                .map(|t| t.as_str().to_owned())
                .unwrap_or_else(|| "description amended".into()),
        )),
    }
}

/// Appends the differences between `a` and `b` under `path`.
pub fn json_diff(path: &str, a: Option<&Value>, b: Option<&Value>, out: &mut Vec<FieldChange>) {
    match (a, b) {
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                json_diff(&format!("{path}/{k}"), x.get(k), y.get(k), out);
            }
        }
        (Some(Value::Array(x)), Some(Value::Array(y))) => {
            for i in 0..x.len().max(y.len()) {
                json_diff(&format!("{path}/{i}"), x.get(i), y.get(i), out);
            }
        }
        (x, y) if x != y => out.push(FieldChange {
            path: if path.is_empty() {
                "/".into()
            } else {
                path.to_owned()
            },
            before: x.cloned(),
            after: y.cloned(),
        }),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diff_reports_changed_added_and_removed_fields_by_path() {
        let mut out = Vec::new();
        json_diff(
            "",
            Some(&json!({"a": 1, "parts": [{"d": "2024-03-01"}], "gone": true})),
            Some(&json!({"a": 1, "parts": [{"d": "2024-04-01"}, {"d": null}], "new": 2})),
            &mut out,
        );
        let paths: Vec<&str> = out.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(paths, ["/gone", "/new", "/parts/0/d", "/parts/1"]);
        assert_eq!(out[2].before, Some(json!("2024-03-01")));
        assert_eq!(out[2].after, Some(json!("2024-04-01")));
        assert_eq!(out[0].after, None);
    }

    #[test]
    fn origin_names_the_supplement() {
        assert_eq!(
            origin_of(&json!({"source": {"kind": "supplement", "number": 2}})).as_deref(),
            Some("supplement nr. 2")
        );
        assert_eq!(
            origin_of(&json!({"source": {"kind": "letter"}})).as_deref(),
            Some("tildelingsbrev")
        );
        assert_eq!(origin_of(&json!({"x": 1})), None);
    }
}
