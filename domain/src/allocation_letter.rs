//! Owns the AllocationLetter aggregate (*tildelingsbrev*: the annual allocation letter, one
//! per ministry, agency and year). While a draft, the ministry edits goals (*mål*) with
//! assessment criteria (*vurderingskriterier*), steering parameters (*styringsparametere*)
//! and key figures (*nøkkeltall*), budget lines (*kapittel*/*post*), reporting requirements,
//! listed assignments and calendar items. Issuing makes it immutable; afterwards it changes
//! only through supplements, whose effects (numbering, budget adjustments, added
//! requirements and assignments) are recorded here too.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::aggregate::{Aggregate, By, CommandContext};
use crate::assignment::ChangeSource;
use crate::error::DomainError;
use crate::values::{
    AssignmentId, AssignmentReference, Chapter, DeadlineTerm, ItemId, NokThousands, OrgCode, Post,
    SupplementId, Text, Year,
};

/// Stream id of a letter: `"{ministry}:{agency}:{year}"`, e.g. `HOD:DMP:2024`.
pub fn letter_stream_id(ministry: &OrgCode, agency: &OrgCode, year: Year) -> String {
    format!("{ministry}:{agency}:{year}")
}

/// Mål: a goal of the letter with its criteria, parameters and key figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Goal {
    /// Section as printed, e.g. `"2.1"`.
    pub section: String,
    pub title: Text,
    pub assessment_criteria: Vec<String>,
    pub steering_parameters: Vec<String>,
    pub key_figures: Vec<String>,
}

/// One budget line: kapittel/post, amount in NOK thousands, and the printed text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetLine {
    pub chapter: Chapter,
    pub post: Post,
    pub amount: NokThousands,
    pub text: String,
}

/// A reporting requirement (H1: it exists only as part of a letter or supplement).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportingRequirement {
    pub text: Text,
    pub due: DeadlineTerm,
}

/// A calendar line as printed in the letter's styringskalender.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarEntry {
    pub date: NaiveDate,
    /// As printed, e.g. "31. januar" (the year is often missing).
    pub printed_date: Option<String>,
    pub text: Text,
}

/// When a budget deviation counts as significant (*vesentlig*), set per letter. A deviation
/// is significant if it reaches either bound that is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviationThreshold {
    pub amount: Option<NokThousands>,
    /// In tenths of a percent: `50` = 5.0 %.
    pub per_mille: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LetterCommand {
    Draft {
        ministry: OrgCode,
        agency: OrgCode,
        year: Year,
        title: String,
        case_ref: Option<String>,
    },
    AddGoal(Box<Goal>),
    AddBudgetLine(BudgetLine),
    /// The chapter's printed *Sum* row; kept to flag a mismatch, never used as the total.
    StateChapterSum {
        chapter: Chapter,
        sum: NokThousands,
    },
    AddReportingRequirement {
        text: String,
        due: DeadlineTerm,
    },
    ListAssignment {
        assignment_id: AssignmentId,
        reference: Option<AssignmentReference>,
        title: String,
    },
    AddCalendarItem {
        date: NaiveDate,
        printed_date: Option<String>,
        text: String,
    },
    SetDeviationThreshold(DeviationThreshold),
    RemoveItem {
        item_id: ItemId,
    },
    Issue {
        issued_on: NaiveDate,
    },
}

// ---- events -------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LetterDrafted {
    pub ministry: OrgCode,
    pub agency: OrgCode,
    pub year: Year,
    pub title: Text,
    pub case_ref: Option<String>,
    pub by: By,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoalAdded {
    pub item_id: ItemId,
    pub goal: Goal,
    pub by: By,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetLineAdded {
    pub item_id: ItemId,
    pub line: BudgetLine,
    pub by: By,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChapterSumStated {
    pub chapter: Chapter,
    pub sum: NokThousands,
    pub by: By,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportingRequirementAdded {
    pub item_id: ItemId,
    pub requirement: ReportingRequirement,
    pub source: ChangeSource,
    pub by: By,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignmentListed {
    pub item_id: ItemId,
    pub assignment_id: AssignmentId,
    pub reference: Option<AssignmentReference>,
    pub title: Text,
    pub source: ChangeSource,
    pub by: By,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarItemAdded {
    pub item_id: ItemId,
    pub entry: CalendarEntry,
    pub by: By,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviationThresholdSet {
    pub threshold: DeviationThreshold,
    pub by: By,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemRemoved {
    pub item_id: ItemId,
    pub by: By,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LetterIssued {
    pub issued_on: NaiveDate,
    pub by: By,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupplementRecorded {
    pub supplement_id: SupplementId,
    pub number: u32,
    pub issued_on: NaiveDate,
    pub by: By,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetAdjusted {
    pub chapter: Chapter,
    pub post: Post,
    /// Signed change in NOK thousands.
    pub delta: NokThousands,
    pub reason: Text,
    pub source: ChangeSource,
    pub by: By,
    pub at: DateTime<Utc>,
}

domain_events! {
    /// Everything that can happen to an allocation letter.
    pub enum LetterEvent {
        LetterDrafted(LetterDrafted) = 1,
        GoalAdded(GoalAdded) = 1,
        BudgetLineAdded(BudgetLineAdded) = 1,
        ChapterSumStated(ChapterSumStated) = 1,
        ReportingRequirementAdded(ReportingRequirementAdded) = 1,
        AssignmentListed(AssignmentListed) = 1,
        CalendarItemAdded(CalendarItemAdded) = 1,
        DeviationThresholdSet(DeviationThresholdSet) = 1,
        ItemRemoved(ItemRemoved) = 1,
        LetterIssued(LetterIssued) = 1,
        SupplementRecorded(SupplementRecorded) = 1,
        BudgetAdjusted(BudgetAdjusted) = 1,
    }
    upcaster = crate::aggregate::no_upcast;
}

// ---- state --------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListedAssignment {
    pub assignment_id: AssignmentId,
    pub reference: Option<AssignmentReference>,
    pub title: Text,
    pub source: ChangeSource,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LetterDetails {
    pub ministry: OrgCode,
    pub agency: OrgCode,
    pub year: Year,
    pub title: Text,
    pub case_ref: Option<String>,
    pub goals: BTreeMap<ItemId, Goal>,
    pub budget_lines: BTreeMap<ItemId, BudgetLine>,
    pub stated_sums: BTreeMap<Chapter, NokThousands>,
    pub requirements: BTreeMap<ItemId, (ReportingRequirement, ChangeSource)>,
    pub assignments: BTreeMap<ItemId, ListedAssignment>,
    pub calendar: BTreeMap<ItemId, CalendarEntry>,
    pub threshold: Option<DeviationThreshold>,
    pub issued_on: Option<NaiveDate>,
    /// Supplement numbers in order, 1, 2, 3 …
    pub supplements: Vec<(u32, SupplementId)>,
    pub adjustments: Vec<BudgetAdjusted>,
}

impl LetterDetails {
    pub fn is_issued(&self) -> bool {
        self.issued_on.is_some()
    }

    /// The number the next supplement gets.
    pub fn next_supplement_number(&self) -> u32 {
        self.supplements.len() as u32 + 1
    }

    /// The allocation in force on a post: the letter's line plus every adjustment.
    pub fn allocation(&self, chapter: Chapter, post: Post) -> NokThousands {
        let original: NokThousands = self
            .budget_lines
            .values()
            .filter(|l| l.chapter == chapter && l.post == post)
            .map(|l| l.amount)
            .sum();
        original
            + self
                .adjustments
                .iter()
                .filter(|a| a.chapter == chapter && a.post == post)
                .map(|a| a.delta)
                .sum()
    }

    /// Chapters whose printed *Sum* differs from the sum of their lines:
    /// `(chapter, stated, computed)`.
    pub fn chapter_sum_mismatches(&self) -> Vec<(Chapter, NokThousands, NokThousands)> {
        self.stated_sums
            .iter()
            .filter_map(|(c, stated)| {
                let computed: NokThousands = self
                    .budget_lines
                    .values()
                    .filter(|l| l.chapter == *c)
                    .map(|l| l.amount)
                    .sum();
                (computed != *stated).then_some((*c, *stated, computed))
            })
            .collect()
    }

    pub fn listed(&self, assignment_id: AssignmentId) -> bool {
        self.assignments
            .values()
            .any(|a| a.assignment_id == assignment_id)
    }

    /// Refuses a reference already listed in this letter or one from another year.
    pub fn check_reference(
        &self,
        reference: &Option<AssignmentReference>,
    ) -> Result<(), DomainError> {
        let Some(r) = reference else { return Ok(()) };
        if r.year() != self.year {
            return Err(DomainError::validation(
                "reference",
                format!("{r} does not belong to the {} letter", self.year),
            ));
        }
        if self
            .assignments
            .values()
            .any(|a| a.reference.as_ref() == Some(r))
        {
            return Err(DomainError::conflict(format!(
                "{r} is already used in this letter"
            )));
        }
        Ok(())
    }
}

/// The letter's state; `details` is `None` until drafted.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct AllocationLetter {
    pub details: Option<LetterDetails>,
}

impl AllocationLetter {
    fn drafted(&self) -> Result<&LetterDetails, DomainError> {
        self.details
            .as_ref()
            .ok_or_else(|| DomainError::not_found("no allocation letter has been drafted"))
    }
}

impl Aggregate for AllocationLetter {
    const STREAM_TYPE: &'static str = "allocation_letter";
    type Command = LetterCommand;
    type Event = LetterEvent;

    fn decide(
        &self,
        command: LetterCommand,
        ctx: &CommandContext,
    ) -> Result<Vec<LetterEvent>, DomainError> {
        use LetterCommand as C;
        use LetterEvent as E;
        let by = ctx.actor.by();
        let at = ctx.now;
        if let C::Draft {
            ministry,
            agency,
            year,
            title,
            case_ref,
        } = command
        {
            if self.details.is_some() {
                return Err(DomainError::conflict(format!(
                    "a letter from {ministry} to {agency} for {year} already exists"
                )));
            }
            ctx.actor
                .require_ministry(&ministry, "draft allocation letters")?;
            if agency == ministry {
                return Err(DomainError::validation(
                    "agency",
                    "a letter is addressed to an agency",
                ));
            }
            return Ok(vec![E::LetterDrafted(LetterDrafted {
                ministry,
                agency,
                year,
                title: Text::new("title", title)?,
                case_ref: case_ref.filter(|s| !s.trim().is_empty()),
                by,
                at,
            })]);
        }
        let d = self.drafted()?;
        ctx.actor
            .require_ministry(&d.ministry, "edit allocation letters")?;
        if d.is_issued() {
            return Err(DomainError::rule(
                "the letter is issued and can no longer be edited; change it through a supplement",
            ));
        }
        let item_id = || ItemId(ctx.next_id());
        let event = match command {
            C::Draft { .. } => return Err(DomainError::conflict("the letter already exists")),
            C::AddGoal(goal) => {
                if d.goals.values().any(|g| g.section == goal.section) {
                    return Err(DomainError::conflict(format!(
                        "goal {} is already in the letter",
                        goal.section
                    )));
                }
                E::GoalAdded(GoalAdded {
                    item_id: item_id(),
                    goal: *goal,
                    by,
                    at,
                })
            }
            C::AddBudgetLine(line) => {
                if d.budget_lines
                    .values()
                    .any(|l| l.chapter == line.chapter && l.post == line.post)
                {
                    return Err(DomainError::conflict(format!(
                        "kap. {} post {} is already in the letter",
                        line.chapter, line.post
                    )));
                }
                E::BudgetLineAdded(BudgetLineAdded {
                    item_id: item_id(),
                    line,
                    by,
                    at,
                })
            }
            C::StateChapterSum { chapter, sum } => E::ChapterSumStated(ChapterSumStated {
                chapter,
                sum,
                by,
                at,
            }),
            C::AddReportingRequirement { text, due } => {
                E::ReportingRequirementAdded(ReportingRequirementAdded {
                    item_id: item_id(),
                    requirement: ReportingRequirement {
                        text: Text::new("text", text)?,
                        due,
                    },
                    source: ChangeSource::Direct,
                    by,
                    at,
                })
            }
            C::ListAssignment {
                assignment_id,
                reference,
                title,
            } => {
                if d.listed(assignment_id) {
                    return Err(DomainError::conflict(
                        "the assignment is already listed in this letter",
                    ));
                }
                d.check_reference(&reference)?;
                E::AssignmentListed(AssignmentListed {
                    item_id: item_id(),
                    assignment_id,
                    reference,
                    title: Text::new("title", title)?,
                    source: ChangeSource::Direct,
                    by,
                    at,
                })
            }
            C::AddCalendarItem {
                date,
                printed_date,
                text,
            } => E::CalendarItemAdded(CalendarItemAdded {
                item_id: item_id(),
                entry: CalendarEntry {
                    date,
                    printed_date,
                    text: Text::new("text", text)?,
                },
                by,
                at,
            }),
            C::SetDeviationThreshold(threshold) => {
                if threshold.amount.is_none() && threshold.per_mille.is_none() {
                    return Err(DomainError::validation(
                        "threshold",
                        "set an amount, a percentage or both",
                    ));
                }
                if threshold.amount.is_some_and(|a| a.value() <= 0) {
                    return Err(DomainError::validation(
                        "threshold",
                        "the amount must be positive",
                    ));
                }
                E::DeviationThresholdSet(DeviationThresholdSet { threshold, by, at })
            }
            C::RemoveItem { item_id } => {
                let exists = d.goals.contains_key(&item_id)
                    || d.budget_lines.contains_key(&item_id)
                    || d.requirements.contains_key(&item_id)
                    || d.assignments.contains_key(&item_id)
                    || d.calendar.contains_key(&item_id);
                if !exists {
                    return Err(DomainError::not_found("no such item in the letter"));
                }
                E::ItemRemoved(ItemRemoved { item_id, by, at })
            }
            C::Issue { issued_on } => {
                if d.goals.is_empty() && d.budget_lines.is_empty() {
                    return Err(DomainError::rule(
                        "an empty letter cannot be issued: add goals or budget lines",
                    ));
                }
                E::LetterIssued(LetterIssued { issued_on, by, at })
            }
        };
        Ok(vec![event])
    }

    fn evolve(&mut self, event: &LetterEvent) {
        use LetterEvent as E;
        if let E::LetterDrafted(e) = event {
            self.details = Some(LetterDetails {
                ministry: e.ministry.clone(),
                agency: e.agency.clone(),
                year: e.year,
                title: e.title.clone(),
                case_ref: e.case_ref.clone(),
                goals: BTreeMap::new(),
                budget_lines: BTreeMap::new(),
                stated_sums: BTreeMap::new(),
                requirements: BTreeMap::new(),
                assignments: BTreeMap::new(),
                calendar: BTreeMap::new(),
                threshold: None,
                issued_on: None,
                supplements: Vec::new(),
                adjustments: Vec::new(),
            });
            return;
        }
        let Some(d) = self.details.as_mut() else {
            return;
        };
        match event {
            E::LetterDrafted(_) => {}
            E::GoalAdded(e) => {
                d.goals.insert(e.item_id, e.goal.clone());
            }
            E::BudgetLineAdded(e) => {
                d.budget_lines.insert(e.item_id, e.line.clone());
            }
            E::ChapterSumStated(e) => {
                d.stated_sums.insert(e.chapter, e.sum);
            }
            E::ReportingRequirementAdded(e) => {
                d.requirements
                    .insert(e.item_id, (e.requirement.clone(), e.source.clone()));
            }
            E::AssignmentListed(e) => {
                d.assignments.insert(
                    e.item_id,
                    ListedAssignment {
                        assignment_id: e.assignment_id,
                        reference: e.reference.clone(),
                        title: e.title.clone(),
                        source: e.source.clone(),
                    },
                );
            }
            E::CalendarItemAdded(e) => {
                d.calendar.insert(e.item_id, e.entry.clone());
            }
            E::DeviationThresholdSet(e) => d.threshold = Some(e.threshold),
            E::ItemRemoved(e) => {
                d.goals.remove(&e.item_id);
                d.budget_lines.remove(&e.item_id);
                d.requirements.remove(&e.item_id);
                d.assignments.remove(&e.item_id);
                d.calendar.remove(&e.item_id);
            }
            E::LetterIssued(e) => d.issued_on = Some(e.issued_on),
            E::SupplementRecorded(e) => d.supplements.push((e.number, e.supplement_id)),
            E::BudgetAdjusted(e) => d.adjustments.push(e.clone()),
        }
    }
}

#[cfg(test)]
#[path = "allocation_letter_tests.rs"]
mod tests;
