//! Owns the Deadline aggregate (*frist*): one stream per dated obligation (an assignment
//! part, a calendar item, a reporting requirement). Set → moved (by which grant or
//! supplement) → met (by which delivery), missed (detected by the monitor once the Oslo date
//! has passed unmet; idempotent) or waived. A waived deadline can be reinstated (the part got
//! a date again), a met one reopened (its delivery was returned), and any of them reassigned
//! to another agency from an effective date (a transfer). Its history answers "how often and
//! by how many days did this slip". Also owns [`follow_ups`], the policy that maps assignment
//! events to deadline commands.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::aggregate::{Aggregate, By, CommandContext, oslo_date};
use crate::assignment::{
    Assignment, AssignmentDetails, AssignmentEvent, ChangeSource, Part, PartDelivery,
};
use crate::error::DomainError;
use crate::values::{
    AssignmentId, DeadlineId, DeadlineTerm, DeliveryId, ExtensionRequestId, ItemId, OrgCode,
    PartLabel, SupplementId, Text,
};

/// What the deadline is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Obligation {
    AssignmentPart {
        assignment_id: AssignmentId,
        part: Option<PartLabel>,
    },
    CalendarItem {
        item_id: ItemId,
    },
    ReportingRequirement {
        letter: String,
        item_id: ItemId,
    },
}

/// Why a deadline moved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MoveCause {
    ExtensionGranted {
        request_id: ExtensionRequestId,
    },
    Supplement {
        supplement_id: SupplementId,
        number: u32,
    },
    Other {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeadlineCommand {
    Set {
        obligation: Obligation,
        ministry: OrgCode,
        agency: OrgCode,
        due: NaiveDate,
    },
    Move {
        new_due: NaiveDate,
        cause: MoveCause,
    },
    Meet {
        delivery_id: Option<DeliveryId>,
        met_on: NaiveDate,
    },
    Waive {
        reason: String,
    },
    /// Set a waived deadline again (the part got a date after its date was withdrawn).
    Reinstate {
        due: NaiveDate,
        cause: MoveCause,
    },
    /// Open a met deadline again: the delivery that met it was returned for revision.
    Reopen {
        delivery_id: Option<DeliveryId>,
        reason: String,
        /// The due date in force from now, when it changed while the deadline was met
        /// (e.g. a supplement moved the part's date while the delivery awaited review).
        due: Option<NaiveDate>,
    },
    /// The obligation passes to another agency from `effective` (an assignment transfer).
    Reassign {
        to_agency: OrgCode,
        effective: NaiveDate,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineSet {
    pub obligation: Obligation,
    pub ministry: OrgCode,
    pub agency: OrgCode,
    pub due: NaiveDate,
    pub by: By,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineMoved {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub cause: MoveCause,
    pub by: By,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineMet {
    pub delivery_id: Option<DeliveryId>,
    pub met_on: NaiveDate,
    pub due_in_force: NaiveDate,
    pub by: By,
    pub at: DateTime<Utc>,
}

impl DeadlineMet {
    /// Days after the due date (0 when on time).
    pub fn days_late(&self) -> i64 {
        (self.met_on - self.due_in_force).num_days().max(0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineMissed {
    pub due: NaiveDate,
    /// Oslo calendar date on which the monitor noticed.
    pub detected_on: NaiveDate,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineWaived {
    pub reason: Text,
    pub by: By,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineReinstated {
    /// The due date in force when the deadline was waived.
    pub previous_due: NaiveDate,
    pub due: NaiveDate,
    pub cause: MoveCause,
    pub by: By,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineReopened {
    /// The returned delivery that had met the deadline.
    pub delivery_id: Option<DeliveryId>,
    pub reason: Text,
    /// The due date when it was met.
    pub previous_due: NaiveDate,
    /// The due date in force once reopened (differs when the part's date changed meanwhile).
    pub due: NaiveDate,
    pub by: By,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineReassigned {
    pub from_agency: OrgCode,
    pub to_agency: OrgCode,
    /// Oslo date from which `to_agency` answers for the deadline; before it, `from_agency`.
    pub effective: NaiveDate,
    pub by: By,
    pub at: DateTime<Utc>,
}

domain_events! {
    /// Everything that can happen to a deadline.
    pub enum DeadlineEvent {
        DeadlineSet(DeadlineSet) = 1,
        DeadlineMoved(DeadlineMoved) = 1,
        DeadlineMet(DeadlineMet) = 1,
        DeadlineMissed(DeadlineMissed) = 1,
        DeadlineWaived(DeadlineWaived) = 1,
        DeadlineReinstated(DeadlineReinstated) = 1,
        DeadlineReopened(DeadlineReopened) = 1,
        DeadlineReassigned(DeadlineReassigned) = 1,
    }
    upcaster = crate::aggregate::no_upcast;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum DeadlineStatus {
    Open,
    Met,
    Waived,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlineDetails {
    pub obligation: Obligation,
    pub ministry: OrgCode,
    /// The agency the obligation was last reassigned to (see [`Self::agency_on`] for who
    /// answers for it on a given date while a transfer is not yet effective).
    pub agency: OrgCode,
    pub original_due: NaiveDate,
    pub due: NaiveDate,
    pub moves: Vec<DeadlineMoved>,
    pub status: DeadlineStatus,
    /// The due dates the monitor has reported missed.
    pub missed: Vec<NaiveDate>,
    /// The meeting in force (cleared when the delivery is returned and the deadline reopens).
    pub met: Option<DeadlineMet>,
    pub reinstatements: Vec<DeadlineReinstated>,
    pub reopenings: Vec<DeadlineReopened>,
    pub reassignments: Vec<DeadlineReassigned>,
}

impl DeadlineDetails {
    /// Net slip in days from the first due date to the one in force.
    pub fn slip_days(&self) -> i64 {
        (self.due - self.original_due).num_days()
    }

    /// The agency answering for the deadline on Oslo date `date`: the latest reassignment
    /// effective by then, else the agency it was set for.
    pub fn agency_on(&self, date: NaiveDate) -> &OrgCode {
        self.reassignments
            .iter()
            .rev()
            .find(|r| r.effective <= date)
            .map(|r| &r.to_agency)
            .unwrap_or_else(|| {
                self.reassignments
                    .first()
                    .map_or(&self.agency, |r| &r.from_agency)
            })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Deadline {
    pub details: Option<DeadlineDetails>,
}

impl Deadline {
    /// The deadline monitor: given the instant `now`, the `DeadlineMissed` event to append,
    /// if the due date in force is before today's Oslo date, the deadline is open, and this
    /// due date was not reported missed before. Calling it again after appending returns
    /// nothing (idempotent); a deadline moved later can be missed again on its new date.
    pub fn detect_missed(&self, now: DateTime<Utc>) -> Vec<DeadlineEvent> {
        let Some(d) = &self.details else {
            return Vec::new();
        };
        let today = oslo_date(now);
        if d.status == DeadlineStatus::Open && today > d.due && !d.missed.contains(&d.due) {
            vec![DeadlineEvent::DeadlineMissed(DeadlineMissed {
                due: d.due,
                detected_on: today,
                at: now,
            })]
        } else {
            Vec::new()
        }
    }
}

impl Aggregate for Deadline {
    const STREAM_TYPE: &'static str = "deadline";
    type Command = DeadlineCommand;
    type Event = DeadlineEvent;

    fn decide(
        &self,
        command: DeadlineCommand,
        ctx: &CommandContext,
    ) -> Result<Vec<DeadlineEvent>, DomainError> {
        use DeadlineCommand as C;
        use DeadlineEvent as E;
        let by = ctx.actor.by();
        let at = ctx.now;
        if let C::Set {
            obligation,
            ministry,
            agency,
            due,
        } = command
        {
            if let Some(d) = &self.details {
                return Err(DomainError::conflict(
                    if d.status == DeadlineStatus::Waived {
                        "this deadline is already set and waived; reinstate it instead"
                    } else {
                        "this deadline is already set; move it instead"
                    },
                ));
            }
            ctx.actor.require_ministry(&ministry, "set deadlines")?;
            return Ok(vec![E::DeadlineSet(DeadlineSet {
                obligation,
                ministry,
                agency,
                due,
                by,
                at,
            })]);
        }
        let d = self
            .details
            .as_ref()
            .ok_or_else(|| DomainError::not_found("the deadline has not been set"))?;
        let require_status = |wanted: DeadlineStatus, action: &str| {
            if d.status == wanted {
                return Ok(());
            }
            let why = match d.status {
                DeadlineStatus::Open => "it is open",
                DeadlineStatus::Met => "it is met",
                DeadlineStatus::Waived => "it is waived",
            };
            Err(DomainError::rule(format!(
                "the deadline cannot {action}: {why}"
            )))
        };
        match command {
            C::Set { .. } => Err(DomainError::conflict("this deadline is already set")),
            C::Move { new_due, cause } => {
                ctx.actor.require_ministry(&d.ministry, "move deadlines")?;
                require_status(DeadlineStatus::Open, "change")?;
                if new_due == d.due {
                    return Err(DomainError::validation(
                        "new_due",
                        format!("the deadline is already {new_due}"),
                    ));
                }
                Ok(vec![E::DeadlineMoved(DeadlineMoved {
                    from: d.due,
                    to: new_due,
                    cause,
                    by,
                    at,
                })])
            }
            C::Meet {
                delivery_id,
                met_on,
            } => {
                ctx.actor
                    .require_agency(d.agency_on(ctx.today_oslo()), "meet deadlines")?;
                require_status(DeadlineStatus::Open, "change")?;
                Ok(vec![E::DeadlineMet(DeadlineMet {
                    delivery_id,
                    met_on,
                    due_in_force: d.due,
                    by,
                    at,
                })])
            }
            C::Waive { reason } => {
                ctx.actor.require_ministry(&d.ministry, "waive deadlines")?;
                require_status(DeadlineStatus::Open, "change")?;
                Ok(vec![E::DeadlineWaived(DeadlineWaived {
                    reason: Text::new("reason", reason)?,
                    by,
                    at,
                })])
            }
            C::Reinstate { due, cause } => {
                ctx.actor
                    .require_ministry(&d.ministry, "reinstate deadlines")?;
                require_status(DeadlineStatus::Waived, "be reinstated")?;
                Ok(vec![E::DeadlineReinstated(DeadlineReinstated {
                    previous_due: d.due,
                    due,
                    cause,
                    by,
                    at,
                })])
            }
            C::Reopen {
                delivery_id,
                reason,
                due,
            } => {
                ctx.actor
                    .require_ministry(&d.ministry, "reopen deadlines")?;
                require_status(DeadlineStatus::Met, "be reopened")?;
                Ok(vec![E::DeadlineReopened(DeadlineReopened {
                    delivery_id,
                    reason: Text::new("reason", reason)?,
                    previous_due: d.due,
                    due: due.unwrap_or(d.due),
                    by,
                    at,
                })])
            }
            C::Reassign {
                to_agency,
                effective,
            } => {
                ctx.actor
                    .require_ministry(&d.ministry, "reassign deadlines")?;
                // Any status: a met deadline may reopen later and must know who answers then.
                if to_agency == d.agency {
                    return Err(DomainError::validation(
                        "to_agency",
                        format!("the deadline already belongs to {to_agency}"),
                    ));
                }
                if let Some(last) = d.reassignments.last()
                    && effective < last.effective
                {
                    return Err(DomainError::validation(
                        "effective",
                        format!(
                            "the previous reassignment takes effect on {}; a later one cannot take effect before it",
                            last.effective
                        ),
                    ));
                }
                Ok(vec![E::DeadlineReassigned(DeadlineReassigned {
                    from_agency: d.agency.clone(),
                    to_agency,
                    effective,
                    by,
                    at,
                })])
            }
        }
    }

    fn evolve(&mut self, event: &DeadlineEvent) {
        use DeadlineEvent as E;
        if let E::DeadlineSet(e) = event {
            self.details = Some(DeadlineDetails {
                obligation: e.obligation.clone(),
                ministry: e.ministry.clone(),
                agency: e.agency.clone(),
                original_due: e.due,
                due: e.due,
                moves: Vec::new(),
                status: DeadlineStatus::Open,
                missed: Vec::new(),
                met: None,
                reinstatements: Vec::new(),
                reopenings: Vec::new(),
                reassignments: Vec::new(),
            });
            return;
        }
        let Some(d) = self.details.as_mut() else {
            return;
        };
        match event {
            E::DeadlineSet(_) => {}
            E::DeadlineMoved(e) => {
                d.due = e.to;
                d.moves.push(e.clone());
            }
            E::DeadlineMet(e) => {
                d.status = DeadlineStatus::Met;
                d.met = Some(e.clone());
            }
            E::DeadlineMissed(e) => d.missed.push(e.due),
            E::DeadlineWaived(_) => d.status = DeadlineStatus::Waived,
            E::DeadlineReinstated(e) => {
                d.status = DeadlineStatus::Open;
                d.due = e.due;
                d.reinstatements.push(e.clone());
            }
            E::DeadlineReopened(e) => {
                d.status = DeadlineStatus::Open;
                d.due = e.due;
                d.met = None;
                d.reopenings.push(e.clone());
            }
            E::DeadlineReassigned(e) => {
                d.agency = e.to_agency.clone();
                d.reassignments.push(e.clone());
            }
        }
    }
}

/// Policy: the deadline commands an assignment event implies, given the assignment's state
/// *before* the event. The workflow runs them against the Deadline streams in the same
/// multi-stream append, acting as the same actor.
///
/// The assignment keeps, per part, the status these commands give its Deadline stream
/// ([`crate::assignment::Part::deadline_status`]), so the policy only issues commands the
/// stream accepts: a date for a part that never had one sets the deadline, for a waived one
/// reinstates it, for an open one moves it; a delivery meets an open deadline, a returned
/// delivery reopens it (a late revision then shows as a slip); withdrawing the date,
/// cancelling or carrying over waives it; a transfer reassigns it to the receiving agency
/// from the transfer's effective date.
pub fn follow_ups(
    before: &Assignment,
    event: &AssignmentEvent,
) -> Vec<(DeadlineId, DeadlineCommand)> {
    use AssignmentEvent as E;
    if let E::AssignmentIssued(e) = event {
        return e
            .parts
            .iter()
            .filter_map(|p| {
                p.deadline.date().map(|due| {
                    (
                        p.deadline_id,
                        DeadlineCommand::Set {
                            obligation: Obligation::AssignmentPart {
                                assignment_id: e.assignment_id,
                                part: p.label.clone(),
                            },
                            ministry: e.ministry.clone(),
                            agency: e.agency.clone(),
                            due,
                        },
                    )
                })
            })
            .collect();
    }
    let Some(d) = &before.details else {
        return Vec::new();
    };
    let with_status = |label: &Option<PartLabel>, status: DeadlineStatus| {
        d.part(label).filter(|p| p.deadline_status == Some(status))
    };
    let one = |p: Option<&Part>, cmd: DeadlineCommand| {
        p.map(|p| vec![(p.deadline_id, cmd)]).unwrap_or_default()
    };
    match event {
        E::DeadlineAgreed(e) => d
            .part(&e.part)
            .map(|p| {
                dated(
                    d,
                    p,
                    e.date,
                    MoveCause::Other {
                        reason: "agreed in the dialogue".into(),
                    },
                )
            })
            .unwrap_or_default(),
        E::ExtensionGranted(e) => one(
            with_status(&e.part, DeadlineStatus::Open),
            DeadlineCommand::Move {
                new_due: e.new_date,
                cause: MoveCause::ExtensionGranted {
                    request_id: e.request_id,
                },
            },
        ),
        E::PartDeadlineChanged(e) => {
            let Some(p) = d.part(&e.part) else {
                return Vec::new();
            };
            match e.deadline {
                DeadlineTerm::Date(due) => {
                    let cause = match &e.source {
                        ChangeSource::Supplement {
                            supplement_id,
                            number,
                        } => MoveCause::Supplement {
                            supplement_id: *supplement_id,
                            number: *number,
                        },
                        ChangeSource::Direct => MoveCause::Other {
                            reason: "changed by the ministry".into(),
                        },
                    };
                    dated(d, p, due, cause)
                }
                _ => one(
                    with_status(&e.part, DeadlineStatus::Open),
                    DeadlineCommand::Waive {
                        reason: "the dated deadline was withdrawn".into(),
                    },
                ),
            }
        }
        E::AssignmentDelivered(e) => one(
            with_status(&e.part, DeadlineStatus::Open),
            DeadlineCommand::Meet {
                delivery_id: Some(e.delivery_id),
                met_on: e.delivered_on,
            },
        ),
        E::DeliveryReturned(e) => {
            let Some(p) = d.part(&e.part) else {
                return Vec::new();
            };
            match (p.deadline_status, p.deadline.date()) {
                (Some(DeadlineStatus::Met), due) => {
                    let mut cmds = vec![(
                        p.deadline_id,
                        DeadlineCommand::Reopen {
                            delivery_id: Some(e.delivery_id),
                            reason: format!("the delivery was returned for revision: {}", e.reason),
                            due,
                        },
                    )];
                    if due.is_none() {
                        // The date was withdrawn while the delivery awaited review.
                        cmds.push((
                            p.deadline_id,
                            DeadlineCommand::Waive {
                                reason: "the dated deadline was withdrawn".into(),
                            },
                        ));
                    }
                    cmds
                }
                // Dated while the delivery awaited review: the date binds again now.
                (None | Some(DeadlineStatus::Waived), Some(due)) => dated_regardless(
                    d,
                    p,
                    due,
                    MoveCause::Other {
                        reason: "the delivery was returned for revision".into(),
                    },
                ),
                _ => Vec::new(),
            }
        }
        E::AssignmentCancelled(_) | E::AssignmentCarriedOver(_) => {
            let reason = if matches!(event, E::AssignmentCancelled(_)) {
                "the assignment was cancelled"
            } else {
                "the assignment was carried over to the next year"
            };
            d.parts
                .iter()
                .filter(|p| p.deadline_status == Some(DeadlineStatus::Open))
                .map(|p| {
                    (
                        p.deadline_id,
                        DeadlineCommand::Waive {
                            reason: reason.into(),
                        },
                    )
                })
                .collect()
        }
        E::AssignmentTransferred(e) => d
            .parts
            .iter()
            .filter(|p| p.deadline_status.is_some())
            .map(|p| {
                (
                    p.deadline_id,
                    DeadlineCommand::Reassign {
                        to_agency: e.to_agency.clone(),
                        effective: e.effective,
                    },
                )
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The commands that give part `p` the due date `due`, by its stream's status. Nothing while
/// the part has a delivery awaiting review or accepted: the date does not bind then (a
/// return applies it, see the `DeliveryReturned` arm).
fn dated(
    d: &AssignmentDetails,
    p: &Part,
    due: NaiveDate,
    cause: MoveCause,
) -> Vec<(DeadlineId, DeadlineCommand)> {
    if matches!(
        p.delivery,
        PartDelivery::AwaitingReview(_) | PartDelivery::Accepted(_)
    ) {
        return Vec::new();
    }
    dated_regardless(d, p, due, cause)
}

fn dated_regardless(
    d: &AssignmentDetails,
    p: &Part,
    due: NaiveDate,
    cause: MoveCause,
) -> Vec<(DeadlineId, DeadlineCommand)> {
    match p.deadline_status {
        None => {
            // A stream set after transfers starts with the original agency and records each
            // transfer, so that whoever answers on a given date can meet it.
            let original = d.transfers.first().map_or(&d.agency, |t| &t.from_agency);
            let mut cmds = vec![(
                p.deadline_id,
                DeadlineCommand::Set {
                    obligation: Obligation::AssignmentPart {
                        assignment_id: d.id,
                        part: p.label.clone(),
                    },
                    ministry: d.ministry.clone(),
                    agency: original.clone(),
                    due,
                },
            )];
            cmds.extend(d.transfers.iter().map(|t| {
                (
                    p.deadline_id,
                    DeadlineCommand::Reassign {
                        to_agency: t.to_agency.clone(),
                        effective: t.effective,
                    },
                )
            }));
            cmds
        }
        Some(DeadlineStatus::Waived) => {
            vec![(p.deadline_id, DeadlineCommand::Reinstate { due, cause })]
        }
        Some(DeadlineStatus::Open) if p.deadline.date() != Some(due) => vec![(
            p.deadline_id,
            DeadlineCommand::Move {
                new_due: due,
                cause,
            },
        )],
        // Met: a delivery stands against it (see `dated`).
        Some(DeadlineStatus::Open) | Some(DeadlineStatus::Met) => Vec::new(),
    }
}

/// The Deadline stream of an obligation that has no stream id of its own in its event (a
/// calendar item, a reporting requirement): derived from the obligation's item id, so every
/// process finds the same stream.
pub fn deadline_id_for_item(item: crate::values::ItemId) -> DeadlineId {
    DeadlineId(uuid::Uuid::new_v5(&item.0, b"styr:deadline"))
}

/// Policy: the deadline commands a steering-calendar event implies, given the item's state
/// before it. Only items the agency must deliver (responsible side: agency) are obligations
/// with a Deadline stream; the ministry's own meetings are not. `item` is the calendar item's
/// stream id.
pub fn calendar_follow_ups(
    item: crate::values::ItemId,
    before: &crate::calendar::SteeringCalendarItem,
    event: &crate::calendar::CalendarEvent,
) -> Vec<(DeadlineId, DeadlineCommand)> {
    use crate::calendar::{CalendarEvent as E, Side};
    let id = deadline_id_for_item(item);
    if let E::CalendarItemScheduled(e) = event {
        return if e.responsible == Side::Agency {
            vec![(
                id,
                DeadlineCommand::Set {
                    obligation: Obligation::CalendarItem { item_id: item },
                    ministry: e.ministry.clone(),
                    agency: e.agency.clone(),
                    due: e.date,
                },
            )]
        } else {
            Vec::new()
        };
    }
    if !before
        .details
        .as_ref()
        .is_some_and(|d| d.responsible == Side::Agency)
    {
        return Vec::new();
    }
    let command = match event {
        E::CalendarItemRescheduled(e) => DeadlineCommand::Move {
            new_due: e.to,
            cause: MoveCause::Other {
                reason: e.reason.as_str().to_owned(),
            },
        },
        E::CalendarItemCompleted(e) => DeadlineCommand::Meet {
            delivery_id: None,
            met_on: oslo_date(e.at),
        },
        E::CalendarItemCancelled(e) => DeadlineCommand::Waive {
            reason: e.reason.as_str().to_owned(),
        },
        _ => return Vec::new(),
    };
    vec![(id, command)]
}

/// Policy: the deadline commands an allocation-letter event implies, given the letter before
/// it. Reporting requirements become obligations when the letter is issued (H1: a requirement
/// exists only as part of an issued letter or supplement); one added to an issued letter by a
/// supplement is set at once. Requirements without a date get no Deadline stream.
pub fn letter_follow_ups(
    before: &crate::allocation_letter::AllocationLetter,
    event: &crate::allocation_letter::LetterEvent,
) -> Vec<(DeadlineId, DeadlineCommand)> {
    use crate::allocation_letter::LetterEvent as E;
    let Some(d) = before.details.as_ref() else {
        return Vec::new();
    };
    let letter = crate::allocation_letter::letter_stream_id(&d.ministry, &d.agency, d.year);
    let set = |item: crate::values::ItemId, due| {
        (
            deadline_id_for_item(item),
            DeadlineCommand::Set {
                obligation: Obligation::ReportingRequirement {
                    letter: letter.clone(),
                    item_id: item,
                },
                ministry: d.ministry.clone(),
                agency: d.agency.clone(),
                due,
            },
        )
    };
    match event {
        E::LetterIssued(_) => d
            .requirements
            .iter()
            .filter_map(|(item, (r, _))| r.due.date().map(|due| set(*item, due)))
            .collect(),
        E::ReportingRequirementAdded(e) if d.is_issued() => e
            .requirement
            .due
            .date()
            .map(|due| vec![set(e.item_id, due)])
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
#[path = "deadline_tests.rs"]
mod tests;
