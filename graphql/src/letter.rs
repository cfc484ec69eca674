//! Allocation letters (*tildelingsbrev*) and their supplements (*tillegg*): the letter view
//! with goals, budget (original, adjustments, current per kap/post), requirements, listed
//! assignments, calendar and supplements; the mutations that draft and issue them.

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use styr_workflow::domain::allocation_letter::{
    AllocationLetter, BudgetLine, DeviationThreshold, Goal, LetterCommand, LetterDetails,
    letter_stream_id,
};
use styr_workflow::domain::assignment::{ChangeSource, PartSpec};
use styr_workflow::domain::deadline::{
    Deadline, DeadlineCommand, DeadlineStatus, deadline_id_for_item,
};
use styr_workflow::domain::supplement::{
    AdjustmentPart, IssueSupplement, NewAssignment, Supplement, SupplementChange, SupplementCommand,
};
use styr_workflow::domain::{
    Aggregate, AssignmentId, AssignmentReference, Chapter, DeadlineTerm, DepartmentCode, ItemId,
    NokThousands, OrgCode, PartLabel, Post, SupplementId, Year, oslo_date,
};
use styr_workflow::{CommandOutcome, Workflow};
use uuid::Uuid;

use crate::command::{self, CommandOptions, CommandReceipt, parse, parse_uuid};
use crate::error;
use crate::scalars::Date;
use crate::viewer::{actor, can_see, scope};

/// A kap/post with its money in NOK thousands.
#[derive(SimpleObject)]
pub struct BudgetPost {
    pub chapter: String,
    pub post: String,
    pub text: String,
    /// As allocated in the letter.
    pub original: i64,
    /// The sum of every supplement's adjustments.
    pub adjustments: i64,
    /// Original plus adjustments.
    pub current: i64,
}

#[derive(SimpleObject)]
pub struct BudgetLineView {
    pub id: ID,
    pub chapter: String,
    pub post: String,
    /// NOK thousands.
    pub amount: i64,
    pub text: String,
}

#[derive(SimpleObject)]
pub struct GoalView {
    /// The item's id in the letter (for `removeLetterItem` while drafting).
    pub id: ID,
    pub section: String,
    pub title: String,
    pub assessment_criteria: Vec<String>,
    pub steering_parameters: Vec<String>,
    pub key_figures: Vec<String>,
}

#[derive(SimpleObject)]
pub struct RequirementView {
    /// The item's id in the letter (for `removeLetterItem` while drafting).
    pub id: ID,
    pub text: String,
    pub due: Option<Date>,
    /// `letter` or `supplement N`.
    pub source: String,
    /// Once the letter is issued, a dated requirement is an obligation: `open`, `met` or
    /// `waived`; null while drafting or without a date.
    pub deadline_status: Option<String>,
    /// Whether the monitor has found the date passed unmet.
    pub missed: bool,
}

#[derive(SimpleObject)]
pub struct ListedAssignmentView {
    /// The item's id in the letter (for `removeLetterItem` while drafting).
    pub id: ID,
    pub assignment_id: ID,
    pub reference: Option<String>,
    pub title: String,
    pub source: String,
}

#[derive(SimpleObject)]
pub struct CalendarEntryView {
    /// The item's id in the letter (for `removeLetterItem` while drafting).
    pub id: ID,
    pub date: Date,
    pub printed_date: Option<String>,
    pub text: String,
}

#[derive(SimpleObject)]
pub struct SupplementRef {
    pub number: u32,
    pub id: ID,
}

/// A chapter whose printed *Sum* row disagrees with its lines (flagged, never fixed).
#[derive(SimpleObject)]
pub struct SumMismatch {
    pub chapter: String,
    pub printed_sum: i64,
    pub sum_of_lines: i64,
}

fn source_name(s: &ChangeSource) -> String {
    match s {
        ChangeSource::Direct => "letter".into(),
        ChangeSource::Supplement { number, .. } => format!("supplement {number}"),
    }
}

pub struct LetterView {
    pub id: String,
    pub details: LetterDetails,
}

#[Object(name = "Letter")]
impl LetterView {
    /// `MINISTRY:AGENCY:YEAR`, e.g. `HOD:DMP:2024`.
    async fn id(&self) -> ID {
        ID(self.id.clone())
    }
    async fn ministry(&self) -> String {
        self.details.ministry.to_string()
    }
    async fn agency(&self) -> String {
        self.details.agency.to_string()
    }
    async fn year(&self) -> i32 {
        self.details.year.value()
    }
    async fn title(&self) -> &str {
        self.details.title.as_str()
    }
    async fn case_ref(&self) -> Option<&str> {
        self.details.case_ref.as_deref()
    }
    /// Set when issued; the letter is then changed only by supplements.
    async fn issued_on(&self) -> Option<Date> {
        self.details.issued_on.map(Date)
    }
    async fn goals(&self) -> Vec<GoalView> {
        self.details
            .goals
            .iter()
            .map(|(id, g)| GoalView {
                id: ID(id.to_string()),
                section: g.section.clone(),
                title: g.title.as_str().to_owned(),
                assessment_criteria: g.assessment_criteria.clone(),
                steering_parameters: g.steering_parameters.clone(),
                key_figures: g.key_figures.clone(),
            })
            .collect()
    }
    /// Every kap/post with its original allocation, adjustments and the amount in force.
    async fn budget(&self) -> Vec<BudgetPost> {
        let d = &self.details;
        let mut posts: Vec<(Chapter, Post, String)> = Vec::new();
        for line in d.budget_lines.values() {
            if !posts
                .iter()
                .any(|(c, p, _)| *c == line.chapter && *p == line.post)
            {
                posts.push((line.chapter, line.post, line.text.clone()));
            }
        }
        for adj in &d.adjustments {
            if !posts
                .iter()
                .any(|(c, p, _)| *c == adj.chapter && *p == adj.post)
            {
                posts.push((adj.chapter, adj.post, String::new()));
            }
        }
        posts.sort_by_key(|(c, p, _)| (*c, *p));
        posts
            .into_iter()
            .map(|(chapter, post, text)| {
                let current = d.allocation(chapter, post).0;
                let adjustments: i64 = d
                    .adjustments
                    .iter()
                    .filter(|a| a.chapter == chapter && a.post == post)
                    .map(|a| a.delta.0)
                    .sum();
                BudgetPost {
                    chapter: chapter.to_string(),
                    post: post.to_string(),
                    text,
                    original: current - adjustments,
                    adjustments,
                    current,
                }
            })
            .collect()
    }
    /// The budget lines as entered, with their ids.
    async fn budget_lines(&self) -> Vec<BudgetLineView> {
        self.details
            .budget_lines
            .iter()
            .map(|(id, l)| BudgetLineView {
                id: ID(id.to_string()),
                chapter: l.chapter.to_string(),
                post: l.post.to_string(),
                amount: l.amount.0,
                text: l.text.clone(),
            })
            .collect()
    }
    async fn sum_mismatches(&self) -> Vec<SumMismatch> {
        self.details
            .chapter_sum_mismatches()
            .into_iter()
            .map(|(chapter, printed, lines)| SumMismatch {
                chapter: chapter.to_string(),
                printed_sum: printed.0,
                sum_of_lines: lines.0,
            })
            .collect()
    }
    async fn reporting_requirements(&self, ctx: &Context<'_>) -> Result<Vec<RequirementView>> {
        let workflow = ctx.data_unchecked::<Workflow>();
        let mut out = Vec::with_capacity(self.details.requirements.len());
        for (id, (r, source)) in &self.details.requirements {
            let deadline_id = deadline_id_for_item(*id).to_string();
            let (deadline, _) = workflow
                .load::<Deadline>(&deadline_id)
                .await
                .map_err(error::workflow)?;
            let details = deadline.details;
            out.push(RequirementView {
                id: ID(id.to_string()),
                text: r.text.as_str().to_owned(),
                due: r.due.date().map(Date),
                source: source_name(source),
                deadline_status: details.as_ref().map(|d| {
                    match d.status {
                        DeadlineStatus::Open => "open",
                        DeadlineStatus::Met => "met",
                        DeadlineStatus::Waived => "waived",
                    }
                    .to_owned()
                }),
                missed: details.is_some_and(|d| !d.missed.is_empty()),
            });
        }
        Ok(out)
    }
    async fn assignments(&self) -> Vec<ListedAssignmentView> {
        self.details
            .assignments
            .iter()
            .map(|(id, a)| ListedAssignmentView {
                id: ID(id.to_string()),
                assignment_id: ID(a.assignment_id.to_string()),
                reference: a.reference.as_ref().map(|r| r.to_string()),
                title: a.title.as_str().to_owned(),
                source: source_name(&a.source),
            })
            .collect()
    }
    /// The steering calendar as printed, in date order.
    async fn calendar(&self) -> Vec<CalendarEntryView> {
        let mut entries: Vec<_> = self.details.calendar.iter().collect();
        entries.sort_by_key(|(_, e)| e.date);
        entries
            .into_iter()
            .map(|(id, e)| CalendarEntryView {
                id: ID(id.to_string()),
                date: Date(e.date),
                printed_date: e.printed_date.clone(),
                text: e.text.as_str().to_owned(),
            })
            .collect()
    }
    async fn supplements(&self) -> Vec<SupplementRef> {
        self.details
            .supplements
            .iter()
            .map(|(number, id)| SupplementRef {
                number: *number,
                id: ID(id.to_string()),
            })
            .collect()
    }
}

/// Loads a letter the caller may see; others are reported as not found.
pub async fn load_letter(ctx: &Context<'_>, id: &str) -> Result<LetterView> {
    let scope = scope(actor(ctx)?)?;
    let workflow = ctx.data_unchecked::<Workflow>();
    let missing = || error::not_found(format!("no letter {id}"));
    let (state, _) = workflow
        .load::<AllocationLetter>(id)
        .await
        .map_err(|_| missing())?;
    let details = state.details.ok_or_else(missing)?;
    if !can_see(&scope, details.ministry.as_str(), details.agency.as_str()) {
        return Err(missing());
    }
    Ok(LetterView {
        id: id.to_owned(),
        details,
    })
}

/// Every letter the caller may see, optionally of one year.
pub async fn letters(ctx: &Context<'_>, year: Option<i32>) -> Result<Vec<LetterView>> {
    let scope = scope(actor(ctx)?)?;
    let workflow = ctx.data_unchecked::<Workflow>();
    let ids = workflow
        .store()
        .stream_ids(AllocationLetter::STREAM_TYPE)
        .await
        .map_err(|e| error::workflow(e.into()))?;
    let mut out = Vec::new();
    for id in ids {
        // Ids are MINISTRY:AGENCY:YEAR: skip what the caller may not see before loading.
        let mut parts = id.split(':');
        let (Some(m), Some(a), Some(y)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        if !can_see(&scope, m, a) || year.is_some_and(|wanted| y != wanted.to_string()) {
            continue;
        }
        if let Ok(letter) = load_letter(ctx, &id).await {
            out.push(letter);
        }
    }
    Ok(out)
}

// ---- mutations --------------------------------------------------------------------------

#[derive(SimpleObject)]
pub struct LetterPayload {
    pub letter: LetterView,
    #[graphql(flatten)]
    pub receipt: CommandReceipt,
}

#[derive(InputObject)]
pub struct DraftLetterInput {
    pub ministry: String,
    pub agency: String,
    pub year: i32,
    pub title: String,
    /// The case reference (*Vår ref*), e.g. `23/3412`.
    pub case_ref: Option<String>,
}

#[derive(InputObject)]
pub struct GoalInput {
    /// As printed, e.g. `2.1`.
    pub section: String,
    pub title: String,
    #[graphql(default)]
    pub assessment_criteria: Vec<String>,
    #[graphql(default)]
    pub steering_parameters: Vec<String>,
    #[graphql(default)]
    pub key_figures: Vec<String>,
}

#[derive(InputObject)]
pub struct BudgetLineInput {
    /// Kapittel, 3–4 digits, e.g. 746.
    pub chapter: i32,
    /// Post, 2 digits, e.g. 1 for `01`.
    pub post: i32,
    /// NOK thousands.
    pub amount: i64,
    pub text: String,
}

fn chapter(field: &str, n: i32) -> Result<Chapter> {
    let n =
        u16::try_from(n).map_err(|_| error::validation(field, "a chapter has 3 or 4 digits"))?;
    parse(field, Chapter::new(n))
}

fn post(field: &str, n: i32) -> Result<Post> {
    let n = u8::try_from(n).map_err(|_| error::validation(field, "a post has 2 digits"))?;
    parse(field, Post::new(n))
}

fn deadline_term(date: Option<Date>, to_be_agreed: bool, field: &str) -> Result<DeadlineTerm> {
    match (date, to_be_agreed) {
        (Some(_), true) => Err(error::validation(
            field,
            "give a date or toBeAgreed, not both",
        )),
        (Some(d), false) => Ok(DeadlineTerm::Date(d.0)),
        (None, true) => Ok(DeadlineTerm::ToBeAgreed),
        (None, false) => Ok(DeadlineTerm::NoDeadline),
    }
}

async fn letter_payload(
    ctx: &Context<'_>,
    id: &str,
    outcome: CommandOutcome,
) -> Result<LetterPayload> {
    Ok(LetterPayload {
        letter: load_letter(ctx, id).await?,
        receipt: (&outcome).into(),
    })
}

async fn run_letter(
    ctx: &Context<'_>,
    id: &str,
    command: LetterCommand,
    options: Option<CommandOptions>,
) -> Result<LetterPayload> {
    let outcome = command::run::<AllocationLetter>(ctx, id, command, options).await?;
    letter_payload(ctx, id, outcome).await
}

/// Runs a command on the Deadline stream of a reporting requirement the caller may see.
async fn requirement_deadline(
    ctx: &Context<'_>,
    letter_id: &ID,
    item_id: &ID,
    command: DeadlineCommand,
    options: Option<CommandOptions>,
) -> Result<LetterPayload> {
    let item = ItemId(parse_uuid("itemId", item_id)?);
    let letter = load_letter(ctx, letter_id).await?;
    if !letter.details.requirements.contains_key(&item) {
        return Err(error::not_found(format!(
            "no reporting requirement {} in {}",
            item_id.as_str(),
            letter_id.as_str()
        )));
    }
    let workflow = ctx.data_unchecked::<Workflow>();
    let deadline_id = deadline_id_for_item(item).to_string();
    let (deadline, _) = workflow
        .load::<Deadline>(&deadline_id)
        .await
        .map_err(error::workflow)?;
    if deadline.details.is_none() {
        return Err(error::domain(styr_workflow::domain::DomainError::rule(
            "this requirement has no deadline: the letter is a draft or the requirement has no date",
        )));
    }
    let outcome = command::run::<Deadline>(ctx, &deadline_id, command, options).await?;
    letter_payload(ctx, letter_id, outcome).await
}

#[derive(Default)]
pub struct LetterMutation;

#[Object]
impl LetterMutation {
    /// Ministry: start the year's letter to an agency (one per ministry, agency and year).
    async fn draft_letter(
        &self,
        ctx: &Context<'_>,
        input: DraftLetterInput,
        options: Option<CommandOptions>,
    ) -> Result<LetterPayload> {
        let ministry = parse("input.ministry", OrgCode::parse(&input.ministry))?;
        let agency = parse("input.agency", OrgCode::parse(&input.agency))?;
        let year = parse("input.year", Year::new(input.year))?;
        let id = letter_stream_id(&ministry, &agency, year);
        let command = LetterCommand::Draft {
            ministry,
            agency,
            year,
            title: input.title,
            case_ref: input.case_ref,
        };
        run_letter(ctx, &id, command, options).await
    }

    /// Ministry: add a goal with its criteria, parameters and key figures to a draft.
    async fn add_goal(
        &self,
        ctx: &Context<'_>,
        letter_id: ID,
        goal: GoalInput,
        options: Option<CommandOptions>,
    ) -> Result<LetterPayload> {
        let goal = Goal {
            section: goal.section,
            title: parse(
                "goal.title",
                styr_workflow::domain::Text::new("title", &goal.title),
            )?,
            assessment_criteria: goal.assessment_criteria,
            steering_parameters: goal.steering_parameters,
            key_figures: goal.key_figures,
        };
        run_letter(
            ctx,
            &letter_id,
            LetterCommand::AddGoal(Box::new(goal)),
            options,
        )
        .await
    }

    /// Ministry: add a budget line (kap/post, NOK thousands) to a draft.
    async fn add_budget_line(
        &self,
        ctx: &Context<'_>,
        letter_id: ID,
        line: BudgetLineInput,
        options: Option<CommandOptions>,
    ) -> Result<LetterPayload> {
        let line = BudgetLine {
            chapter: chapter("line.chapter", line.chapter)?,
            post: post("line.post", line.post)?,
            amount: NokThousands(line.amount),
            text: line.text,
        };
        run_letter(ctx, &letter_id, LetterCommand::AddBudgetLine(line), options).await
    }

    /// Ministry: add a reporting requirement to a draft.
    async fn add_reporting_requirement(
        &self,
        ctx: &Context<'_>,
        letter_id: ID,
        text: String,
        due: Option<Date>,
        #[graphql(default)] to_be_agreed: bool,
        options: Option<CommandOptions>,
    ) -> Result<LetterPayload> {
        let command = LetterCommand::AddReportingRequirement {
            text,
            due: deadline_term(due, to_be_agreed, "due")?,
        };
        run_letter(ctx, &letter_id, command, options).await
    }

    /// Ministry: list an issued assignment in a draft letter.
    async fn list_assignment(
        &self,
        ctx: &Context<'_>,
        letter_id: ID,
        assignment_id: ID,
        reference: Option<String>,
        title: String,
        options: Option<CommandOptions>,
    ) -> Result<LetterPayload> {
        let command = LetterCommand::ListAssignment {
            assignment_id: AssignmentId(parse_uuid("assignmentId", &assignment_id)?),
            reference: reference
                .map(|r| parse("reference", AssignmentReference::parse(&r)))
                .transpose()?,
            title,
        };
        run_letter(ctx, &letter_id, command, options).await
    }

    /// Ministry: add a steering-calendar line to a draft.
    async fn add_calendar_item(
        &self,
        ctx: &Context<'_>,
        letter_id: ID,
        date: Date,
        printed_date: Option<String>,
        text: String,
        options: Option<CommandOptions>,
    ) -> Result<LetterPayload> {
        let command = LetterCommand::AddCalendarItem {
            date: date.0,
            printed_date,
            text,
        };
        run_letter(ctx, &letter_id, command, options).await
    }

    /// Ministry: record a chapter's printed *Sum* row (kept to flag a mismatch, never used as
    /// the total).
    async fn state_chapter_sum(
        &self,
        ctx: &Context<'_>,
        letter_id: ID,
        chapter: i32,
        sum: i64,
        options: Option<CommandOptions>,
    ) -> Result<LetterPayload> {
        let command = LetterCommand::StateChapterSum {
            chapter: self::chapter("chapter", chapter)?,
            sum: NokThousands(sum),
        };
        run_letter(ctx, &letter_id, command, options).await
    }

    /// Ministry: when a deviation counts as significant (*vesentlig*): an amount in NOK
    /// thousands and/or tenths of a percent (`50` = 5.0 %).
    async fn set_deviation_threshold(
        &self,
        ctx: &Context<'_>,
        letter_id: ID,
        amount: Option<i64>,
        per_mille: Option<u32>,
        options: Option<CommandOptions>,
    ) -> Result<LetterPayload> {
        let command = LetterCommand::SetDeviationThreshold(DeviationThreshold {
            amount: amount.map(NokThousands),
            per_mille,
        });
        run_letter(ctx, &letter_id, command, options).await
    }

    /// Ministry: remove a goal, budget line, requirement, listing or calendar line from a draft.
    async fn remove_letter_item(
        &self,
        ctx: &Context<'_>,
        letter_id: ID,
        item_id: ID,
        options: Option<CommandOptions>,
    ) -> Result<LetterPayload> {
        let command = LetterCommand::RemoveItem {
            item_id: ItemId(parse_uuid("itemId", &item_id)?),
        };
        run_letter(ctx, &letter_id, command, options).await
    }

    /// Agency: report that a reporting requirement of an issued letter has been met.
    async fn meet_reporting_requirement(
        &self,
        ctx: &Context<'_>,
        letter_id: ID,
        item_id: ID,
        options: Option<CommandOptions>,
    ) -> Result<LetterPayload> {
        let met_on = oslo_date(ctx.data_unchecked::<Workflow>().now());
        let command = DeadlineCommand::Meet {
            delivery_id: None,
            met_on,
        };
        requirement_deadline(ctx, &letter_id, &item_id, command, options).await
    }

    /// Ministry: release the agency from a reporting requirement's deadline, with the reason.
    async fn waive_reporting_requirement(
        &self,
        ctx: &Context<'_>,
        letter_id: ID,
        item_id: ID,
        reason: String,
        options: Option<CommandOptions>,
    ) -> Result<LetterPayload> {
        let command = DeadlineCommand::Waive { reason };
        requirement_deadline(ctx, &letter_id, &item_id, command, options).await
    }

    /// Ministry: issue the letter. Afterwards it changes only through supplements.
    async fn issue_letter(
        &self,
        ctx: &Context<'_>,
        letter_id: ID,
        issued_on: Date,
        options: Option<CommandOptions>,
    ) -> Result<LetterPayload> {
        let command = LetterCommand::Issue {
            issued_on: issued_on.0,
        };
        run_letter(ctx, &letter_id, command, options).await
    }
}

// ---- supplements ------------------------------------------------------------------------

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum SupplementChangeKind {
    AddAssignment,
    AmendAssignment,
    ChangeAssignmentDeadline,
    CancelAssignment,
    TransferAssignment,
    BudgetAdjustment,
    AddReportingRequirement,
    FreeText,
}

#[derive(InputObject, Clone)]
pub struct SupplementPartInput {
    pub label: Option<String>,
    pub title: Option<String>,
    pub deadline: Option<Date>,
    #[graphql(default)]
    pub to_be_agreed: bool,
}

#[derive(InputObject, Clone)]
pub struct AdjustmentPartInput {
    /// NOK thousands, signed.
    pub amount: i64,
    pub reason: String,
    pub effective: Option<Date>,
}

/// One change; which fields are needed depends on `kind`.
#[derive(InputObject, Clone)]
pub struct SupplementChangeInput {
    pub kind: SupplementChangeKind,
    /// The assignment changed (all kinds but ADD_ASSIGNMENT, BUDGET_ADJUSTMENT,
    /// ADD_REPORTING_REQUIREMENT and FREE_TEXT).
    pub assignment_id: Option<ID>,
    pub reference: Option<String>,
    pub department: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub goal: Option<String>,
    pub parts: Option<Vec<SupplementPartInput>>,
    pub part: Option<String>,
    pub deadline: Option<Date>,
    #[graphql(default)]
    pub to_be_agreed: bool,
    pub to_agency: Option<String>,
    pub effective: Option<Date>,
    pub chapter: Option<i32>,
    pub post: Option<i32>,
    /// NOK thousands: the total the letter states (applied).
    pub stated_total: Option<i64>,
    /// The printed components (kept to flag a mismatch with the stated total).
    pub adjustment_parts: Option<Vec<AdjustmentPartInput>>,
    pub printed: Option<String>,
    pub reason: Option<String>,
    pub text: Option<String>,
}

fn required<T: Clone>(field: &str, v: &Option<T>) -> Result<T> {
    v.clone().ok_or_else(|| {
        error::validation(
            field,
            format!("{field} is required for this kind of change"),
        )
    })
}

impl SupplementChangeInput {
    fn to_domain(&self) -> Result<SupplementChange> {
        let assignment = || -> Result<AssignmentId> {
            Ok(AssignmentId(parse_uuid(
                "change.assignmentId",
                &required("change.assignmentId", &self.assignment_id)?,
            )?))
        };
        let reason = || required("change.reason", &self.reason);
        Ok(match self.kind {
            SupplementChangeKind::AddAssignment => {
                let mut parts = Vec::new();
                for (i, p) in self.parts.iter().flatten().enumerate() {
                    let field = format!("change.parts[{i}]");
                    parts.push(PartSpec {
                        label: p
                            .label
                            .as_deref()
                            .map(|l| parse(&format!("{field}.label"), PartLabel::parse(l)))
                            .transpose()?,
                        title: p.title.clone(),
                        deadline: deadline_term(p.deadline, p.to_be_agreed, &field)?,
                    });
                }
                SupplementChange::AddAssignment(Box::new(NewAssignment {
                    assignment_id: AssignmentId(Uuid::now_v7()),
                    reference: self
                        .reference
                        .as_deref()
                        .map(|r| parse("change.reference", AssignmentReference::parse(r)))
                        .transpose()?,
                    department: self
                        .department
                        .as_deref()
                        .map(|d| parse("change.department", DepartmentCode::parse(d)))
                        .transpose()?,
                    title: required("change.title", &self.title)?,
                    description: self.description.clone().unwrap_or_default(),
                    goal: self.goal.clone(),
                    parts,
                    collaborators: Vec::new(),
                }))
            }
            SupplementChangeKind::AmendAssignment => SupplementChange::AmendAssignment {
                assignment_id: assignment()?,
                title: self.title.clone(),
                description: self.description.clone(),
            },
            SupplementChangeKind::ChangeAssignmentDeadline => {
                SupplementChange::ChangeAssignmentDeadline {
                    assignment_id: assignment()?,
                    part: self
                        .part
                        .as_deref()
                        .map(|l| parse("change.part", PartLabel::parse(l)))
                        .transpose()?,
                    deadline: deadline_term(self.deadline, self.to_be_agreed, "change.deadline")?,
                }
            }
            SupplementChangeKind::CancelAssignment => SupplementChange::CancelAssignment {
                assignment_id: assignment()?,
                reason: reason()?,
            },
            SupplementChangeKind::TransferAssignment => SupplementChange::TransferAssignment {
                assignment_id: assignment()?,
                to_agency: parse(
                    "change.toAgency",
                    OrgCode::parse(&required("change.toAgency", &self.to_agency)?),
                )?,
                reason: reason()?,
                effective: required("change.effective", &self.effective)?.0,
            },
            SupplementChangeKind::BudgetAdjustment => SupplementChange::BudgetAdjustment {
                chapter: chapter("change.chapter", required("change.chapter", &self.chapter)?)?,
                post: post("change.post", required("change.post", &self.post)?)?,
                stated_total: NokThousands(required("change.statedTotal", &self.stated_total)?),
                parts: self
                    .adjustment_parts
                    .iter()
                    .flatten()
                    .map(|p| AdjustmentPart {
                        amount: NokThousands(p.amount),
                        reason: p.reason.clone(),
                        effective: p.effective.map(|d| d.0),
                    })
                    .collect(),
                reason: reason()?,
                printed: self.printed.clone(),
            },
            SupplementChangeKind::AddReportingRequirement => {
                SupplementChange::AddReportingRequirement {
                    text: required("change.text", &self.text)?,
                    due: deadline_term(self.deadline, self.to_be_agreed, "change.deadline")?,
                }
            }
            SupplementChangeKind::FreeText => SupplementChange::FreeText {
                text: required("change.text", &self.text)?,
            },
        })
    }
}

/// A drafted or issued supplement.
#[derive(SimpleObject)]
pub struct SupplementView {
    pub id: ID,
    pub letter_id: ID,
    pub title: String,
    /// Fixed when issued.
    pub number: Option<u32>,
    pub issued_on: Option<Date>,
    /// The change kinds in the order added, with their ids (for removal).
    pub changes: Vec<SupplementChangeView>,
}

#[derive(SimpleObject)]
pub struct SupplementChangeView {
    pub id: ID,
    pub kind: String,
}

#[derive(SimpleObject)]
pub struct SupplementPayload {
    pub supplement: SupplementView,
    #[graphql(flatten)]
    pub receipt: CommandReceipt,
}

pub(crate) async fn load_supplement(ctx: &Context<'_>, id: &str) -> Result<SupplementView> {
    let scope = scope(actor(ctx)?)?;
    let workflow = ctx.data_unchecked::<Workflow>();
    let missing = || error::not_found(format!("no supplement {id}"));
    let (state, _) = workflow
        .load::<Supplement>(id)
        .await
        .map_err(|_| missing())?;
    let d = state.details.ok_or_else(missing)?;
    if !can_see(&scope, d.ministry.as_str(), d.agency.as_str()) {
        return Err(missing());
    }
    Ok(SupplementView {
        id: ID(id.to_owned()),
        letter_id: ID(d.letter_stream_id()),
        title: d.title.as_str().to_owned(),
        number: d.number,
        issued_on: d.issued_on.map(Date),
        changes: d
            .changes
            .iter()
            .map(|(item, change)| SupplementChangeView {
                id: ID(item.to_string()),
                kind: serde_json::to_value(change)
                    .ok()
                    .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_owned))
                    .unwrap_or_default(),
            })
            .collect(),
    })
}

async fn supplement_payload(
    ctx: &Context<'_>,
    id: &str,
    outcome: CommandOutcome,
) -> Result<SupplementPayload> {
    Ok(SupplementPayload {
        supplement: load_supplement(ctx, id).await?,
        receipt: (&outcome).into(),
    })
}

fn supplement_id(field: &str, id: &ID) -> Result<String> {
    Ok(parse_uuid(field, id)?.to_string())
}

#[derive(Default)]
pub struct SupplementMutation;

#[Object]
impl SupplementMutation {
    /// Ministry: start a supplement to an issued letter.
    async fn draft_supplement(
        &self,
        ctx: &Context<'_>,
        letter_id: ID,
        title: String,
        options: Option<CommandOptions>,
    ) -> Result<SupplementPayload> {
        let letter = load_letter(ctx, &letter_id).await?;
        // A retried draft must address the same stream: derive its id from the command id.
        let id = match options.as_ref().and_then(|o| o.command_id.as_ref()) {
            Some(c) => Uuid::new_v5(&parse_uuid("options.commandId", c)?, b"supplement"),
            None => Uuid::now_v7(),
        };
        let command = SupplementCommand::DraftWithId {
            supplement_id: SupplementId(id),
            ministry: letter.details.ministry.clone(),
            agency: letter.details.agency.clone(),
            year: letter.details.year,
            title,
        };
        let id = id.to_string();
        let outcome = command::run::<Supplement>(ctx, &id, command, options).await?;
        supplement_payload(ctx, &id, outcome).await
    }

    /// Ministry: add a change to a draft supplement.
    async fn add_supplement_change(
        &self,
        ctx: &Context<'_>,
        supplement_id: ID,
        change: SupplementChangeInput,
        options: Option<CommandOptions>,
    ) -> Result<SupplementPayload> {
        let id = self::supplement_id("supplementId", &supplement_id)?;
        let command = SupplementCommand::AddChange(Box::new(change.to_domain()?));
        let outcome = command::run::<Supplement>(ctx, &id, command, options).await?;
        supplement_payload(ctx, &id, outcome).await
    }

    /// Ministry: remove a change from a draft supplement.
    async fn remove_supplement_change(
        &self,
        ctx: &Context<'_>,
        supplement_id: ID,
        change_id: ID,
        options: Option<CommandOptions>,
    ) -> Result<SupplementPayload> {
        let id = self::supplement_id("supplementId", &supplement_id)?;
        let command = SupplementCommand::RemoveChange {
            change_id: ItemId(parse_uuid("changeId", &change_id)?),
        };
        let outcome = command::run::<Supplement>(ctx, &id, command, options).await?;
        supplement_payload(ctx, &id, outcome).await
    }

    /// Ministry: issue the supplement. Its number is fixed, and every change is applied to the
    /// letter and the assignments at once — all of them or none.
    async fn issue_supplement(
        &self,
        ctx: &Context<'_>,
        supplement_id: ID,
        issued_on: Date,
        #[graphql(
            desc = "The number printed on the document, when registering one; omit to take the next."
        )]
        number: Option<u32>,
        options: Option<CommandOptions>,
    ) -> Result<SupplementPayload> {
        let id = self::supplement_id("supplementId", &supplement_id)?;
        let workflow = ctx.data_unchecked::<Workflow>();
        let meta = command::meta(ctx, options)?;
        let issue = IssueSupplement {
            supplement_id: SupplementId(parse_uuid("supplementId", &supplement_id)?),
            number,
            issued_on: issued_on.0,
        };
        let outcome = workflow
            .issue_supplement(&id, issue, &meta)
            .await
            .map_err(error::workflow)?;
        workflow.settle(&outcome).await.map_err(error::workflow)?;
        supplement_payload(ctx, &id, outcome).await
    }
}
