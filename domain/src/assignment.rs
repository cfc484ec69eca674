//! Owns the Assignment aggregate (*oppdrag*: an assignment given in a tildelingsbrev or a
//! supplement): its commands, events, state and rules: issue, agree an open deadline, status
//! reports (traffic light), deadline extensions, deliveries per part, acceptance or return,
//! completion, cancellation, transfer to another agency and carry-over to the next year.
//!
//! Authorization is part of every decision: only agency users of the assignment's agency
//! report, deliver and request extensions; only ministry users of its ministry issue, agree,
//! accept, return, complete, amend, cancel, transfer and carry over.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::aggregate::{Aggregate, By, CommandContext};
use crate::deadline::{DeadlineCommand, DeadlineStatus};
use crate::error::{DomainError, EventDecodeError};
use crate::values::{
    AssignmentId, AssignmentReference, DeadlineId, DeadlineTerm, DeliveryId, DepartmentCode,
    ExtensionRequestId, OrgCode, PartLabel, Period, SupplementId, Text, TrafficLight, Year,
};

/// Where an assignment was given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AssignmentSource {
    /// The annual tildelingsbrev.
    Letter,
    /// Tillegg / supplerende tildelingsbrev nr. `number`.
    Supplement {
        supplement_id: SupplementId,
        number: u32,
    },
    /// A letter not (yet) imported, e.g. the 2024 transfer rows without a supplement number.
    Other { description: String },
}

/// What caused a change: the ministry acting directly, or an issued supplement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChangeSource {
    Direct,
    Supplement {
        supplement_id: SupplementId,
        number: u32,
    },
}

/// The normalised year-end status vocabulary (domain.md §5); the verbatim phrase is kept
/// beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NormalisedStatus {
    Completed,
    Delivered,
    InProgressOnTrack,
    InProgressDelayed,
    AwaitingMinistry,
    BlockedExternal,
    Transferred,
    Cancelled,
}

/// One part (a, b, …) of an assignment as given at issue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartSpec {
    /// `None` for the single unlabelled part (or the unlabelled extra sentence).
    pub label: Option<PartLabel>,
    pub title: Option<String>,
    pub deadline: DeadlineTerm,
}

/// Input of [`AssignmentCommand::Issue`]. The workflow chooses `assignment_id` (it is the
/// stream id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueAssignment {
    pub assignment_id: AssignmentId,
    /// `None` for items printed without a number (e.g. the 2024 MRA item).
    pub reference: Option<AssignmentReference>,
    pub ministry: OrgCode,
    pub agency: OrgCode,
    pub year: Year,
    pub department: Option<DepartmentCode>,
    pub title: String,
    pub description: String,
    /// The letter goal it serves, e.g. `"2.1"`.
    pub goal: Option<String>,
    pub source: AssignmentSource,
    pub parts: Vec<PartSpec>,
    /// Samarbeidspartnere: agencies named as partners ("i samarbeid med Hdir").
    pub collaborators: Vec<OrgCode>,
    pub carried_over_from: Option<AssignmentId>,
}

/// Input of [`AssignmentCommand::ReportStatus`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportStatus {
    pub period: Period,
    pub light: TrafficLight,
    pub progress: String,
    /// Årsak og konsekvens: required for yellow and red.
    pub cause_and_consequence: Option<String>,
    /// Handling: the corrective action, required for yellow and red.
    pub corrective_action: Option<String>,
    /// The year-end phrase as written, e.g. "Levert til HOD innen frist.".
    pub year_end_phrase: Option<String>,
    pub normalised: Option<NormalisedStatus>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssignmentCommand {
    Issue(Box<IssueAssignment>),
    /// Ministry sets the date of a part whose deadline was "to be agreed".
    AgreeDeadline {
        part: Option<PartLabel>,
        date: NaiveDate,
    },
    ReportStatus(Box<ReportStatus>),
    /// Amend the latest report for a period: a new event with a reason, never an update.
    CorrectStatus {
        report: Box<ReportStatus>,
        reason: String,
    },
    RequestExtension {
        part: Option<PartLabel>,
        new_date: NaiveDate,
        reason: String,
    },
    GrantExtension {
        request_id: ExtensionRequestId,
    },
    RejectExtension {
        request_id: ExtensionRequestId,
        reason: String,
    },
    Deliver {
        part: Option<PartLabel>,
        summary: String,
        document_ref: Option<String>,
        /// Other assignments the same document answers (domain.md §7.12); a reference only,
        /// their own status is not changed.
        also_answers: Vec<AssignmentId>,
    },
    AcceptDelivery {
        part: Option<PartLabel>,
    },
    ReturnDelivery {
        part: Option<PartLabel>,
        reason: String,
    },
    Complete {
        note: Option<String>,
    },
    Amend {
        title: Option<String>,
        description: Option<String>,
        source: ChangeSource,
    },
    /// Change a part's deadline terms outright (a supplement amending the deadline).
    ChangeDeadline {
        part: Option<PartLabel>,
        deadline: DeadlineTerm,
        source: ChangeSource,
    },
    Cancel {
        reason: String,
        source: ChangeSource,
    },
    Transfer {
        to_agency: OrgCode,
        reason: String,
        effective: NaiveDate,
        source: ChangeSource,
    },
    CarryOver {
        new_assignment_id: AssignmentId,
        new_reference: Option<AssignmentReference>,
        reason: String,
    },
}

// ---- events -------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedPart {
    pub label: Option<PartLabel>,
    pub title: Option<String>,
    pub deadline: DeadlineTerm,
    /// The Deadline stream that tracks this part's obligation.
    pub deadline_id: DeadlineId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignmentIssued {
    pub assignment_id: AssignmentId,
    pub reference: Option<AssignmentReference>,
    pub ministry: OrgCode,
    pub agency: OrgCode,
    pub year: Year,
    pub department: Option<DepartmentCode>,
    pub title: Text,
    pub description: String,
    pub goal: Option<String>,
    pub source: AssignmentSource,
    pub parts: Vec<IssuedPart>,
    pub collaborators: Vec<OrgCode>,
    pub carried_over_from: Option<AssignmentId>,
    pub by: By,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineAgreed {
    pub part: Option<PartLabel>,
    pub date: NaiveDate,
    pub by: By,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReported {
    pub period: Period,
    pub light: TrafficLight,
    pub progress: Text,
    pub cause_and_consequence: Option<Text>,
    pub corrective_action: Option<Text>,
    pub year_end_phrase: Option<String>,
    pub normalised: Option<NormalisedStatus>,
    pub by: By,
    pub at: DateTime<Utc>,
}

/// A correction of the latest status report for `period`: the report's content as it should
/// have read, and why. The original stays in the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCorrected {
    pub period: Period,
    pub light: TrafficLight,
    pub progress: Text,
    pub cause_and_consequence: Option<Text>,
    pub corrective_action: Option<Text>,
    pub year_end_phrase: Option<String>,
    pub normalised: Option<NormalisedStatus>,
    /// When the corrected report was made (its `at`).
    pub corrects_report_of: DateTime<Utc>,
    pub reason: Text,
    pub by: By,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtensionRequested {
    pub request_id: ExtensionRequestId,
    pub part: Option<PartLabel>,
    pub current_date: NaiveDate,
    pub new_date: NaiveDate,
    pub reason: Text,
    pub by: By,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtensionGranted {
    pub request_id: ExtensionRequestId,
    pub part: Option<PartLabel>,
    pub new_date: NaiveDate,
    pub by: By,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtensionRejected {
    pub request_id: ExtensionRequestId,
    pub reason: Text,
    pub by: By,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignmentDelivered {
    pub delivery_id: DeliveryId,
    pub part: Option<PartLabel>,
    pub summary: Text,
    pub document_ref: Option<String>,
    #[serde(default)]
    pub also_answers: Vec<AssignmentId>,
    /// Calendar date in Europe/Oslo.
    pub delivered_on: NaiveDate,
    /// The deadline in force when delivered; lateness is computed, not stored.
    pub deadline_in_force: Option<NaiveDate>,
    pub by: By,
    pub at: DateTime<Utc>,
}

impl AssignmentDelivered {
    /// Delivered after the deadline in force.
    pub fn is_late(&self) -> bool {
        self.deadline_in_force
            .is_some_and(|due| self.delivered_on > due)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryAccepted {
    pub delivery_id: DeliveryId,
    pub part: Option<PartLabel>,
    pub by: By,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryReturned {
    pub delivery_id: DeliveryId,
    pub part: Option<PartLabel>,
    pub reason: Text,
    pub by: By,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignmentCompleted {
    pub note: Option<String>,
    pub by: By,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignmentAmended {
    pub title: Option<Text>,
    pub description: Option<String>,
    pub source: ChangeSource,
    pub by: By,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartDeadlineChanged {
    pub part: Option<PartLabel>,
    pub previous: DeadlineTerm,
    pub deadline: DeadlineTerm,
    pub source: ChangeSource,
    pub by: By,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignmentCancelled {
    pub reason: Text,
    pub source: ChangeSource,
    pub by: By,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignmentTransferred {
    pub from_agency: OrgCode,
    pub to_agency: OrgCode,
    pub reason: Text,
    pub effective: NaiveDate,
    pub source: ChangeSource,
    pub by: By,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignmentCarriedOver {
    pub to_assignment: AssignmentId,
    pub to_reference: Option<AssignmentReference>,
    pub to_year: Year,
    pub reason: Text,
    pub by: By,
    pub at: DateTime<Utc>,
}

domain_events! {
    /// Everything that can happen to an assignment.
    pub enum AssignmentEvent {
        AssignmentIssued(AssignmentIssued) = 1,
        DeadlineAgreed(DeadlineAgreed) = 1,
        StatusReported(StatusReported) = 2,
        ExtensionRequested(ExtensionRequested) = 1,
        ExtensionGranted(ExtensionGranted) = 1,
        ExtensionRejected(ExtensionRejected) = 1,
        AssignmentDelivered(AssignmentDelivered) = 1,
        DeliveryAccepted(DeliveryAccepted) = 1,
        DeliveryReturned(DeliveryReturned) = 1,
        AssignmentCompleted(AssignmentCompleted) = 1,
        AssignmentAmended(AssignmentAmended) = 1,
        PartDeadlineChanged(PartDeadlineChanged) = 1,
        AssignmentCancelled(AssignmentCancelled) = 1,
        AssignmentTransferred(AssignmentTransferred) = 1,
        AssignmentCarriedOver(AssignmentCarriedOver) = 1,
        StatusCorrected(StatusCorrected) = 1,
    }
    upcaster = upcast;
}

/// `StatusReported` v1 (before the traffic-light rule) stored `{period, traffic_light, text,
/// by, at}`. v2 renames `traffic_light` → `light` and `text` → `progress`, and adds the cause,
/// action and year-end fields, which old reports did not have (so they load as `None`).
fn upcast(
    event_type: &str,
    schema_version: u32,
    payload: serde_json::Value,
) -> Result<(u32, serde_json::Value), EventDecodeError> {
    match (event_type, schema_version, payload) {
        ("StatusReported", 1, serde_json::Value::Object(mut m)) => {
            let malformed = |what: &str| EventDecodeError::MalformedPayload {
                event_type: event_type.to_string(),
                message: format!("v1 payload lacks {what}"),
            };
            let light = m
                .remove("traffic_light")
                .ok_or_else(|| malformed("traffic_light"))?;
            let text = m.remove("text").ok_or_else(|| malformed("text"))?;
            m.insert("light".into(), light);
            m.insert("progress".into(), text);
            for k in [
                "cause_and_consequence",
                "corrective_action",
                "year_end_phrase",
                "normalised",
            ] {
                m.insert(k.into(), serde_json::Value::Null);
            }
            Ok((2, serde_json::Value::Object(m)))
        }
        (_, v, p) => Ok((v, p)),
    }
}

// ---- state --------------------------------------------------------------------------------

/// Where a part stands with respect to delivery.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub enum PartDelivery {
    #[default]
    NotDelivered,
    AwaitingReview(DeliveryId),
    Returned(DeliveryId),
    Accepted(DeliveryId),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Part {
    pub label: Option<PartLabel>,
    pub title: Option<String>,
    pub deadline: DeadlineTerm,
    pub deadline_id: DeadlineId,
    pub delivery: PartDelivery,
    /// The status [`crate::deadline::follow_ups`] has given this part's Deadline stream
    /// (`None`: never set), so the policy only issues commands the stream accepts.
    pub deadline_status: Option<DeadlineStatus>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Lifecycle {
    Active,
    Completed,
    Cancelled,
    CarriedOver,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AssignmentDetails {
    pub id: AssignmentId,
    pub reference: Option<AssignmentReference>,
    pub ministry: OrgCode,
    /// The agency the assignment belongs to as of the latest event: a transfer sets it to
    /// the receiving agency at once. Who may act for it on a given date, while a transfer is
    /// not yet effective, is [`AssignmentDetails::agency_on`].
    pub agency: OrgCode,
    pub year: Year,
    pub department: Option<DepartmentCode>,
    pub title: Text,
    pub description: String,
    pub goal: Option<String>,
    pub source: AssignmentSource,
    pub collaborators: Vec<OrgCode>,
    pub parts: Vec<Part>,
    pub lifecycle: Lifecycle,
    pub status_reports: Vec<StatusReported>,
    pub deliveries: Vec<AssignmentDelivered>,
    pub pending_extension: Option<ExtensionRequested>,
    pub transfers: Vec<AssignmentTransferred>,
    pub carried_over_from: Option<AssignmentId>,
    pub carried_over_to: Option<AssignmentId>,
    pub cancel_reason: Option<Text>,
}

impl AssignmentDetails {
    fn part_index(&self, label: &Option<PartLabel>) -> Result<usize, DomainError> {
        self.parts
            .iter()
            .position(|p| &p.label == label)
            .ok_or_else(|| {
                DomainError::not_found(match label {
                    Some(l) => format!("this assignment has no part {l})"),
                    None => "this assignment has no unlabelled part; name the part".to_string(),
                })
            })
    }

    pub fn part(&self, label: &Option<PartLabel>) -> Option<&Part> {
        self.parts.iter().find(|p| &p.label == label)
    }

    /// The agency responsible on Oslo date `date`: the receiving agency of the latest
    /// transfer effective by then, else the agency it was issued to. Before a transfer's
    /// `effective` date the previous agency still reports, delivers and requests extensions.
    pub fn agency_on(&self, date: NaiveDate) -> &OrgCode {
        self.transfers
            .iter()
            .rev()
            .find(|t| t.effective <= date)
            .map(|t| &t.to_agency)
            .unwrap_or_else(|| {
                self.transfers
                    .first()
                    .map_or(&self.agency, |t| &t.from_agency)
            })
    }

    fn require_active(&self, action: &str) -> Result<(), DomainError> {
        let why = match self.lifecycle {
            Lifecycle::Active => return Ok(()),
            Lifecycle::Completed => "it is completed",
            Lifecycle::Cancelled => "it is cancelled",
            Lifecycle::CarriedOver => "it was carried over to the next year",
        };
        Err(DomainError::rule(format!(
            "cannot {action} on this assignment: {why}"
        )))
    }
}

/// The assignment's state; `details` is `None` until issued.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Assignment {
    pub details: Option<AssignmentDetails>,
}

fn text(field: &str, s: &str) -> Result<Text, DomainError> {
    Text::new(field, s)
}

fn opt_text(field: &str, s: &Option<String>) -> Result<Option<Text>, DomainError> {
    match s {
        Some(s) if !s.trim().is_empty() => Ok(Some(text(field, s)?)),
        _ => Ok(None),
    }
}

fn part_name(label: &Option<PartLabel>) -> String {
    match label {
        Some(l) => format!("part {l})"),
        None => "the assignment".to_string(),
    }
}

impl Assignment {
    fn issued(&self) -> Result<&AssignmentDetails, DomainError> {
        self.details
            .as_ref()
            .ok_or_else(|| DomainError::not_found("the assignment has not been issued"))
    }

    fn issue(
        &self,
        cmd: IssueAssignment,
        ctx: &CommandContext,
    ) -> Result<Vec<AssignmentEvent>, DomainError> {
        if self.details.is_some() {
            return Err(DomainError::conflict("this assignment is already issued"));
        }
        ctx.actor
            .require_ministry(&cmd.ministry, "issue assignments")?;
        let title = text("title", &cmd.title)?;
        if let Some(r) = &cmd.reference
            && r.year() != cmd.year
        {
            return Err(DomainError::validation(
                "reference",
                format!("{r} does not belong to the year {}", cmd.year),
            ));
        }
        if cmd.agency == cmd.ministry {
            return Err(DomainError::validation(
                "agency",
                "an assignment is given to an agency, not to the ministry itself",
            ));
        }
        if cmd.parts.is_empty() {
            return Err(DomainError::validation(
                "parts",
                "an assignment needs at least one part",
            ));
        }
        let mut seen: Vec<&Option<PartLabel>> = Vec::new();
        for p in &cmd.parts {
            if seen.contains(&&p.label) {
                return Err(DomainError::validation(
                    "parts",
                    format!("{} is listed twice", part_name(&p.label)),
                ));
            }
            seen.push(&p.label);
        }
        let parts = cmd
            .parts
            .into_iter()
            .map(|p| IssuedPart {
                label: p.label,
                title: p.title,
                deadline: p.deadline,
                deadline_id: DeadlineId(ctx.next_id()),
            })
            .collect();
        Ok(vec![AssignmentEvent::AssignmentIssued(AssignmentIssued {
            assignment_id: cmd.assignment_id,
            reference: cmd.reference,
            ministry: cmd.ministry,
            agency: cmd.agency,
            year: cmd.year,
            department: cmd.department,
            title,
            description: cmd.description,
            goal: cmd.goal,
            source: cmd.source,
            parts,
            collaborators: cmd.collaborators,
            carried_over_from: cmd.carried_over_from,
            by: ctx.actor.by(),
            at: ctx.now,
        })])
    }

    /// The Issue command for next year's continuation: the parts not yet accepted, with
    /// deadlines to be agreed, linked back to this assignment. Use with
    /// [`AssignmentCommand::CarryOver`] (see [`crate::multi::carry_over`]).
    pub fn next_year_issue(
        &self,
        new_assignment_id: AssignmentId,
        new_reference: Option<AssignmentReference>,
    ) -> Result<IssueAssignment, DomainError> {
        let d = self.issued()?;
        let parts = d
            .parts
            .iter()
            .filter(|p| !matches!(p.delivery, PartDelivery::Accepted(_)))
            .map(|p| PartSpec {
                label: p.label.clone(),
                title: p.title.clone(),
                deadline: DeadlineTerm::ToBeAgreed,
            })
            .collect();
        Ok(IssueAssignment {
            assignment_id: new_assignment_id,
            reference: new_reference,
            ministry: d.ministry.clone(),
            agency: d.agency.clone(),
            year: d.year.next()?,
            department: d.department.clone(),
            title: d.title.as_str().to_string(),
            description: d.description.clone(),
            goal: d.goal.clone(),
            source: AssignmentSource::Other {
                description: format!("carried over from {}", d.year),
            },
            parts,
            collaborators: d.collaborators.clone(),
            carried_over_from: Some(d.id),
        })
    }
}

impl Aggregate for Assignment {
    const STREAM_TYPE: &'static str = "assignment";
    type Command = AssignmentCommand;
    type Event = AssignmentEvent;

    fn decide(
        &self,
        command: AssignmentCommand,
        ctx: &CommandContext,
    ) -> Result<Vec<AssignmentEvent>, DomainError> {
        use AssignmentCommand as C;
        use AssignmentEvent as E;
        let command = match command {
            C::Issue(cmd) => return self.issue(*cmd, ctx),
            other => other,
        };
        let d = self.issued()?;
        let by = ctx.actor.by();
        let at = ctx.now;
        match command {
            C::Issue(_) => Err(DomainError::conflict("this assignment is already issued")),
            C::AgreeDeadline { part, date } => {
                ctx.actor.require_ministry(&d.ministry, "agree deadlines")?;
                d.require_active("agree a deadline")?;
                let p = &d.parts[d.part_index(&part)?];
                if p.deadline != DeadlineTerm::ToBeAgreed {
                    return Err(DomainError::rule(format!(
                        "{} is not open for agreement; move a set deadline by extension or supplement",
                        part_name(&part)
                    )));
                }
                Ok(vec![E::DeadlineAgreed(DeadlineAgreed {
                    part,
                    date,
                    by,
                    at,
                })])
            }
            C::ReportStatus(r) => {
                ctx.actor
                    .require_agency(d.agency_on(ctx.today_oslo()), "report status")?;
                // The year-end status ("Fullført") may come after the ministry completed it.
                if d.lifecycle != Lifecycle::Completed {
                    d.require_active("report status")?;
                }
                Ok(vec![E::StatusReported(checked_report(*r, by, at)?)])
            }
            C::CorrectStatus { report, reason } => {
                ctx.actor
                    .require_agency(d.agency_on(ctx.today_oslo()), "correct status reports")?;
                let reason = text("reason", &reason)?;
                let Some(original) = d
                    .status_reports
                    .iter()
                    .rev()
                    .find(|s| s.period == report.period)
                else {
                    return Err(DomainError::not_found(format!(
                        "there is no status report for {:?} to correct",
                        report.period
                    )));
                };
                let corrected = checked_report(*report, by, at)?;
                let same = corrected.light == original.light
                    && corrected.progress == original.progress
                    && corrected.cause_and_consequence == original.cause_and_consequence
                    && corrected.corrective_action == original.corrective_action
                    && corrected.year_end_phrase == original.year_end_phrase
                    && corrected.normalised == original.normalised;
                if same {
                    return Err(DomainError::rule(
                        "the correction does not change the report",
                    ));
                }
                Ok(vec![E::StatusCorrected(StatusCorrected {
                    period: corrected.period,
                    light: corrected.light,
                    progress: corrected.progress,
                    cause_and_consequence: corrected.cause_and_consequence,
                    corrective_action: corrected.corrective_action,
                    year_end_phrase: corrected.year_end_phrase,
                    normalised: corrected.normalised,
                    corrects_report_of: original.at,
                    reason,
                    by: corrected.by,
                    at: corrected.at,
                })])
            }
            C::RequestExtension {
                part,
                new_date,
                reason,
            } => {
                ctx.actor
                    .require_agency(d.agency_on(ctx.today_oslo()), "request deadline extensions")?;
                d.require_active("request an extension")?;
                let reason = text("reason", &reason)?;
                if d.pending_extension.is_some() {
                    return Err(DomainError::rule(
                        "an extension request is already pending; wait for the ministry's answer",
                    ));
                }
                let p = &d.parts[d.part_index(&part)?];
                // A returned delivery does not count: the revision is still due.
                if matches!(
                    p.delivery,
                    PartDelivery::AwaitingReview(_) | PartDelivery::Accepted(_)
                ) {
                    return Err(DomainError::rule(format!(
                        "{} is already delivered; its deadline can no longer be extended",
                        part_name(&part)
                    )));
                }
                let Some(current) = p.deadline.date() else {
                    return Err(DomainError::rule(format!(
                        "{} has no date to extend",
                        part_name(&part)
                    )));
                };
                if new_date <= current {
                    return Err(DomainError::validation(
                        "new_date",
                        format!("the new date must be after the current deadline {current}"),
                    ));
                }
                Ok(vec![E::ExtensionRequested(ExtensionRequested {
                    request_id: ExtensionRequestId(ctx.next_id()),
                    part,
                    current_date: current,
                    new_date,
                    reason,
                    by,
                    at,
                })])
            }
            C::GrantExtension { request_id } => {
                ctx.actor
                    .require_ministry(&d.ministry, "grant deadline extensions")?;
                d.require_active("grant an extension")?;
                let pending = pending_request(d, request_id)?;
                let in_force = d.part(&pending.part).and_then(|p| p.deadline.date());
                if in_force != Some(pending.current_date) {
                    return Err(DomainError::rule(format!(
                        "the request was made against the deadline {}, but the deadline in force is {}; the agency must ask again",
                        pending.current_date,
                        in_force.map_or("no longer a date".to_string(), |d| d.to_string())
                    )));
                }
                Ok(vec![E::ExtensionGranted(ExtensionGranted {
                    request_id,
                    part: pending.part.clone(),
                    new_date: pending.new_date,
                    by,
                    at,
                })])
            }
            C::RejectExtension { request_id, reason } => {
                ctx.actor
                    .require_ministry(&d.ministry, "reject deadline extensions")?;
                d.require_active("reject an extension")?;
                let reason = text("reason", &reason)?;
                pending_request(d, request_id)?;
                Ok(vec![E::ExtensionRejected(ExtensionRejected {
                    request_id,
                    reason,
                    by,
                    at,
                })])
            }
            C::Deliver {
                part,
                summary,
                document_ref,
                also_answers,
            } => {
                ctx.actor
                    .require_agency(d.agency_on(ctx.today_oslo()), "deliver")?;
                if also_answers.contains(&d.id) {
                    return Err(DomainError::validation(
                        "also_answers",
                        "a delivery cannot also answer its own assignment",
                    ));
                }
                d.require_active("deliver")?;
                let summary = text("summary", &summary)?;
                let p = &d.parts[d.part_index(&part)?];
                match p.delivery {
                    PartDelivery::NotDelivered | PartDelivery::Returned(_) => {}
                    PartDelivery::AwaitingReview(_) => {
                        return Err(DomainError::rule(format!(
                            "{} is already delivered and awaits the ministry's review",
                            part_name(&part)
                        )));
                    }
                    PartDelivery::Accepted(_) => {
                        return Err(DomainError::rule(format!(
                            "{} is already delivered and accepted",
                            part_name(&part)
                        )));
                    }
                }
                Ok(vec![E::AssignmentDelivered(AssignmentDelivered {
                    delivery_id: DeliveryId(ctx.next_id()),
                    part,
                    summary,
                    document_ref: document_ref.filter(|s| !s.trim().is_empty()),
                    also_answers,
                    delivered_on: ctx.today_oslo(),
                    deadline_in_force: p.deadline.date(),
                    by,
                    at,
                })])
            }
            C::AcceptDelivery { part } => {
                ctx.actor
                    .require_ministry(&d.ministry, "accept deliveries")?;
                d.require_active("accept a delivery")?;
                let i = d.part_index(&part)?;
                let PartDelivery::AwaitingReview(delivery_id) = d.parts[i].delivery else {
                    return Err(DomainError::rule(format!(
                        "{} has no delivery awaiting review",
                        part_name(&part)
                    )));
                };
                let mut events = vec![E::DeliveryAccepted(DeliveryAccepted {
                    delivery_id,
                    part,
                    by: by.clone(),
                    at,
                })];
                let all_others_accepted = d
                    .parts
                    .iter()
                    .enumerate()
                    .all(|(j, p)| j == i || matches!(p.delivery, PartDelivery::Accepted(_)));
                if all_others_accepted {
                    events.push(E::AssignmentCompleted(AssignmentCompleted {
                        note: None,
                        by,
                        at,
                    }));
                }
                Ok(events)
            }
            C::ReturnDelivery { part, reason } => {
                ctx.actor
                    .require_ministry(&d.ministry, "return deliveries")?;
                d.require_active("return a delivery")?;
                let reason = text("reason", &reason)?;
                let i = d.part_index(&part)?;
                let PartDelivery::AwaitingReview(delivery_id) = d.parts[i].delivery else {
                    return Err(DomainError::rule(format!(
                        "{} has no delivery awaiting review",
                        part_name(&part)
                    )));
                };
                Ok(vec![E::DeliveryReturned(DeliveryReturned {
                    delivery_id,
                    part,
                    reason,
                    by,
                    at,
                })])
            }
            C::Complete { note } => {
                ctx.actor
                    .require_ministry(&d.ministry, "complete assignments")?;
                d.require_active("complete")?;
                if let Some(p) = d
                    .parts
                    .iter()
                    .find(|p| matches!(p.delivery, PartDelivery::AwaitingReview(_)))
                {
                    return Err(DomainError::rule(format!(
                        "{} has a delivery awaiting review; accept or return it first",
                        part_name(&p.label)
                    )));
                }
                Ok(vec![E::AssignmentCompleted(AssignmentCompleted {
                    note: note.filter(|s| !s.trim().is_empty()),
                    by,
                    at,
                })])
            }
            C::Amend {
                title,
                description,
                source,
            } => {
                ctx.actor
                    .require_ministry(&d.ministry, "amend assignments")?;
                d.require_active("amend")?;
                let title = match title {
                    Some(t) => Some(text("title", &t)?),
                    None => None,
                };
                if title.is_none() && description.is_none() {
                    return Err(DomainError::validation(
                        "title",
                        "an amendment must change the title or the description",
                    ));
                }
                Ok(vec![E::AssignmentAmended(AssignmentAmended {
                    title,
                    description,
                    source,
                    by,
                    at,
                })])
            }
            C::ChangeDeadline {
                part,
                deadline,
                source,
            } => {
                ctx.actor
                    .require_ministry(&d.ministry, "change deadlines")?;
                d.require_active("change a deadline")?;
                let p = &d.parts[d.part_index(&part)?];
                if p.deadline == deadline {
                    return Err(DomainError::rule(format!(
                        "{} already has this deadline",
                        part_name(&part)
                    )));
                }
                Ok(vec![E::PartDeadlineChanged(PartDeadlineChanged {
                    part,
                    previous: p.deadline,
                    deadline,
                    source,
                    by,
                    at,
                })])
            }
            C::Cancel { reason, source } => {
                ctx.actor
                    .require_ministry(&d.ministry, "cancel assignments")?;
                d.require_active("cancel")?;
                let reason = text("reason", &reason)?;
                Ok(vec![E::AssignmentCancelled(AssignmentCancelled {
                    reason,
                    source,
                    by,
                    at,
                })])
            }
            C::Transfer {
                to_agency,
                reason,
                effective,
                source,
            } => {
                ctx.actor
                    .require_ministry(&d.ministry, "transfer assignments")?;
                d.require_active("transfer")?;
                let reason = text("reason", &reason)?;
                if to_agency == d.agency {
                    return Err(DomainError::validation(
                        "to_agency",
                        format!("the assignment already belongs to {to_agency}"),
                    ));
                }
                if to_agency == d.ministry {
                    return Err(DomainError::validation(
                        "to_agency",
                        "an assignment can only be transferred to an agency",
                    ));
                }
                if let Some(last) = d.transfers.last()
                    && effective < last.effective
                {
                    return Err(DomainError::validation(
                        "effective",
                        format!(
                            "the previous transfer takes effect on {}; a later transfer cannot take effect before it",
                            last.effective
                        ),
                    ));
                }
                Ok(vec![E::AssignmentTransferred(AssignmentTransferred {
                    from_agency: d.agency.clone(),
                    to_agency,
                    reason,
                    effective,
                    source,
                    by,
                    at,
                })])
            }
            C::CarryOver {
                new_assignment_id,
                new_reference,
                reason,
            } => {
                ctx.actor
                    .require_ministry(&d.ministry, "carry assignments over")?;
                d.require_active("carry over")?;
                let reason = text("reason", &reason)?;
                let to_year = d.year.next()?;
                if let Some(r) = &new_reference
                    && r.year() != to_year
                {
                    return Err(DomainError::validation(
                        "new_reference",
                        format!("{r} is not a reference for {to_year}"),
                    ));
                }
                if new_assignment_id == d.id {
                    return Err(DomainError::validation(
                        "new_assignment_id",
                        "the continuation needs a new assignment id",
                    ));
                }
                Ok(vec![E::AssignmentCarriedOver(AssignmentCarriedOver {
                    to_assignment: new_assignment_id,
                    to_reference: new_reference,
                    to_year,
                    reason,
                    by,
                    at,
                })])
            }
        }
    }

    fn evolve(&mut self, event: &AssignmentEvent) {
        use AssignmentEvent as E;
        if let E::AssignmentIssued(e) = event {
            self.details = Some(AssignmentDetails {
                id: e.assignment_id,
                reference: e.reference.clone(),
                ministry: e.ministry.clone(),
                agency: e.agency.clone(),
                year: e.year,
                department: e.department.clone(),
                title: e.title.clone(),
                description: e.description.clone(),
                goal: e.goal.clone(),
                source: e.source.clone(),
                collaborators: e.collaborators.clone(),
                parts: e
                    .parts
                    .iter()
                    .map(|p| Part {
                        label: p.label.clone(),
                        title: p.title.clone(),
                        deadline: p.deadline,
                        deadline_id: p.deadline_id,
                        delivery: PartDelivery::NotDelivered,
                        deadline_status: p.deadline.date().map(|_| DeadlineStatus::Open),
                    })
                    .collect(),
                lifecycle: Lifecycle::Active,
                status_reports: Vec::new(),
                deliveries: Vec::new(),
                pending_extension: None,
                transfers: Vec::new(),
                carried_over_from: e.carried_over_from,
                carried_over_to: None,
                cancel_reason: None,
            });
            return;
        }
        let implied = crate::deadline::follow_ups(self, event);
        let Some(d) = self.details.as_mut() else {
            return;
        };
        for (deadline_id, command) in &implied {
            if let Some(p) = d.parts.iter_mut().find(|p| p.deadline_id == *deadline_id) {
                match command {
                    DeadlineCommand::Set { .. }
                    | DeadlineCommand::Reinstate { .. }
                    | DeadlineCommand::Reopen { .. } => {
                        p.deadline_status = Some(DeadlineStatus::Open)
                    }
                    DeadlineCommand::Meet { .. } => p.deadline_status = Some(DeadlineStatus::Met),
                    DeadlineCommand::Waive { .. } => {
                        p.deadline_status = Some(DeadlineStatus::Waived)
                    }
                    DeadlineCommand::Move { .. } | DeadlineCommand::Reassign { .. } => {}
                }
            }
        }
        let clear_pending_of = |d: &mut AssignmentDetails, part: &Option<PartLabel>| {
            // A request made against a deadline that has since changed is moot.
            if d.pending_extension
                .as_ref()
                .is_some_and(|r| &r.part == part)
            {
                d.pending_extension = None;
            }
        };
        let set_part =
            |d: &mut AssignmentDetails, label: &Option<PartLabel>, f: &dyn Fn(&mut Part)| {
                if let Some(p) = d.parts.iter_mut().find(|p| &p.label == label) {
                    f(p);
                }
            };
        match event {
            E::AssignmentIssued(_) => {}
            E::DeadlineAgreed(e) => {
                set_part(d, &e.part, &|p| p.deadline = DeadlineTerm::Date(e.date));
                clear_pending_of(d, &e.part);
            }
            E::StatusReported(e) => d.status_reports.push(e.clone()),
            E::StatusCorrected(e) => {
                if let Some(r) = d
                    .status_reports
                    .iter_mut()
                    .rev()
                    .find(|r| r.period == e.period)
                {
                    r.light = e.light;
                    r.progress = e.progress.clone();
                    r.cause_and_consequence = e.cause_and_consequence.clone();
                    r.corrective_action = e.corrective_action.clone();
                    r.year_end_phrase = e.year_end_phrase.clone();
                    r.normalised = e.normalised;
                }
            }
            E::ExtensionRequested(e) => d.pending_extension = Some(e.clone()),
            E::ExtensionGranted(e) => {
                set_part(d, &e.part, &|p| p.deadline = DeadlineTerm::Date(e.new_date));
                d.pending_extension = None;
            }
            E::ExtensionRejected(_) => d.pending_extension = None,
            E::AssignmentDelivered(e) => {
                set_part(d, &e.part, &|p| {
                    p.delivery = PartDelivery::AwaitingReview(e.delivery_id)
                });
                d.deliveries.push(e.clone());
            }
            E::DeliveryAccepted(e) => set_part(d, &e.part, &|p| {
                p.delivery = PartDelivery::Accepted(e.delivery_id)
            }),
            E::DeliveryReturned(e) => set_part(d, &e.part, &|p| {
                p.delivery = PartDelivery::Returned(e.delivery_id)
            }),
            E::AssignmentCompleted(_) => d.lifecycle = Lifecycle::Completed,
            E::AssignmentAmended(e) => {
                if let Some(t) = &e.title {
                    d.title = t.clone();
                }
                if let Some(desc) = &e.description {
                    d.description = desc.clone();
                }
            }
            E::PartDeadlineChanged(e) => {
                set_part(d, &e.part, &|p| p.deadline = e.deadline);
                clear_pending_of(d, &e.part);
            }
            E::AssignmentCancelled(e) => {
                d.lifecycle = Lifecycle::Cancelled;
                d.cancel_reason = Some(e.reason.clone());
                d.pending_extension = None;
            }
            E::AssignmentTransferred(e) => {
                d.agency = e.to_agency.clone();
                d.pending_extension = None;
                d.transfers.push(e.clone());
            }
            E::AssignmentCarriedOver(e) => {
                d.lifecycle = Lifecycle::CarriedOver;
                d.carried_over_to = Some(e.to_assignment);
                d.pending_extension = None;
            }
        }
    }
}

/// A report's content checked: progress required; yellow and red must explain cause and
/// consequence and state the corrective action.
fn checked_report(
    r: ReportStatus,
    by: By,
    at: DateTime<Utc>,
) -> Result<StatusReported, DomainError> {
    let progress = text("progress", &r.progress)?;
    let cause = opt_text("cause_and_consequence", &r.cause_and_consequence)?;
    let action = opt_text("corrective_action", &r.corrective_action)?;
    if r.light != TrafficLight::Green {
        if cause.is_none() {
            return Err(DomainError::validation(
                "cause_and_consequence",
                "a yellow or red status must explain cause and consequence",
            ));
        }
        if action.is_none() {
            return Err(DomainError::validation(
                "corrective_action",
                "a yellow or red status must state the corrective action",
            ));
        }
    }
    Ok(StatusReported {
        period: r.period,
        light: r.light,
        progress,
        cause_and_consequence: cause,
        corrective_action: action,
        year_end_phrase: r.year_end_phrase.filter(|s| !s.trim().is_empty()),
        normalised: r.normalised,
        by,
        at,
    })
}

fn pending_request(
    d: &AssignmentDetails,
    request_id: ExtensionRequestId,
) -> Result<&ExtensionRequested, DomainError> {
    match &d.pending_extension {
        None => Err(DomainError::rule("no extension request is pending")),
        Some(p) if p.request_id != request_id => Err(DomainError::not_found(
            "that extension request is not the pending one",
        )),
        Some(p) => Ok(p),
    }
}

#[cfg(test)]
#[path = "assignment_tests.rs"]
mod tests;
