//! Owns the Deadline aggregate (*frist*): one stream per dated obligation (an assignment
//! part, a calendar item, a reporting requirement). Set → moved (by which grant or
//! supplement) → met (by which delivery), missed (detected by the monitor once the Oslo date
//! has passed unmet; idempotent) or waived. Its history answers "how often and by how many
//! days did this slip". Also owns [`follow_ups`], the policy that maps assignment events to
//! deadline commands.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::aggregate::{Aggregate, By, CommandContext, oslo_date};
use crate::assignment::{Assignment, AssignmentEvent, ChangeSource};
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

domain_events! {
    /// Everything that can happen to a deadline.
    pub enum DeadlineEvent {
        DeadlineSet(DeadlineSet) = 1,
        DeadlineMoved(DeadlineMoved) = 1,
        DeadlineMet(DeadlineMet) = 1,
        DeadlineMissed(DeadlineMissed) = 1,
        DeadlineWaived(DeadlineWaived) = 1,
    }
    upcaster = crate::aggregate::no_upcast;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadlineStatus {
    Open,
    Met,
    Waived,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlineDetails {
    pub obligation: Obligation,
    pub ministry: OrgCode,
    pub agency: OrgCode,
    pub original_due: NaiveDate,
    pub due: NaiveDate,
    pub moves: Vec<DeadlineMoved>,
    pub status: DeadlineStatus,
    /// The due dates the monitor has reported missed.
    pub missed: Vec<NaiveDate>,
    pub met: Option<DeadlineMet>,
}

impl DeadlineDetails {
    /// Net slip in days from the first due date to the one in force.
    pub fn slip_days(&self) -> i64 {
        (self.due - self.original_due).num_days()
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
            if self.details.is_some() {
                return Err(DomainError::conflict(
                    "this deadline is already set; move it instead",
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
        let closed = match d.status {
            DeadlineStatus::Open => None,
            DeadlineStatus::Met => Some("it is met"),
            DeadlineStatus::Waived => Some("it is waived"),
        };
        if let Some(why) = closed {
            return Err(DomainError::rule(format!(
                "the deadline cannot change: {why}"
            )));
        }
        match command {
            C::Set { .. } => Err(DomainError::conflict("this deadline is already set")),
            C::Move { new_due, cause } => {
                ctx.actor.require_ministry(&d.ministry, "move deadlines")?;
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
                ctx.actor.require_agency(&d.agency, "meet deadlines")?;
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
                Ok(vec![E::DeadlineWaived(DeadlineWaived {
                    reason: Text::new("reason", reason)?,
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
        }
    }
}

/// Policy: the deadline commands an assignment event implies, given the assignment's state
/// *before* the event. The workflow runs them against the Deadline streams (ideally in the
/// same multi-stream append), acting as the same actor.
pub fn follow_ups(
    before: &Assignment,
    event: &AssignmentEvent,
) -> Vec<(DeadlineId, DeadlineCommand)> {
    use AssignmentEvent as E;
    let set =
        |ministry: &OrgCode, agency: &OrgCode, id: AssignmentId, part: &Option<PartLabel>, due| {
            DeadlineCommand::Set {
                obligation: Obligation::AssignmentPart {
                    assignment_id: id,
                    part: part.clone(),
                },
                ministry: ministry.clone(),
                agency: agency.clone(),
                due,
            }
        };
    if let E::AssignmentIssued(e) = event {
        return e
            .parts
            .iter()
            .filter_map(|p| {
                p.deadline.date().map(|due| {
                    (
                        p.deadline_id,
                        set(&e.ministry, &e.agency, e.assignment_id, &p.label, due),
                    )
                })
            })
            .collect();
    }
    let Some(d) = &before.details else {
        return Vec::new();
    };
    // Once a part has a delivery its deadline stream is met; later changes do not touch it.
    let part_of = |label: &Option<PartLabel>| {
        d.part(label)
            .filter(|p| !d.deliveries.iter().any(|x| x.part == p.label))
    };
    match event {
        E::DeadlineAgreed(e) => part_of(&e.part)
            .map(|p| {
                vec![(
                    p.deadline_id,
                    set(&d.ministry, &d.agency, d.id, &e.part, e.date),
                )]
            })
            .unwrap_or_default(),
        E::ExtensionGranted(e) => part_of(&e.part)
            .map(|p| {
                vec![(
                    p.deadline_id,
                    DeadlineCommand::Move {
                        new_due: e.new_date,
                        cause: MoveCause::ExtensionGranted {
                            request_id: e.request_id,
                        },
                    },
                )]
            })
            .unwrap_or_default(),
        E::PartDeadlineChanged(e) => {
            let Some(p) = part_of(&e.part) else {
                return Vec::new();
            };
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
            let cmd = match (e.previous, e.deadline) {
                (DeadlineTerm::Date(_), DeadlineTerm::Date(new_due)) => {
                    DeadlineCommand::Move { new_due, cause }
                }
                (_, DeadlineTerm::Date(due)) => set(&d.ministry, &d.agency, d.id, &e.part, due),
                (DeadlineTerm::Date(_), _) => DeadlineCommand::Waive {
                    reason: "the dated deadline was withdrawn".into(),
                },
                _ => return Vec::new(),
            };
            vec![(p.deadline_id, cmd)]
        }
        E::AssignmentDelivered(e) => part_of(&e.part)
            .filter(|p| p.deadline.date().is_some())
            .map(|p| {
                vec![(
                    p.deadline_id,
                    DeadlineCommand::Meet {
                        delivery_id: Some(e.delivery_id),
                        met_on: e.delivered_on,
                    },
                )]
            })
            .unwrap_or_default(),
        E::AssignmentCancelled(_) | E::AssignmentCarriedOver(_) => {
            let reason = if matches!(event, E::AssignmentCancelled(_)) {
                "the assignment was cancelled"
            } else {
                "the assignment was carried over to the next year"
            };
            d.parts
                .iter()
                .filter(|p| p.deadline.date().is_some() && part_of(&p.label).is_some())
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
        _ => Vec::new(),
    }
}

#[cfg(test)]
#[path = "deadline_tests.rs"]
mod tests;
