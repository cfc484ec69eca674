//! Deviation reports (*avviksrapporter*) and steering-calendar items (*styringskalender*):
//! their views, the list of fagmøte instructions not yet formalized, and their mutations.
//! Lists are read from the streams themselves (a year has dozens of these, not thousands).

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use styr_workflow::domain::allocation_letter::{AllocationLetter, letter_stream_id};
use styr_workflow::domain::calendar::{
    CalendarCommand, CalendarDetails, CalendarKind, CalendarStatus, FormalSource, MeetingKind,
    ReportKind, Side, SteeringCalendarItem,
};
use styr_workflow::domain::deviation::{
    DeviationCategory, DeviationCommand, DeviationDetails, DeviationReport, DeviationStatus,
    DeviationSubject,
};
use styr_workflow::domain::{
    Aggregate, AssignmentId, ItemId, NokThousands, OrgCode, SupplementId, Year, oslo_date,
};
use styr_workflow::{CommandOutcome, FollowUps, Workflow};
use uuid::Uuid;

use crate::assignment::PeriodInput;
use crate::command::{self, CommandOptions, CommandReceipt, parse, parse_uuid};
use crate::error;
use crate::scalars::Date;
use crate::viewer::{actor, can_see, scope};

/// How many days after discovery a significant deviation counts as reported late. The
/// instruction says "immediately"; a week is the default tolerance.
pub const SIGNIFICANT_REPORTING_DAYS: i64 = 7;

/// Loads every stream of `A` the caller may see, newest id last.
async fn visible<A, T>(
    ctx: &Context<'_>,
    details: impl Fn(A) -> Option<T>,
    owner: impl Fn(&T) -> (&OrgCode, &OrgCode),
) -> Result<Vec<(String, T)>>
where
    A: Aggregate,
{
    let scope = scope(actor(ctx)?)?;
    let workflow = ctx.data_unchecked::<Workflow>();
    let ids = workflow
        .store()
        .stream_ids(A::STREAM_TYPE)
        .await
        .map_err(|e| error::workflow(e.into()))?;
    let mut out = Vec::new();
    for id in ids {
        let (state, _) = workflow.load::<A>(&id).await.map_err(error::workflow)?;
        if let Some(d) = details(state) {
            let (m, a) = owner(&d);
            if can_see(&scope, m.as_str(), a.as_str()) {
                out.push((id, d));
            }
        }
    }
    Ok(out)
}

/// One stream the caller may see, else not found.
async fn one<A, T>(
    ctx: &Context<'_>,
    id: &str,
    details: impl Fn(A) -> Option<T>,
    owner: impl Fn(&T) -> (&OrgCode, &OrgCode),
) -> Result<T>
where
    A: Aggregate,
{
    let scope = scope(actor(ctx)?)?;
    let missing = || error::not_found(format!("nothing with id {id}"));
    if Uuid::parse_str(id).is_err() {
        return Err(missing());
    }
    let (state, _) = ctx
        .data_unchecked::<Workflow>()
        .load::<A>(id)
        .await
        .map_err(error::workflow)?;
    let d = details(state).ok_or_else(missing)?;
    let (m, a) = owner(&d);
    if !can_see(&scope, m.as_str(), a.as_str()) {
        return Err(missing());
    }
    Ok(d)
}

async fn run<A>(
    ctx: &Context<'_>,
    id: &str,
    command: A::Command,
    options: Option<CommandOptions>,
) -> Result<CommandOutcome>
where
    A: FollowUps,
    A::Command: Clone,
{
    if Uuid::parse_str(id).is_err() {
        return Err(error::not_found(format!("nothing with id {id}")));
    }
    command::run::<A>(ctx, id, command, options).await
}

/// A new stream id; derived from the command id when there is one, so a retry addresses the
/// same stream.
fn new_stream_id(options: &Option<CommandOptions>, kind: &[u8]) -> Result<String> {
    Ok(match options.as_ref().and_then(|o| o.command_id.as_ref()) {
        Some(c) => Uuid::new_v5(&parse_uuid("options.commandId", c)?, kind),
        None => Uuid::now_v7(),
    }
    .to_string())
}

// ---- deviation reports ----------------------------------------------------------------

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum DeviationKind {
    /// Against a budget line (kap/post) for a period.
    Budget,
    /// About a goal.
    Goal,
    /// About an assignment.
    Assignment,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "DeviationCategory")]
pub enum CategoryKind {
    Budget,
    GoalAchievement,
    LawBreach,
    SecurityIncident,
    PublicInterest,
}

impl From<CategoryKind> for DeviationCategory {
    fn from(c: CategoryKind) -> Self {
        match c {
            CategoryKind::Budget => DeviationCategory::Budget,
            CategoryKind::GoalAchievement => DeviationCategory::GoalAchievement,
            CategoryKind::LawBreach => DeviationCategory::LawBreach,
            CategoryKind::SecurityIncident => DeviationCategory::SecurityIncident,
            CategoryKind::PublicInterest => DeviationCategory::PublicInterest,
        }
    }
}

#[derive(InputObject)]
pub struct DeviationInput {
    pub ministry: String,
    pub agency: String,
    pub kind: DeviationKind,
    /// BUDGET: kapittel, post, period, periodised budget and actual (NOK thousands).
    pub chapter: Option<i32>,
    pub post: Option<i32>,
    pub period: Option<PeriodInput>,
    pub periodised_budget: Option<i64>,
    pub actual: Option<i64>,
    pub forecast: Option<i64>,
    /// GOAL: the goal's section, e.g. `2.1`.
    pub goal: Option<String>,
    /// ASSIGNMENT: the assignment's id.
    pub assignment_id: Option<ID>,
    /// GOAL and ASSIGNMENT: the category and whether it is significant (*vesentlig*).
    pub category: Option<CategoryKind>,
    #[graphql(default)]
    pub significant: bool,
    pub explanation: String,
    pub measures: Option<String>,
    pub discovered_on: Date,
}

fn need<T: Clone>(field: &str, v: &Option<T>) -> Result<T> {
    v.clone().ok_or_else(|| {
        error::validation(
            field,
            format!("{field} is required for this kind of deviation"),
        )
    })
}

impl DeviationInput {
    fn subject(&self) -> Result<DeviationSubject> {
        Ok(match self.kind {
            DeviationKind::Budget => DeviationSubject::Budget {
                chapter: parse(
                    "input.chapter",
                    styr_workflow::domain::Chapter::new(
                        u16::try_from(need("input.chapter", &self.chapter)?).unwrap_or(0),
                    ),
                )?,
                post: parse(
                    "input.post",
                    styr_workflow::domain::Post::new(
                        u8::try_from(need("input.post", &self.post)?).unwrap_or(0),
                    ),
                )?,
                period: need("input.period", &self.period)?.to_domain()?,
                periodised_budget: NokThousands(need(
                    "input.periodisedBudget",
                    &self.periodised_budget,
                )?),
                actual: NokThousands(need("input.actual", &self.actual)?),
                forecast: self.forecast.map(NokThousands),
            },
            DeviationKind::Goal => DeviationSubject::Goal {
                goal: need("input.goal", &self.goal)?,
                category: need("input.category", &self.category)?.into(),
                significant: self.significant,
            },
            DeviationKind::Assignment => DeviationSubject::Assignment {
                assignment_id: AssignmentId(parse_uuid(
                    "input.assignmentId",
                    &need("input.assignmentId", &self.assignment_id)?,
                )?),
                category: need("input.category", &self.category)?.into(),
                significant: self.significant,
            },
        })
    }
}

pub struct DeviationView {
    pub id: String,
    pub details: DeviationDetails,
    pub today: chrono::NaiveDate,
}

#[Object(name = "DeviationReport")]
impl DeviationView {
    async fn id(&self) -> ID {
        ID(self.id.clone())
    }
    async fn ministry(&self) -> String {
        self.details.ministry.to_string()
    }
    async fn agency(&self) -> String {
        self.details.agency.to_string()
    }
    /// `budget`, `goal` or `assignment`, with the subject's fields.
    async fn subject(&self) -> async_graphql::Json<serde_json::Value> {
        async_graphql::Json(serde_json::to_value(&self.details.subject).unwrap_or_default())
    }
    /// Actual minus periodised budget, NOK thousands (budget deviations).
    async fn deviation(&self) -> Option<i64> {
        self.details.subject.deviation().map(|d| d.0)
    }
    /// The deviation in tenths of a percent of the periodised budget.
    async fn deviation_per_mille(&self) -> Option<i64> {
        self.details.subject.deviation_per_mille()
    }
    /// Computed from the letter's threshold (budget) or stated (other kinds).
    async fn significant(&self) -> bool {
        self.details.is_significant()
    }
    async fn explanation(&self) -> &str {
        self.details.explanation.as_str()
    }
    async fn measures(&self) -> Option<&str> {
        self.details.measures.as_deref()
    }
    async fn discovered_on(&self) -> Date {
        Date(self.details.discovered_on)
    }
    async fn submitted_on(&self) -> Option<Date> {
        self.details.submitted_on.map(Date)
    }
    /// Days from discovery to submission (or to today while unsent).
    async fn lag_days(&self) -> i64 {
        self.details.lag_days(self.today)
    }
    /// A significant deviation not reported within the tolerance.
    async fn reported_late(&self) -> bool {
        self.details
            .reported_late(self.today, SIGNIFICANT_REPORTING_DAYS)
    }
    /// `draft`, `submitted`, `acknowledged`, `follow_up_requested`, `answered` or `closed`.
    async fn status(&self) -> &'static str {
        match self.details.status {
            DeviationStatus::Draft => "draft",
            DeviationStatus::Submitted => "submitted",
            DeviationStatus::Acknowledged => "acknowledged",
            DeviationStatus::FollowUpRequested => "follow_up_requested",
            DeviationStatus::Answered => "answered",
            DeviationStatus::Closed => "closed",
        }
    }
    /// The ministry's questions and the agency's answers, in order.
    async fn dialogue(&self) -> Vec<FollowUpView> {
        self.details
            .dialogue
            .iter()
            .map(|(q, a)| FollowUpView {
                question: q.as_str().to_owned(),
                answer: a.as_ref().map(|a| a.as_str().to_owned()),
            })
            .collect()
    }
}

#[derive(SimpleObject)]
pub struct FollowUpView {
    pub question: String,
    pub answer: Option<String>,
}

#[derive(SimpleObject)]
pub struct DeviationPayload {
    pub report: DeviationView,
    #[graphql(flatten)]
    pub receipt: CommandReceipt,
}

fn deviation_details(s: DeviationReport) -> Option<DeviationDetails> {
    s.details
}

fn deviation_owner(d: &DeviationDetails) -> (&OrgCode, &OrgCode) {
    (&d.ministry, &d.agency)
}

async fn deviation_view(ctx: &Context<'_>, id: &str) -> Result<DeviationView> {
    let details = one(ctx, id, deviation_details, deviation_owner).await?;
    Ok(DeviationView {
        id: id.to_owned(),
        details,
        today: oslo_date(ctx.data_unchecked::<Workflow>().now()),
    })
}

pub async fn deviation_reports(ctx: &Context<'_>) -> Result<Vec<DeviationView>> {
    let today = oslo_date(ctx.data_unchecked::<Workflow>().now());
    Ok(visible(ctx, deviation_details, deviation_owner)
        .await?
        .into_iter()
        .map(|(id, details)| DeviationView { id, details, today })
        .collect())
}

pub async fn deviation_report(ctx: &Context<'_>, id: &str) -> Result<DeviationView> {
    deviation_view(ctx, id).await
}

async fn deviation_payload(
    ctx: &Context<'_>,
    id: &str,
    outcome: CommandOutcome,
) -> Result<DeviationPayload> {
    Ok(DeviationPayload {
        report: deviation_view(ctx, id).await?,
        receipt: (&outcome).into(),
    })
}

async fn deviation_step(
    ctx: &Context<'_>,
    id: &ID,
    command: DeviationCommand,
    options: Option<CommandOptions>,
) -> Result<DeviationPayload> {
    let outcome = run::<DeviationReport>(ctx, id, command, options).await?;
    deviation_payload(ctx, id, outcome).await
}

#[derive(Default)]
pub struct DeviationMutation;

#[Object]
impl DeviationMutation {
    /// Agency: draft a deviation report. Whether a budget deviation is significant is computed
    /// from the threshold in the letter of its ministry, agency and year.
    async fn draft_deviation_report(
        &self,
        ctx: &Context<'_>,
        input: DeviationInput,
        options: Option<CommandOptions>,
    ) -> Result<DeviationPayload> {
        let ministry = parse("input.ministry", OrgCode::parse(&input.ministry))?;
        let agency = parse("input.agency", OrgCode::parse(&input.agency))?;
        let year = parse(
            "input.discoveredOn",
            Year::new(chrono::Datelike::year(&input.discovered_on.0)),
        )?;
        let workflow = ctx.data_unchecked::<Workflow>();
        let (letter, _) = workflow
            .load::<AllocationLetter>(&letter_stream_id(&ministry, &agency, year))
            .await
            .map_err(error::workflow)?;
        let command = DeviationCommand::Draft {
            subject: input.subject()?,
            ministry,
            agency,
            explanation: input.explanation,
            measures: input.measures,
            discovered_on: input.discovered_on.0,
            letter_threshold: letter.details.and_then(|d| d.threshold),
        };
        let id = new_stream_id(&options, b"deviation_report")?;
        let outcome = run::<DeviationReport>(ctx, &id, command, options).await?;
        deviation_payload(ctx, &id, outcome).await
    }

    /// Agency: submit the report to the ministry.
    async fn submit_deviation_report(
        &self,
        ctx: &Context<'_>,
        id: ID,
        options: Option<CommandOptions>,
    ) -> Result<DeviationPayload> {
        deviation_step(ctx, &id, DeviationCommand::Submit, options).await
    }

    /// Ministry: acknowledge a submitted report.
    async fn acknowledge_deviation_report(
        &self,
        ctx: &Context<'_>,
        id: ID,
        options: Option<CommandOptions>,
    ) -> Result<DeviationPayload> {
        deviation_step(ctx, &id, DeviationCommand::Acknowledge, options).await
    }

    /// Ministry: ask a follow-up question.
    async fn request_deviation_follow_up(
        &self,
        ctx: &Context<'_>,
        id: ID,
        question: String,
        options: Option<CommandOptions>,
    ) -> Result<DeviationPayload> {
        deviation_step(
            ctx,
            &id,
            DeviationCommand::RequestFollowUp { question },
            options,
        )
        .await
    }

    /// Agency: answer the ministry's question.
    async fn answer_deviation_follow_up(
        &self,
        ctx: &Context<'_>,
        id: ID,
        answer: String,
        options: Option<CommandOptions>,
    ) -> Result<DeviationPayload> {
        deviation_step(ctx, &id, DeviationCommand::Answer { answer }, options).await
    }

    /// Ministry: close the report.
    async fn close_deviation_report(
        &self,
        ctx: &Context<'_>,
        id: ID,
        options: Option<CommandOptions>,
    ) -> Result<DeviationPayload> {
        deviation_step(ctx, &id, DeviationCommand::Close, options).await
    }
}

// ---- steering calendar ----------------------------------------------------------------

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "CalendarKind")]
pub enum CalendarKindInput {
    TertialReport,
    HalfYearReport,
    QuarterReport,
    AnnualReport,
    BudgetInput,
    RiskAssessment,
    Accounts,
    /// *Etatsstyringsmøte*.
    SteeringMeeting,
    /// *Fagmøte*: instructions given here must be formalized in a letter or supplement.
    TechnicalMeeting,
    Other,
}

impl From<CalendarKindInput> for CalendarKind {
    fn from(k: CalendarKindInput) -> Self {
        match k {
            CalendarKindInput::TertialReport => CalendarKind::ReportDue(ReportKind::Tertial),
            CalendarKindInput::HalfYearReport => CalendarKind::ReportDue(ReportKind::HalfYear),
            CalendarKindInput::QuarterReport => CalendarKind::ReportDue(ReportKind::Quarter),
            CalendarKindInput::AnnualReport => CalendarKind::ReportDue(ReportKind::AnnualReport),
            CalendarKindInput::BudgetInput => CalendarKind::ReportDue(ReportKind::BudgetInput),
            CalendarKindInput::RiskAssessment => {
                CalendarKind::ReportDue(ReportKind::RiskAssessment)
            }
            CalendarKindInput::Accounts => CalendarKind::ReportDue(ReportKind::Accounts),
            CalendarKindInput::SteeringMeeting => {
                CalendarKind::Meeting(MeetingKind::SteeringMeeting)
            }
            CalendarKindInput::TechnicalMeeting => {
                CalendarKind::Meeting(MeetingKind::TechnicalMeeting)
            }
            CalendarKindInput::Other => CalendarKind::Other,
        }
    }
}

impl From<CalendarKind> for CalendarKindInput {
    fn from(k: CalendarKind) -> Self {
        match k {
            CalendarKind::ReportDue(ReportKind::Tertial) => CalendarKindInput::TertialReport,
            CalendarKind::ReportDue(ReportKind::HalfYear) => CalendarKindInput::HalfYearReport,
            CalendarKind::ReportDue(ReportKind::Quarter) => CalendarKindInput::QuarterReport,
            CalendarKind::ReportDue(ReportKind::AnnualReport) => CalendarKindInput::AnnualReport,
            CalendarKind::ReportDue(ReportKind::BudgetInput) => CalendarKindInput::BudgetInput,
            CalendarKind::ReportDue(ReportKind::RiskAssessment) => {
                CalendarKindInput::RiskAssessment
            }
            CalendarKind::ReportDue(ReportKind::Accounts) => CalendarKindInput::Accounts,
            CalendarKind::Meeting(MeetingKind::SteeringMeeting) => {
                CalendarKindInput::SteeringMeeting
            }
            CalendarKind::Meeting(MeetingKind::TechnicalMeeting) => {
                CalendarKindInput::TechnicalMeeting
            }
            CalendarKind::Other => CalendarKindInput::Other,
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum ResponsibleSide {
    Ministry,
    Agency,
}

#[derive(InputObject)]
pub struct ScheduleInput {
    pub ministry: String,
    pub agency: String,
    pub date: Date,
    pub kind: CalendarKindInput,
    pub title: String,
    pub responsible: ResponsibleSide,
}

/// A letter or a supplement that formalizes an instruction.
#[derive(InputObject)]
pub struct FormalSourceInput {
    /// The letter id (`HOD:DMP:2024`), or
    pub letter_id: Option<ID>,
    /// a supplement's id and number.
    pub supplement_id: Option<ID>,
    pub supplement_number: Option<u32>,
}

#[derive(SimpleObject)]
pub struct InstructionView {
    pub id: ID,
    pub text: String,
    /// `letter HOD:DMP:2024` or `supplement N`, once formalized.
    pub formalized_by: Option<String>,
}

pub struct CalendarItemView {
    pub id: String,
    pub details: CalendarDetails,
}

#[Object(name = "CalendarItem")]
impl CalendarItemView {
    async fn id(&self) -> ID {
        ID(self.id.clone())
    }
    async fn ministry(&self) -> String {
        self.details.ministry.to_string()
    }
    async fn agency(&self) -> String {
        self.details.agency.to_string()
    }
    async fn date(&self) -> Date {
        Date(self.details.date)
    }
    async fn kind(&self) -> CalendarKindInput {
        self.details.kind.into()
    }
    async fn title(&self) -> &str {
        self.details.title.as_str()
    }
    async fn responsible(&self) -> ResponsibleSide {
        match self.details.responsible {
            Side::Ministry => ResponsibleSide::Ministry,
            Side::Agency => ResponsibleSide::Agency,
        }
    }
    /// `scheduled`, `completed`, `minutes_recorded`, `missed` or `cancelled`.
    async fn status(&self) -> &'static str {
        match self.details.status {
            CalendarStatus::Scheduled => "scheduled",
            CalendarStatus::Completed => "completed",
            CalendarStatus::MinutesRecorded => "minutes_recorded",
            CalendarStatus::Missed => "missed",
            CalendarStatus::Cancelled => "cancelled",
        }
    }
    async fn decisions(&self) -> Vec<String> {
        self.details
            .decisions
            .iter()
            .map(|d| d.as_str().to_owned())
            .collect()
    }
    async fn instructions(&self) -> Vec<InstructionView> {
        self.details
            .instructions
            .iter()
            .map(|(i, formal)| InstructionView {
                id: ID(i.instruction_id.to_string()),
                text: i.text.as_str().to_owned(),
                formalized_by: formal.as_ref().map(|f| match f {
                    FormalSource::Letter { letter } => format!("letter {letter}"),
                    FormalSource::Supplement { number, .. } => format!("supplement {number}"),
                }),
            })
            .collect()
    }
}

#[derive(SimpleObject)]
pub struct CalendarPayload {
    pub item: CalendarItemView,
    #[graphql(flatten)]
    pub receipt: CommandReceipt,
}

fn calendar_details(s: SteeringCalendarItem) -> Option<CalendarDetails> {
    s.details
}

fn calendar_owner(d: &CalendarDetails) -> (&OrgCode, &OrgCode) {
    (&d.ministry, &d.agency)
}

pub async fn calendar_items(ctx: &Context<'_>) -> Result<Vec<CalendarItemView>> {
    let mut items: Vec<CalendarItemView> = visible(ctx, calendar_details, calendar_owner)
        .await?
        .into_iter()
        .map(|(id, details)| CalendarItemView { id, details })
        .collect();
    items.sort_by_key(|i| i.details.date);
    Ok(items)
}

/// Meetings' instructions that no letter or supplement has formalized yet (hovedinstruks §5.1).
pub async fn unformalized_instructions(ctx: &Context<'_>) -> Result<Vec<CalendarItemView>> {
    Ok(calendar_items(ctx)
        .await?
        .into_iter()
        .filter(|i| !i.details.unformalized_instructions().is_empty())
        .collect())
}

async fn calendar_payload(
    ctx: &Context<'_>,
    id: &str,
    outcome: CommandOutcome,
) -> Result<CalendarPayload> {
    Ok(CalendarPayload {
        item: CalendarItemView {
            id: id.to_owned(),
            details: one(ctx, id, calendar_details, calendar_owner).await?,
        },
        receipt: (&outcome).into(),
    })
}

async fn calendar_step(
    ctx: &Context<'_>,
    id: &ID,
    command: CalendarCommand,
    options: Option<CommandOptions>,
) -> Result<CalendarPayload> {
    let outcome = run::<SteeringCalendarItem>(ctx, id, command, options).await?;
    calendar_payload(ctx, id, outcome).await
}

#[derive(Default)]
pub struct CalendarMutation;

#[Object]
impl CalendarMutation {
    /// Ministry: put a report deadline or a meeting in the steering calendar.
    async fn schedule_calendar_item(
        &self,
        ctx: &Context<'_>,
        input: ScheduleInput,
        options: Option<CommandOptions>,
    ) -> Result<CalendarPayload> {
        let command = CalendarCommand::Schedule {
            ministry: parse("input.ministry", OrgCode::parse(&input.ministry))?,
            agency: parse("input.agency", OrgCode::parse(&input.agency))?,
            date: input.date.0,
            kind: input.kind.into(),
            title: input.title,
            responsible: match input.responsible {
                ResponsibleSide::Ministry => Side::Ministry,
                ResponsibleSide::Agency => Side::Agency,
            },
        };
        let id = new_stream_id(&options, b"calendar_item")?;
        let outcome = run::<SteeringCalendarItem>(ctx, &id, command, options).await?;
        calendar_payload(ctx, &id, outcome).await
    }

    /// Move the item to another date, with the reason.
    async fn reschedule_calendar_item(
        &self,
        ctx: &Context<'_>,
        id: ID,
        date: Date,
        reason: String,
        options: Option<CommandOptions>,
    ) -> Result<CalendarPayload> {
        let command = CalendarCommand::Reschedule {
            date: date.0,
            reason,
        };
        calendar_step(ctx, &id, command, options).await
    }

    /// The report was delivered or the meeting held; `documentRef` points to it.
    async fn complete_calendar_item(
        &self,
        ctx: &Context<'_>,
        id: ID,
        document_ref: String,
        options: Option<CommandOptions>,
    ) -> Result<CalendarPayload> {
        calendar_step(
            ctx,
            &id,
            CalendarCommand::Complete { document_ref },
            options,
        )
        .await
    }

    /// Record a meeting's minutes with its decisions and the instructions given.
    async fn record_minutes(
        &self,
        ctx: &Context<'_>,
        id: ID,
        document_ref: String,
        #[graphql(default)] decisions: Vec<String>,
        #[graphql(default)] instructions: Vec<String>,
        options: Option<CommandOptions>,
    ) -> Result<CalendarPayload> {
        let command = CalendarCommand::RecordMinutes {
            document_ref,
            decisions,
            instructions,
        };
        calendar_step(ctx, &id, command, options).await
    }

    /// Ministry: link an instruction from a meeting to the letter or supplement that gives it
    /// formally.
    async fn formalize_instruction(
        &self,
        ctx: &Context<'_>,
        id: ID,
        instruction_id: ID,
        source: FormalSourceInput,
        options: Option<CommandOptions>,
    ) -> Result<CalendarPayload> {
        let source = match (
            source.letter_id,
            source.supplement_id,
            source.supplement_number,
        ) {
            (Some(letter), None, None) => FormalSource::Letter {
                letter: letter.to_string(),
            },
            (None, Some(s), Some(number)) => FormalSource::Supplement {
                supplement_id: SupplementId(parse_uuid("source.supplementId", &s)?),
                number,
            },
            _ => {
                return Err(error::validation(
                    "source",
                    "give either letterId, or supplementId with supplementNumber",
                ));
            }
        };
        let command = CalendarCommand::FormalizeInstruction {
            instruction_id: ItemId(parse_uuid("instructionId", &instruction_id)?),
            source,
        };
        calendar_step(ctx, &id, command, options).await
    }

    /// The report did not arrive or the meeting was not held.
    async fn mark_calendar_item_missed(
        &self,
        ctx: &Context<'_>,
        id: ID,
        options: Option<CommandOptions>,
    ) -> Result<CalendarPayload> {
        calendar_step(ctx, &id, CalendarCommand::MarkMissed, options).await
    }

    /// Ministry: cancel the item, with the reason.
    async fn cancel_calendar_item(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: String,
        options: Option<CommandOptions>,
    ) -> Result<CalendarPayload> {
        calendar_step(ctx, &id, CalendarCommand::Cancel { reason }, options).await
    }
}
