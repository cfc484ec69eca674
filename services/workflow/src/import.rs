//! Applying an imported letter: turns a reviewed [`ImportPreview`] into drafts through the same
//! commands the API uses, so the import itself is in the audit trail under the importing
//! user. Nothing is issued: the desk officer reviews the draft letter and supplements and
//! issues them.
//!
//! Idempotent: every command's id is derived from the letter and the item's content, so
//! importing the same text again finds each command done and writes nothing new.

use serde::Serialize;
use styr_domain::DomainError;
use styr_domain::allocation_letter::{
    AllocationLetter, BudgetLine, Goal, LetterCommand, letter_stream_id,
};
use styr_domain::assignment::{
    Assignment, AssignmentCommand, AssignmentSource, IssueAssignment, PartSpec,
};
use styr_domain::supplement::{NewAssignment, Supplement, SupplementChange, SupplementCommand};
use styr_domain::values::{
    AssignmentId, Chapter, DeadlineTerm, NokThousands, PartLabel, Post, SupplementId, Text,
};
use styr_import::{AssignmentDraft, ImportContext, ImportPreview, LetterDraft, LetterKind, Unit};
use uuid::Uuid;

use crate::error::WorkflowError;
use crate::{CommandMeta, FollowUps, Workflow};

const NAMESPACE: Uuid = Uuid::from_u128(0x1a2b_3c4d_5e6f_4708_9a1b_2c3d_4e5f_6071);

/// What applying an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub letter_id: String,
    /// Supplement stream ids, in the order of the text.
    pub supplements: Vec<String>,
    /// Assignment stream ids created for the main letter.
    pub assignments: Vec<String>,
    /// Commands that wrote something now.
    pub commands_applied: usize,
    /// Commands found already done (an earlier import of the same text).
    pub commands_repeated: usize,
}

fn id_for(parts: &[&str]) -> Uuid {
    Uuid::new_v5(&NAMESPACE, parts.join("\u{1f}").as_bytes())
}

fn amount_in_thousands(amount: i64, unit: Unit) -> i64 {
    match unit {
        Unit::NokThousand => amount,
        Unit::Nok => amount / 1000,
    }
}

impl Workflow {
    async fn import_step<A>(
        &self,
        stream_id: &str,
        command: A::Command,
        key: &[&str],
        meta: &CommandMeta,
        report: &mut ImportReport,
    ) -> Result<(), WorkflowError>
    where
        A: FollowUps,
        A::Command: Clone,
    {
        let meta = CommandMeta {
            command_id: Some(id_for(key)),
            ..meta.clone()
        };
        let outcome = self.execute::<A>(stream_id, command, &meta).await?;
        if outcome.repeated {
            report.commands_repeated += 1;
        } else {
            report.commands_applied += 1;
        }
        Ok(())
    }

    /// Writes the preview as a draft letter with its goals, budget lines, calendar and
    /// assignments, and a draft supplement per supplement in the text.
    pub async fn apply_import(
        &self,
        preview: &ImportPreview,
        ctx: &ImportContext,
        meta: &CommandMeta,
    ) -> Result<ImportReport, WorkflowError> {
        let letter_id = letter_stream_id(&ctx.ministry, &ctx.agency, ctx.year);
        let mut report = ImportReport {
            letter_id: letter_id.clone(),
            ..ImportReport::default()
        };
        let main = preview
            .letters
            .iter()
            .find(|l| l.kind == LetterKind::Letter)
            .ok_or_else(|| {
                DomainError::validation("text", "the text holds no allocation letter")
            })?;
        let (letter, _) = self.load::<AllocationLetter>(&letter_id).await?;
        if letter.details.is_none() {
            let title = if main.title.trim().is_empty() {
                format!("Tildelingsbrev {} for {}", ctx.year, ctx.agency)
            } else {
                main.title.clone()
            };
            let cmd = LetterCommand::Draft {
                ministry: ctx.ministry.clone(),
                agency: ctx.agency.clone(),
                year: ctx.year,
                title,
                case_ref: None,
            };
            self.import_step::<AllocationLetter>(
                &letter_id,
                cmd,
                &[&letter_id, "draft"],
                meta,
                &mut report,
            )
            .await?;
        }
        self.import_main(&letter_id, main, ctx, meta, &mut report)
            .await?;
        for (i, supplement) in preview
            .letters
            .iter()
            .filter(|l| l.kind == LetterKind::Supplement)
            .enumerate()
        {
            let sid = self
                .import_supplement(&letter_id, i, supplement, main, ctx, meta, &mut report)
                .await?;
            report.supplements.push(sid);
        }
        Ok(report)
    }

    async fn import_main(
        &self,
        letter_id: &str,
        main: &LetterDraft,
        ctx: &ImportContext,
        meta: &CommandMeta,
        report: &mut ImportReport,
    ) -> Result<(), WorkflowError> {
        for g in &main.goals {
            let of_goal = |items: &[styr_import::GoalListItem]| {
                items
                    .iter()
                    .filter(|i| i.goal == Some(g.number))
                    .map(|i| i.text.clone())
                    .collect::<Vec<_>>()
            };
            let section = g.section.clone().unwrap_or_else(|| g.number.to_string());
            let goal = Goal {
                section: section.clone(),
                title: Text::new("goals.text", &g.text)?,
                assessment_criteria: g.assessment_criteria.clone(),
                steering_parameters: of_goal(&main.steering_parameters),
                key_figures: of_goal(&main.key_figures),
            };
            self.import_step::<AllocationLetter>(
                letter_id,
                LetterCommand::AddGoal(Box::new(goal)),
                &[letter_id, "goal", &section, &g.text],
                meta,
                report,
            )
            .await?;
        }
        for b in main.budget_lines.iter().filter(|b| !b.change) {
            let line = BudgetLine {
                chapter: Chapter::new(b.chapter)?,
                post: Post::new(b.post)?,
                amount: NokThousands(amount_in_thousands(b.amount, b.unit)),
                text: b.name.clone().unwrap_or_default(),
            };
            let key = format!("{}/{}/{}", b.chapter, b.post, b.amount);
            self.import_step::<AllocationLetter>(
                letter_id,
                LetterCommand::AddBudgetLine(line),
                &[letter_id, "budget", &key],
                meta,
                report,
            )
            .await?;
        }
        for c in &main.calendar {
            let cmd = LetterCommand::AddCalendarItem {
                date: c.date,
                printed_date: Some(c.date_as_printed.clone()),
                text: c.title.clone(),
            };
            self.import_step::<AllocationLetter>(
                letter_id,
                cmd,
                &[letter_id, "calendar", &c.date.to_string(), &c.title],
                meta,
                report,
            )
            .await?;
        }
        for (i, a) in main.assignments.iter().enumerate() {
            let key = assignment_key(letter_id, "letter", i, a);
            let assignment_id = AssignmentId(id_for(&[&key, "id"]));
            let sid = assignment_id.to_string();
            let issue = IssueAssignment {
                assignment_id,
                reference: a.reference.clone(),
                ministry: ctx.ministry.clone(),
                agency: ctx.agency.clone(),
                year: ctx.year,
                department: a.department.clone(),
                title: a.title.clone(),
                description: a.description.clone(),
                goal: goal_section(main, a),
                source: AssignmentSource::Letter,
                parts: parts_of(a),
                collaborators: Vec::new(),
                carried_over_from: None,
            };
            self.import_step::<Assignment>(
                &sid,
                AssignmentCommand::Issue(Box::new(issue)),
                &[&key, "issue"],
                meta,
                report,
            )
            .await?;
            self.import_step::<AllocationLetter>(
                letter_id,
                LetterCommand::ListAssignment {
                    assignment_id,
                    reference: a.reference.clone(),
                    title: a.title.clone(),
                },
                &[&key, "list"],
                meta,
                report,
            )
            .await?;
            report.assignments.push(sid);
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn import_supplement(
        &self,
        letter_id: &str,
        index: usize,
        s: &LetterDraft,
        main: &LetterDraft,
        ctx: &ImportContext,
        meta: &CommandMeta,
        report: &mut ImportReport,
    ) -> Result<String, WorkflowError> {
        let number = s
            .number
            .map_or_else(|| format!("#{index}"), |n| n.to_string());
        let supplement_id = SupplementId(id_for(&[letter_id, "supplement", &number]));
        let sid = supplement_id.to_string();
        let (state, _) = self.load::<Supplement>(&sid).await?;
        if state.details.is_none() {
            let cmd = SupplementCommand::DraftWithId {
                supplement_id,
                ministry: ctx.ministry.clone(),
                agency: ctx.agency.clone(),
                year: ctx.year,
                title: s.title.clone(),
            };
            self.import_step::<Supplement>(&sid, cmd, &[&sid, "draft"], meta, report)
                .await?;
        }
        for (i, a) in s.assignments.iter().enumerate() {
            let key = assignment_key(letter_id, &number, i, a);
            let change = SupplementChange::AddAssignment(Box::new(NewAssignment {
                assignment_id: AssignmentId(id_for(&[&key, "id"])),
                reference: a.reference.clone(),
                department: a.department.clone(),
                title: a.title.clone(),
                description: a.description.clone(),
                goal: goal_section(main, a),
                parts: parts_of(a),
                collaborators: Vec::new(),
            }));
            self.import_step::<Supplement>(
                &sid,
                SupplementCommand::AddChange(Box::new(change)),
                &[&key, "add"],
                meta,
                report,
            )
            .await?;
        }
        for b in s.budget_lines.iter() {
            let change = SupplementChange::BudgetAdjustment {
                chapter: Chapter::new(b.chapter)?,
                post: Post::new(b.post)?,
                stated_total: NokThousands(amount_in_thousands(b.amount, b.unit)),
                parts: Vec::new(),
                reason: s.title.clone(),
                printed: Some(b.amount_as_printed.clone()),
            };
            let key = format!("{}/{}/{}", b.chapter, b.post, b.amount);
            self.import_step::<Supplement>(
                &sid,
                SupplementCommand::AddChange(Box::new(change)),
                &[&sid, "budget", &key],
                meta,
                report,
            )
            .await?;
        }
        Ok(sid)
    }
}

/// A stable key for an assignment of the text: its place and its printed content.
fn assignment_key(letter_id: &str, letter: &str, index: usize, a: &AssignmentDraft) -> String {
    format!(
        "{letter_id}\u{1f}{letter}\u{1f}{index}\u{1f}{}\u{1f}{}",
        a.reference_as_printed.as_deref().unwrap_or(""),
        a.title
    )
}

fn goal_section(main: &LetterDraft, a: &AssignmentDraft) -> Option<String> {
    let n = a.goal?;
    main.goals
        .iter()
        .find(|g| g.number == n)
        .map(|g| g.section.clone().unwrap_or_else(|| n.to_string()))
}

/// Parts a)/b) with their own deadlines; otherwise one part with the first deadline, or
/// "to be agreed".
fn parts_of(a: &AssignmentDraft) -> Vec<PartSpec> {
    let deadline_of = |label: Option<&PartLabel>| {
        a.deadlines
            .iter()
            .find(|d| d.part.as_ref() == label)
            .or_else(|| a.deadlines.iter().find(|d| d.part.is_none()))
            .map_or(DeadlineTerm::ToBeAgreed, |d| DeadlineTerm::Date(d.date))
    };
    if a.parts.is_empty() {
        let deadline = if a.deadline_to_be_agreed && a.deadlines.is_empty() {
            DeadlineTerm::ToBeAgreed
        } else {
            a.deadlines
                .first()
                .map_or(DeadlineTerm::ToBeAgreed, |d| DeadlineTerm::Date(d.date))
        };
        return vec![PartSpec {
            label: None,
            title: None,
            deadline,
        }];
    }
    a.parts
        .iter()
        .map(|p| PartSpec {
            label: Some(p.label.clone()),
            title: Some(p.text.clone()).filter(|t| !t.trim().is_empty()),
            deadline: deadline_of(Some(&p.label)),
        })
        .collect()
}

impl From<styr_import::ImportError> for WorkflowError {
    fn from(e: styr_import::ImportError) -> Self {
        WorkflowError::Domain(DomainError::validation("text", e.to_string()))
    }
}
