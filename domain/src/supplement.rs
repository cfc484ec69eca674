//! Owns the Supplement aggregate (*tillegg* / *supplerende tildelingsbrev*: a numbered
//! supplement to an issued allocation letter) and [`issue_supplement`], the pure
//! cross-aggregate decision that turns an issued supplement into events for every affected
//! stream (supplement, letter, assignments) so the workflow can append them atomically.
//!
//! Numbers run 1, 2, 3 … per letter without gaps; the number is fixed when issued.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::aggregate::{Aggregate, By, CommandContext};
use crate::allocation_letter::{
    AllocationLetter, AssignmentListed, BudgetAdjusted, LetterEvent, ReportingRequirement,
    ReportingRequirementAdded, SupplementRecorded, letter_stream_id,
};
use crate::assignment::{
    Assignment, AssignmentCommand, AssignmentSource, ChangeSource, IssueAssignment, PartSpec,
};
use crate::error::DomainError;
use crate::multi::{AnyEvent, StreamAppend};
use crate::values::{
    AssignmentId, AssignmentReference, Chapter, DeadlineTerm, DepartmentCode, ItemId, NokThousands,
    OrgCode, PartLabel, Post, SupplementId, Text, Year,
};

/// One printed component of a budget adjustment (e.g. "3,5 mill. kroner to …").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdjustmentPart {
    pub amount: NokThousands,
    pub reason: String,
    /// "med virkning fra 1. september": when the part takes effect, if stated.
    pub effective: Option<NaiveDate>,
}

/// A new assignment given by a supplement. The workflow picks `assignment_id` (a new stream).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAssignment {
    pub assignment_id: AssignmentId,
    pub reference: Option<AssignmentReference>,
    pub department: Option<DepartmentCode>,
    pub title: String,
    pub description: String,
    pub goal: Option<String>,
    pub parts: Vec<PartSpec>,
    pub collaborators: Vec<OrgCode>,
}

/// One change a supplement makes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SupplementChange {
    AddAssignment(Box<NewAssignment>),
    AmendAssignment {
        assignment_id: AssignmentId,
        title: Option<String>,
        description: Option<String>,
    },
    ChangeAssignmentDeadline {
        assignment_id: AssignmentId,
        part: Option<PartLabel>,
        deadline: DeadlineTerm,
    },
    CancelAssignment {
        assignment_id: AssignmentId,
        reason: String,
    },
    TransferAssignment {
        assignment_id: AssignmentId,
        to_agency: OrgCode,
        reason: String,
        effective: NaiveDate,
    },
    /// A ± change to kap/post. `stated_total` is what the letter says and what is applied;
    /// `parts` are the printed components, kept to flag a mismatch (domain.md §7.2).
    BudgetAdjustment {
        chapter: Chapter,
        post: Post,
        stated_total: NokThousands,
        parts: Vec<AdjustmentPart>,
        reason: String,
        printed: Option<String>,
    },
    AddReportingRequirement {
        text: String,
        due: DeadlineTerm,
    },
    /// An instruction not titled as an assignment (domain.md §7.3), or other text.
    FreeText {
        text: String,
    },
}

impl SupplementChange {
    /// The assignment this change touches, if any.
    pub fn assignment_id(&self) -> Option<AssignmentId> {
        match self {
            SupplementChange::AddAssignment(n) => Some(n.assignment_id),
            SupplementChange::AmendAssignment { assignment_id, .. }
            | SupplementChange::ChangeAssignmentDeadline { assignment_id, .. }
            | SupplementChange::CancelAssignment { assignment_id, .. }
            | SupplementChange::TransferAssignment { assignment_id, .. } => Some(*assignment_id),
            _ => None,
        }
    }

    /// For a budget adjustment: `(stated_total, sum_of_parts)` when they differ.
    pub fn budget_mismatch(&self) -> Option<(NokThousands, NokThousands)> {
        match self {
            SupplementChange::BudgetAdjustment {
                stated_total,
                parts,
                ..
            } if !parts.is_empty() => {
                let sum: NokThousands = parts.iter().map(|p| p.amount).sum();
                (sum != *stated_total).then_some((*stated_total, sum))
            }
            _ => None,
        }
    }

    fn validate(&self) -> Result<(), DomainError> {
        let need = |field: &str, s: &str| Text::new(field, s).map(|_| ());
        match self {
            SupplementChange::AddAssignment(n) => {
                need("title", &n.title)?;
                if n.parts.is_empty() {
                    return Err(DomainError::validation(
                        "parts",
                        "an assignment needs at least one part",
                    ));
                }
                Ok(())
            }
            SupplementChange::AmendAssignment {
                title, description, ..
            } => {
                if title.is_none() && description.is_none() {
                    return Err(DomainError::validation(
                        "title",
                        "an amendment must change the title or the description",
                    ));
                }
                Ok(())
            }
            SupplementChange::ChangeAssignmentDeadline { .. } => Ok(()),
            SupplementChange::CancelAssignment { reason, .. }
            | SupplementChange::TransferAssignment { reason, .. } => need("reason", reason),
            SupplementChange::BudgetAdjustment {
                stated_total,
                reason,
                ..
            } => {
                need("reason", reason)?;
                if stated_total.value() == 0 {
                    return Err(DomainError::validation(
                        "stated_total",
                        "a budget adjustment must change the amount",
                    ));
                }
                Ok(())
            }
            SupplementChange::AddReportingRequirement { text, .. }
            | SupplementChange::FreeText { text } => need("text", text),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SupplementCommand {
    Draft {
        ministry: OrgCode,
        agency: OrgCode,
        year: Year,
        title: String,
    },
    AddChange(Box<SupplementChange>),
    RemoveChange {
        change_id: ItemId,
    },
    /// [`SupplementCommand::Draft`] that also records the supplement's own id (its stream
    /// id), so that [`issue_supplement`] can refuse an `IssueSupplement` naming another id.
    DraftWithId {
        supplement_id: SupplementId,
        ministry: OrgCode,
        agency: OrgCode,
        year: Year,
        title: String,
    },
}

// ---- events -------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupplementDrafted {
    /// The supplement's own id; `None` in drafts made without it (and in older events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplement_id: Option<SupplementId>,
    pub ministry: OrgCode,
    pub agency: OrgCode,
    pub year: Year,
    pub title: Text,
    pub by: By,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeAdded {
    pub change_id: ItemId,
    pub change: SupplementChange,
    pub by: By,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRemoved {
    pub change_id: ItemId,
    pub by: By,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupplementIssued {
    pub number: u32,
    pub issued_on: NaiveDate,
    pub by: By,
    pub at: DateTime<Utc>,
}

domain_events! {
    /// Everything that can happen to a supplement.
    pub enum SupplementEvent {
        SupplementDrafted(SupplementDrafted) = 1,
        ChangeAdded(ChangeAdded) = 1,
        ChangeRemoved(ChangeRemoved) = 1,
        SupplementIssued(SupplementIssued) = 1,
    }
    upcaster = crate::aggregate::no_upcast;
}

// ---- state --------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupplementDetails {
    /// Known when drafted with [`SupplementCommand::DraftWithId`].
    pub supplement_id: Option<SupplementId>,
    pub ministry: OrgCode,
    pub agency: OrgCode,
    pub year: Year,
    pub title: Text,
    /// In the order added.
    pub changes: Vec<(ItemId, SupplementChange)>,
    pub number: Option<u32>,
    pub issued_on: Option<NaiveDate>,
}

impl SupplementDetails {
    pub fn letter_stream_id(&self) -> String {
        letter_stream_id(&self.ministry, &self.agency, self.year)
    }

    /// Every assignment the changes touch; the workflow loads these (new ones load empty)
    /// before calling [`issue_supplement`].
    pub fn affected_assignments(&self) -> Vec<AssignmentId> {
        let mut ids: Vec<AssignmentId> = self
            .changes
            .iter()
            .filter_map(|(_, c)| c.assignment_id())
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }

    /// Budget changes whose printed parts do not add up to the stated total:
    /// `(change_id, stated, sum_of_parts)`.
    pub fn budget_mismatches(&self) -> Vec<(ItemId, NokThousands, NokThousands)> {
        self.changes
            .iter()
            .filter_map(|(id, c)| c.budget_mismatch().map(|(s, p)| (*id, s, p)))
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Supplement {
    pub details: Option<SupplementDetails>,
}

impl Supplement {
    fn draft(
        &self,
        supplement_id: Option<SupplementId>,
        ministry: OrgCode,
        agency: OrgCode,
        year: Year,
        title: String,
        ctx: &CommandContext,
    ) -> Result<Vec<SupplementEvent>, DomainError> {
        if self.details.is_some() {
            return Err(DomainError::conflict("this supplement already exists"));
        }
        ctx.actor.require_ministry(&ministry, "draft supplements")?;
        Ok(vec![SupplementEvent::SupplementDrafted(
            SupplementDrafted {
                supplement_id,
                ministry,
                agency,
                year,
                title: Text::new("title", title)?,
                by: ctx.actor.by(),
                at: ctx.now,
            },
        )])
    }
}

impl Aggregate for Supplement {
    const STREAM_TYPE: &'static str = "supplement";
    type Command = SupplementCommand;
    type Event = SupplementEvent;

    fn decide(
        &self,
        command: SupplementCommand,
        ctx: &CommandContext,
    ) -> Result<Vec<SupplementEvent>, DomainError> {
        use SupplementCommand as C;
        use SupplementEvent as E;
        let by = ctx.actor.by();
        let at = ctx.now;
        let command = match command {
            C::Draft {
                ministry,
                agency,
                year,
                title,
            } => return self.draft(None, ministry, agency, year, title, ctx),
            C::DraftWithId {
                supplement_id,
                ministry,
                agency,
                year,
                title,
            } => return self.draft(Some(supplement_id), ministry, agency, year, title, ctx),
            other => other,
        };
        let d = self
            .details
            .as_ref()
            .ok_or_else(|| DomainError::not_found("the supplement has not been drafted"))?;
        ctx.actor
            .require_ministry(&d.ministry, "edit supplements")?;
        if let Some(n) = d.number {
            return Err(DomainError::rule(format!(
                "supplement nr. {n} is issued and can no longer be edited; write a new supplement"
            )));
        }
        match command {
            C::Draft { .. } | C::DraftWithId { .. } => {
                Err(DomainError::conflict("this supplement already exists"))
            }
            C::AddChange(change) => {
                change.validate()?;
                if let SupplementChange::AddAssignment(new) = change.as_ref() {
                    let already_added = d.changes.iter().any(|(_, c)| {
                        matches!(c, SupplementChange::AddAssignment(n) if n.assignment_id == new.assignment_id)
                    });
                    if already_added {
                        return Err(DomainError::conflict(
                            "this supplement already adds that assignment",
                        ));
                    }
                }
                Ok(vec![E::ChangeAdded(ChangeAdded {
                    change_id: ItemId(ctx.next_id()),
                    change: *change,
                    by,
                    at,
                })])
            }
            C::RemoveChange { change_id } => {
                if !d.changes.iter().any(|(id, _)| *id == change_id) {
                    return Err(DomainError::not_found("no such change in the supplement"));
                }
                Ok(vec![E::ChangeRemoved(ChangeRemoved { change_id, by, at })])
            }
        }
    }

    fn evolve(&mut self, event: &SupplementEvent) {
        use SupplementEvent as E;
        if let E::SupplementDrafted(e) = event {
            self.details = Some(SupplementDetails {
                supplement_id: e.supplement_id,
                ministry: e.ministry.clone(),
                agency: e.agency.clone(),
                year: e.year,
                title: e.title.clone(),
                changes: Vec::new(),
                number: None,
                issued_on: None,
            });
            return;
        }
        let Some(d) = self.details.as_mut() else {
            return;
        };
        match event {
            E::SupplementDrafted(_) => {}
            E::ChangeAdded(e) => d.changes.push((e.change_id, e.change.clone())),
            E::ChangeRemoved(e) => d.changes.retain(|(id, _)| *id != e.change_id),
            E::SupplementIssued(e) => {
                d.number = Some(e.number);
                d.issued_on = Some(e.issued_on);
            }
        }
    }
}

/// Input to [`issue_supplement`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueSupplement {
    pub supplement_id: SupplementId,
    /// The number printed on the letter, if importing one; `None` takes the next free one.
    pub number: Option<u32>,
    pub issued_on: NaiveDate,
}

/// Decides the issue of a supplement across streams: the supplement gets its number, the
/// letter records it (plus budget adjustments, new requirements and new assignments), and
/// each affected assignment gets its events. Either every stream's events are returned or an
/// error, so the workflow appends all of them in one multi-stream append or none.
///
/// `assignments` must hold the current state of every id in
/// [`SupplementDetails::affected_assignments`] (a never-issued one as `Assignment::default()`).
pub fn issue_supplement(
    supplement: &Supplement,
    letter: &AllocationLetter,
    assignments: &BTreeMap<AssignmentId, Assignment>,
    command: IssueSupplement,
    ctx: &CommandContext,
) -> Result<Vec<StreamAppend>, DomainError> {
    let s = supplement
        .details
        .as_ref()
        .ok_or_else(|| DomainError::not_found("the supplement has not been drafted"))?;
    ctx.actor
        .require_ministry(&s.ministry, "issue supplements")?;
    if let Some(n) = s.number {
        return Err(DomainError::conflict(format!(
            "this supplement is already issued as nr. {n}"
        )));
    }
    let l = letter.details.as_ref().ok_or_else(|| {
        DomainError::not_found(format!(
            "there is no allocation letter {}",
            s.letter_stream_id()
        ))
    })?;
    if (&l.ministry, &l.agency, l.year) != (&s.ministry, &s.agency, s.year) {
        return Err(DomainError::validation(
            "letter",
            "the supplement belongs to another letter",
        ));
    }
    if !l.is_issued() {
        return Err(DomainError::rule(
            "the letter is still a draft; edit it directly instead of through a supplement",
        ));
    }
    if s.changes.is_empty() {
        return Err(DomainError::rule(
            "a supplement without changes cannot be issued",
        ));
    }
    // The id names the supplement stream the events go to and is recorded on the letter;
    // one already recorded would give the letter two numbers for the same supplement.
    if let Some((n, _)) = l
        .supplements
        .iter()
        .find(|(_, id)| *id == command.supplement_id)
    {
        return Err(DomainError::conflict(format!(
            "supplement {} is already recorded on this letter as nr. {n}",
            command.supplement_id
        )));
    }
    if let Some(own) = s.supplement_id
        && own != command.supplement_id
    {
        return Err(DomainError::validation(
            "supplement_id",
            format!(
                "the loaded supplement is {own}, not {}",
                command.supplement_id
            ),
        ));
    }
    let number = l.next_supplement_number();
    match command.number {
        Some(n) if n < number => {
            return Err(DomainError::conflict(format!(
                "supplement number {n} is already used for this letter; the next is {number}"
            )));
        }
        Some(n) if n > number => {
            return Err(DomainError::rule(format!(
                "supplement number {n} would leave a gap; the next is {number}"
            )));
        }
        _ => {}
    }
    let source = ChangeSource::Supplement {
        supplement_id: command.supplement_id,
        number,
    };
    let by = ctx.actor.by();
    let at = ctx.now;

    let mut letter_events = vec![LetterEvent::SupplementRecorded(SupplementRecorded {
        supplement_id: command.supplement_id,
        number,
        issued_on: command.issued_on,
        by: by.clone(),
        at,
    })];
    // Assignment states evolve as changes apply, so two changes to one assignment compose.
    let mut touched: BTreeMap<AssignmentId, (Assignment, Vec<AnyEvent>)> = BTreeMap::new();
    let mut letter_state = letter.clone();

    for (_, change) in &s.changes {
        let assignment_command = match change {
            SupplementChange::AddAssignment(n) => {
                letter_state
                    .details
                    .as_ref()
                    .map_or(Ok(()), |d| d.check_reference(&n.reference))?;
                let listed = LetterEvent::AssignmentListed(AssignmentListed {
                    item_id: ItemId(ctx.next_id()),
                    assignment_id: n.assignment_id,
                    reference: n.reference.clone(),
                    title: Text::new("title", &n.title)?,
                    source: source.clone(),
                    by: by.clone(),
                    at,
                });
                letter_state.evolve(&listed);
                letter_events.push(listed);
                Some(AssignmentCommand::Issue(Box::new(IssueAssignment {
                    assignment_id: n.assignment_id,
                    reference: n.reference.clone(),
                    ministry: s.ministry.clone(),
                    agency: s.agency.clone(),
                    year: s.year,
                    department: n.department.clone(),
                    title: n.title.clone(),
                    description: n.description.clone(),
                    goal: n.goal.clone(),
                    source: AssignmentSource::Supplement {
                        supplement_id: command.supplement_id,
                        number,
                    },
                    parts: n.parts.clone(),
                    collaborators: n.collaborators.clone(),
                    carried_over_from: None,
                })))
            }
            SupplementChange::AmendAssignment {
                title, description, ..
            } => Some(AssignmentCommand::Amend {
                title: title.clone(),
                description: description.clone(),
                source: source.clone(),
            }),
            SupplementChange::ChangeAssignmentDeadline { part, deadline, .. } => {
                Some(AssignmentCommand::ChangeDeadline {
                    part: part.clone(),
                    deadline: *deadline,
                    source: source.clone(),
                })
            }
            SupplementChange::CancelAssignment { reason, .. } => Some(AssignmentCommand::Cancel {
                reason: reason.clone(),
                source: source.clone(),
            }),
            SupplementChange::TransferAssignment {
                to_agency,
                reason,
                effective,
                ..
            } => Some(AssignmentCommand::Transfer {
                to_agency: to_agency.clone(),
                reason: reason.clone(),
                effective: *effective,
                source: source.clone(),
            }),
            SupplementChange::BudgetAdjustment {
                chapter,
                post,
                stated_total,
                reason,
                ..
            } => {
                letter_events.push(LetterEvent::BudgetAdjusted(BudgetAdjusted {
                    chapter: *chapter,
                    post: *post,
                    delta: *stated_total,
                    reason: Text::new("reason", reason)?,
                    source: source.clone(),
                    by: by.clone(),
                    at,
                }));
                None
            }
            SupplementChange::AddReportingRequirement { text, due } => {
                letter_events.push(LetterEvent::ReportingRequirementAdded(
                    ReportingRequirementAdded {
                        item_id: ItemId(ctx.next_id()),
                        requirement: ReportingRequirement {
                            text: Text::new("text", text)?,
                            due: *due,
                        },
                        source: source.clone(),
                        by: by.clone(),
                        at,
                    },
                ));
                None
            }
            SupplementChange::FreeText { .. } => None,
        };
        if let (Some(cmd), Some(id)) = (assignment_command, change.assignment_id()) {
            let entry = match touched.entry(id) {
                std::collections::btree_map::Entry::Occupied(o) => o.into_mut(),
                std::collections::btree_map::Entry::Vacant(v) => {
                    let state = assignments.get(&id).cloned().ok_or_else(|| {
                        DomainError::not_found(format!(
                            "assignment {id} was not loaded for this supplement"
                        ))
                    })?;
                    v.insert((state, Vec::new()))
                }
            };
            // Only the letter's own assignments: listed in it, or given by the same ministry
            // to the same agency (the one holding it now, after a transfer) for the same year.
            if let (Some(ad), false) = (
                entry.0.details.as_ref(),
                matches!(change, SupplementChange::AddAssignment(_)),
            ) && !letter_state.details.as_ref().is_some_and(|l| l.listed(id))
                && (&ad.ministry, &ad.agency, ad.year) != (&s.ministry, &s.agency, s.year)
            {
                return Err(DomainError::rule(format!(
                    "assignment {} (\"{}\", {} to {} for {}) does not belong to the letter from {} to {} for {}",
                    id, ad.title, ad.ministry, ad.agency, ad.year, s.ministry, s.agency, s.year
                )));
            }
            let events = entry.0.decide(cmd, ctx).map_err(|e| match e {
                DomainError::RuleViolated(m) => {
                    DomainError::rule(format!("supplement change on assignment {id} refused: {m}"))
                }
                other => other,
            })?;
            for e in events {
                entry.0.evolve(&e);
                entry.1.push(AnyEvent::Assignment(e));
            }
        }
    }

    let mut appends = vec![
        StreamAppend {
            stream_type: Supplement::STREAM_TYPE,
            stream_id: command.supplement_id.to_string(),
            events: vec![AnyEvent::Supplement(SupplementEvent::SupplementIssued(
                SupplementIssued {
                    number,
                    issued_on: command.issued_on,
                    by: by.clone(),
                    at,
                },
            ))],
        },
        StreamAppend {
            stream_type: AllocationLetter::STREAM_TYPE,
            stream_id: s.letter_stream_id(),
            events: letter_events.into_iter().map(AnyEvent::Letter).collect(),
        },
    ];
    for (id, (_, events)) in touched {
        appends.push(StreamAppend {
            stream_type: Assignment::STREAM_TYPE,
            stream_id: id.to_string(),
            events,
        });
    }
    Ok(appends)
}

#[cfg(test)]
#[path = "supplement_tests.rs"]
mod tests;
