//! Owns the SteeringCalendarItem aggregate (*styringskalender*: the fixed deadlines and
//! meetings of the steering year). An item is scheduled, maybe rescheduled (with a reason),
//! then delivered (a report) or held (a meeting, later minutes recorded), or missed or
//! cancelled. Meetings record decisions and instructions; an instruction given in a
//! *fagmøte* (technical meeting) stays informal until a letter or supplement formalizes it
//! (hovedinstruks §5.1, rule H7).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::aggregate::{Aggregate, By, CommandContext};
use crate::error::DomainError;
use crate::values::{ItemId, OrgCode, SupplementId, Text};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    Tertial,
    HalfYear,
    Quarter,
    /// Årsrapport med årsregnskap.
    AnnualReport,
    BudgetInput,
    RiskAssessment,
    Accounts,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeetingKind {
    /// Etatsstyringsmøte: formal agency steering meeting.
    SteeringMeeting,
    /// Fagmøte: technical meeting, not a formal steering channel.
    TechnicalMeeting,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "of", rename_all = "snake_case")]
pub enum CalendarKind {
    ReportDue(ReportKind),
    Meeting(MeetingKind),
    Other,
}

/// Which side must act on the item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Ministry,
    Agency,
}

/// The formal document that formalizes an informal instruction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FormalSource {
    /// The allocation letter, by stream id (`HOD:DMP:2024`).
    Letter { letter: String },
    Supplement {
        supplement_id: SupplementId,
        number: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CalendarCommand {
    Schedule {
        ministry: OrgCode,
        agency: OrgCode,
        date: NaiveDate,
        kind: CalendarKind,
        title: String,
        responsible: Side,
    },
    Reschedule {
        date: NaiveDate,
        reason: String,
    },
    /// A report was delivered, or a meeting held; `document_ref` points to it.
    Complete {
        document_ref: String,
    },
    RecordMinutes {
        document_ref: String,
        decisions: Vec<String>,
        instructions: Vec<String>,
    },
    FormalizeInstruction {
        instruction_id: ItemId,
        source: FormalSource,
    },
    MarkMissed,
    Cancel {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarItemScheduled {
    pub ministry: OrgCode,
    pub agency: OrgCode,
    pub date: NaiveDate,
    pub kind: CalendarKind,
    pub title: Text,
    pub responsible: Side,
    pub by: By,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarItemRescheduled {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub reason: Text,
    pub by: By,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarItemCompleted {
    pub document_ref: Text,
    pub by: By,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instruction {
    pub instruction_id: ItemId,
    pub text: Text,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinutesRecorded {
    pub document_ref: Text,
    pub decisions: Vec<Text>,
    pub instructions: Vec<Instruction>,
    pub by: By,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstructionFormalized {
    pub instruction_id: ItemId,
    pub source: FormalSource,
    pub by: By,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarItemMissed {
    pub by: By,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarItemCancelled {
    pub reason: Text,
    pub by: By,
    pub at: DateTime<Utc>,
}

domain_events! {
    /// Everything that can happen to a steering calendar item.
    pub enum CalendarEvent {
        CalendarItemScheduled(CalendarItemScheduled) = 1,
        CalendarItemRescheduled(CalendarItemRescheduled) = 1,
        CalendarItemCompleted(CalendarItemCompleted) = 1,
        MinutesRecorded(MinutesRecorded) = 1,
        InstructionFormalized(InstructionFormalized) = 1,
        CalendarItemMissed(CalendarItemMissed) = 1,
        CalendarItemCancelled(CalendarItemCancelled) = 1,
    }
    upcaster = crate::aggregate::no_upcast;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalendarStatus {
    Scheduled,
    /// Delivered (report) or held (meeting).
    Completed,
    MinutesRecorded,
    Missed,
    Cancelled,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarDetails {
    pub ministry: OrgCode,
    pub agency: OrgCode,
    pub date: NaiveDate,
    pub kind: CalendarKind,
    pub title: Text,
    pub responsible: Side,
    pub status: CalendarStatus,
    pub reschedules: Vec<CalendarItemRescheduled>,
    pub decisions: Vec<Text>,
    /// Instructions with the source that formalized them, if any.
    pub instructions: Vec<(Instruction, Option<FormalSource>)>,
}

impl CalendarDetails {
    pub fn is_meeting(&self) -> bool {
        matches!(self.kind, CalendarKind::Meeting(_))
    }

    /// Instructions from a fagmøte that no letter or supplement has formalized yet. (An
    /// instruction from an etatsstyringsmøte is already in the formal line.)
    pub fn unformalized_instructions(&self) -> Vec<&Instruction> {
        if self.kind != CalendarKind::Meeting(MeetingKind::TechnicalMeeting) {
            return Vec::new();
        }
        self.instructions
            .iter()
            .filter(|(_, f)| f.is_none())
            .map(|(i, _)| i)
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SteeringCalendarItem {
    pub details: Option<CalendarDetails>,
}

impl Aggregate for SteeringCalendarItem {
    const STREAM_TYPE: &'static str = "calendar_item";
    type Command = CalendarCommand;
    type Event = CalendarEvent;

    fn decide(
        &self,
        command: CalendarCommand,
        ctx: &CommandContext,
    ) -> Result<Vec<CalendarEvent>, DomainError> {
        use CalendarCommand as C;
        use CalendarEvent as E;
        let by = ctx.actor.by();
        let at = ctx.now;
        if let C::Schedule {
            ministry,
            agency,
            date,
            kind,
            title,
            responsible,
        } = command
        {
            if self.details.is_some() {
                return Err(DomainError::conflict("this calendar item already exists"));
            }
            ctx.actor
                .require_ministry(&ministry, "schedule calendar items")?;
            return Ok(vec![E::CalendarItemScheduled(CalendarItemScheduled {
                ministry,
                agency,
                date,
                kind,
                title: Text::new("title", title)?,
                responsible,
                by,
                at,
            })]);
        }
        let d = self
            .details
            .as_ref()
            .ok_or_else(|| DomainError::not_found("the calendar item has not been scheduled"))?;
        let require_scheduled = |action: &str| {
            if d.status == CalendarStatus::Scheduled {
                Ok(())
            } else {
                Err(DomainError::rule(format!(
                    "cannot {action}: the item is no longer scheduled"
                )))
            }
        };
        let event = match command {
            C::Schedule { .. } => {
                return Err(DomainError::conflict("this calendar item already exists"));
            }
            C::Reschedule { date, reason } => {
                ctx.actor.require_ministry(&d.ministry, "reschedule")?;
                require_scheduled("reschedule")?;
                if date == d.date {
                    return Err(DomainError::validation(
                        "date",
                        format!("the item is already on {date}"),
                    ));
                }
                E::CalendarItemRescheduled(CalendarItemRescheduled {
                    from: d.date,
                    to: date,
                    reason: Text::new("reason", reason)?,
                    by,
                    at,
                })
            }
            C::Complete { document_ref } => {
                match (d.is_meeting(), d.responsible) {
                    (false, Side::Agency) => {
                        ctx.actor.require_agency(&d.agency, "deliver this report")?
                    }
                    _ => ctx
                        .actor
                        .require_ministry(&d.ministry, "complete this item")?,
                }
                require_scheduled("complete")?;
                E::CalendarItemCompleted(CalendarItemCompleted {
                    document_ref: Text::new("document_ref", document_ref)?,
                    by,
                    at,
                })
            }
            C::RecordMinutes {
                document_ref,
                decisions,
                instructions,
            } => {
                ctx.actor.require_ministry(&d.ministry, "record minutes")?;
                if !d.is_meeting() {
                    return Err(DomainError::rule("only meetings have minutes"));
                }
                if d.status != CalendarStatus::Completed {
                    return Err(DomainError::rule(
                        "minutes are recorded once, after the meeting is held",
                    ));
                }
                let decisions = decisions
                    .iter()
                    .map(|t| Text::new("decisions", t))
                    .collect::<Result<Vec<_>, _>>()?;
                let instructions = instructions
                    .iter()
                    .map(|t| {
                        Ok(Instruction {
                            instruction_id: ItemId(ctx.next_id()),
                            text: Text::new("instructions", t)?,
                        })
                    })
                    .collect::<Result<Vec<_>, DomainError>>()?;
                E::MinutesRecorded(MinutesRecorded {
                    document_ref: Text::new("document_ref", document_ref)?,
                    decisions,
                    instructions,
                    by,
                    at,
                })
            }
            C::FormalizeInstruction {
                instruction_id,
                source,
            } => {
                ctx.actor
                    .require_ministry(&d.ministry, "formalize instructions")?;
                match d
                    .instructions
                    .iter()
                    .find(|(i, _)| i.instruction_id == instruction_id)
                {
                    None => {
                        return Err(DomainError::not_found(
                            "no such instruction in these minutes",
                        ));
                    }
                    Some((_, Some(_))) => {
                        return Err(DomainError::conflict(
                            "this instruction is already formalized",
                        ));
                    }
                    Some((_, None)) => {}
                }
                E::InstructionFormalized(InstructionFormalized {
                    instruction_id,
                    source,
                    by,
                    at,
                })
            }
            C::MarkMissed => {
                ctx.actor
                    .require_ministry(&d.ministry, "mark items missed")?;
                require_scheduled("mark as missed")?;
                if ctx.today_oslo() <= d.date {
                    return Err(DomainError::rule(format!(
                        "the item is due {} and cannot be missed yet",
                        d.date
                    )));
                }
                E::CalendarItemMissed(CalendarItemMissed { by, at })
            }
            C::Cancel { reason } => {
                ctx.actor.require_ministry(&d.ministry, "cancel items")?;
                require_scheduled("cancel")?;
                E::CalendarItemCancelled(CalendarItemCancelled {
                    reason: Text::new("reason", reason)?,
                    by,
                    at,
                })
            }
        };
        Ok(vec![event])
    }

    fn evolve(&mut self, event: &CalendarEvent) {
        use CalendarEvent as E;
        if let E::CalendarItemScheduled(e) = event {
            self.details = Some(CalendarDetails {
                ministry: e.ministry.clone(),
                agency: e.agency.clone(),
                date: e.date,
                kind: e.kind,
                title: e.title.clone(),
                responsible: e.responsible,
                status: CalendarStatus::Scheduled,
                reschedules: Vec::new(),
                decisions: Vec::new(),
                instructions: Vec::new(),
            });
            return;
        }
        let Some(d) = self.details.as_mut() else {
            return;
        };
        match event {
            E::CalendarItemScheduled(_) => {}
            E::CalendarItemRescheduled(e) => {
                d.date = e.to;
                d.reschedules.push(e.clone());
            }
            E::CalendarItemCompleted(_) => d.status = CalendarStatus::Completed,
            E::MinutesRecorded(e) => {
                d.status = CalendarStatus::MinutesRecorded;
                d.decisions.extend(e.decisions.iter().cloned());
                d.instructions
                    .extend(e.instructions.iter().cloned().map(|i| (i, None)));
            }
            E::InstructionFormalized(e) => {
                if let Some((_, f)) = d
                    .instructions
                    .iter_mut()
                    .find(|(i, _)| i.instruction_id == e.instruction_id)
                {
                    *f = Some(e.source.clone());
                }
            }
            E::CalendarItemMissed(_) => d.status = CalendarStatus::Missed,
            E::CalendarItemCancelled(_) => d.status = CalendarStatus::Cancelled,
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::error::DomainErrorKind;
    use crate::testing::*;

    fn scheduled(kind: CalendarKind, responsible: Side) -> CalendarEvent {
        CalendarEvent::CalendarItemScheduled(CalendarItemScheduled {
            ministry: org("HOD"),
            agency: org("DMP"),
            date: date(2024, 9, 20),
            kind,
            title: Text::new("title", "Rapportering per andre tertial").unwrap(),
            responsible,
            by: ministry_actor("HOD").by(),
            at: t0(),
        })
    }
    fn tertial() -> CalendarEvent {
        scheduled(CalendarKind::ReportDue(ReportKind::Tertial), Side::Agency)
    }
    fn fagmote() -> CalendarEvent {
        scheduled(
            CalendarKind::Meeting(MeetingKind::TechnicalMeeting),
            Side::Ministry,
        )
    }
    fn held() -> CalendarEvent {
        CalendarEvent::CalendarItemCompleted(CalendarItemCompleted {
            document_ref: Text::new("document_ref", "invitation 24/1").unwrap(),
            by: ministry_actor("HOD").by(),
            at: t0(),
        })
    }

    #[test]
    fn given_nothing_when_ministry_schedules_then_scheduled() {
        TestFramework::<SteeringCalendarItem>::with(ministry_ctx("HOD"))
            .when(CalendarCommand::Schedule {
                ministry: org("HOD"),
                agency: org("DMP"),
                date: date(2024, 9, 20),
                kind: CalendarKind::ReportDue(ReportKind::Tertial),
                title: "Rapportering per andre tertial".into(),
                responsible: Side::Agency,
            })
            .then_expect_events(vec![tertial()]);
    }

    #[test]
    fn given_scheduled_when_rescheduled_without_reason_then_validation() {
        TestFramework::<SteeringCalendarItem>::with(ministry_ctx("HOD"))
            .given(vec![tertial()])
            .when(CalendarCommand::Reschedule {
                date: date(2024, 9, 27),
                reason: "".into(),
            })
            .then_expect_validation_of("reason");
    }

    #[test]
    fn given_agency_report_when_agency_delivers_then_completed_and_ministry_cannot() {
        let state = TestFramework::<SteeringCalendarItem>::with(agency_ctx("DMP"))
            .given(vec![tertial()])
            .when(CalendarCommand::Complete {
                document_ref: "24/3412-40".into(),
            })
            .state_after();
        assert_eq!(state.details.unwrap().status, CalendarStatus::Completed);
        TestFramework::<SteeringCalendarItem>::with(ministry_ctx("HOD"))
            .given(vec![tertial()])
            .when(CalendarCommand::Complete {
                document_ref: "x".into(),
            })
            .then_expect_error_kind(DomainErrorKind::Forbidden);
    }

    #[test]
    fn given_report_item_when_minutes_recorded_then_rule_violated() {
        TestFramework::<SteeringCalendarItem>::with(ministry_ctx("HOD"))
            .given(vec![tertial(), held()])
            .when(CalendarCommand::RecordMinutes {
                document_ref: "x".into(),
                decisions: vec![],
                instructions: vec![],
            })
            .then_expect_error_containing(DomainErrorKind::RuleViolated, "only meetings");
    }

    #[test]
    fn given_fagmote_instruction_when_not_formalized_then_listed_until_formalized() {
        let state = TestFramework::<SteeringCalendarItem>::with(ministry_ctx("HOD"))
            .given(vec![fagmote(), held()])
            .when(CalendarCommand::RecordMinutes {
                document_ref: "referat 24/3412-50".into(),
                decisions: vec!["priority on EUDAMED".into()],
                instructions: vec!["DMP to map drug shortages".into()],
            })
            .state_after();
        let d = state.details.as_ref().unwrap();
        assert_eq!(d.unformalized_instructions().len(), 1);
        let id = d.unformalized_instructions()[0].instruction_id;
        assert_eq!(id, ItemId(nth_id(1)));
        let formalize = CalendarCommand::FormalizeInstruction {
            instruction_id: id,
            source: FormalSource::Supplement {
                supplement_id: SupplementId(uuid::Uuid::from_u128(3)),
                number: 3,
            },
        };
        let events = state
            .decide(formalize.clone(), &ministry_ctx("HOD"))
            .unwrap();
        let mut after = state.clone();
        for e in &events {
            after.evolve(e);
        }
        assert!(
            after
                .details
                .as_ref()
                .unwrap()
                .unformalized_instructions()
                .is_empty()
        );
        assert_eq!(
            after
                .decide(formalize, &ministry_ctx("HOD"))
                .unwrap_err()
                .kind(),
            DomainErrorKind::Conflict
        );
    }

    #[test]
    fn given_scheduled_when_marked_missed_before_date_passes_then_rule_violated() {
        TestFramework::<SteeringCalendarItem>::with(ctx_at(
            ministry_actor("HOD"),
            Utc.with_ymd_and_hms(2024, 9, 20, 21, 0, 0).unwrap(),
        ))
        .given(vec![tertial()])
        .when(CalendarCommand::MarkMissed)
        .then_expect_error_kind(DomainErrorKind::RuleViolated);
        let state = TestFramework::<SteeringCalendarItem>::with(ctx_at(
            ministry_actor("HOD"),
            Utc.with_ymd_and_hms(2024, 9, 20, 22, 30, 0).unwrap(),
        ))
        .given(vec![tertial()])
        .when(CalendarCommand::MarkMissed)
        .state_after();
        assert_eq!(state.details.unwrap().status, CalendarStatus::Missed);
    }

    #[test]
    fn given_cancelled_when_completed_then_rule_violated() {
        let cancelled = CalendarEvent::CalendarItemCancelled(CalendarItemCancelled {
            reason: Text::new("reason", "merged with meeting").unwrap(),
            by: ministry_actor("HOD").by(),
            at: t0(),
        });
        TestFramework::<SteeringCalendarItem>::with(agency_ctx("DMP"))
            .given(vec![tertial(), cancelled])
            .when(CalendarCommand::Complete {
                document_ref: "x".into(),
            })
            .then_expect_error_kind(DomainErrorKind::RuleViolated);
    }
}
