//! The 2024 demo: the real HOD→DMP steering year, replayed into an empty log through the same
//! commands the API uses, each step dated as it happened.
//!
//! The year lives in a script (`tests/fixtures/demo-2024/script.json`, compiled in as
//! [`SCRIPT_2024`]): phases of dated steps — import the letter's text, issue it and its
//! supplements, status reports per tertial, deliveries, an extension, a grant deviation,
//! calendar items, a transfer, and the annual report's year-end statuses. [`DemoScript`] is the
//! pure model (parsing and checking, no IO); [`load`] runs it against a store with a
//! [`ManualClock`] set to each step's date and `effective_at` = that instant, so the events'
//! own times and the effective axis are 2024 while `recorded_at` is the real time of loading.
//!
//! Every id (commands, assignments the demo creates, calendar items, deviation reports,
//! supplements) is derived from the script, so two loads of the script into two empty
//! databases write the same streams.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Deserialize;
use styr_domain::allocation_letter::{AllocationLetter, LetterCommand, letter_stream_id};
use styr_domain::assignment::{
    Assignment, AssignmentCommand, AssignmentSource, ChangeSource, IssueAssignment,
    NormalisedStatus, PartSpec, ReportStatus,
};
use styr_domain::calendar::{CalendarCommand, CalendarKind, Side, SteeringCalendarItem};
use styr_domain::deviation::{DeviationCommand, DeviationReport, DeviationSubject};
use styr_domain::reference_data::{REFERENCE_DATA_STREAM_ID, ReferenceData, ReferenceDataCommand};
use styr_domain::supplement::{
    AdjustmentPart, IssueSupplement, NewAssignment, Supplement, SupplementChange, SupplementCommand,
};
use styr_domain::values::{
    AssignmentId, Chapter, DeadlineTerm, DepartmentCode, ItemId, NokThousands, OrgCode, PartLabel,
    Period, Post, SupplementId, TrafficLight, Year,
};
use styr_domain::{Actor, Aggregate, DomainError, Role};
use styr_eventstore::{EventStore, LogHead};
use styr_import::{ImportContext, ImportPreview, LetterKind, parse_letter};
use thiserror::Error;
use uuid::Uuid;

use crate::error::WorkflowError;
use crate::{CommandMeta, FollowUps, ManualClock, Workflow};

/// The 2024 script, compiled in so `styr demo` runs from any directory.
pub const SCRIPT_2024: &str = include_str!("../../../tests/fixtures/demo-2024/script.json");

/// The text of the 2024 tildelingsbrev with Tillegg nr. 1 and Supplerende nr. 2 (seed 001),
/// as the script imports it.
pub const LETTER_TEXT_2024: &str =
    include_str!("../../../tests/fixtures/seeds/tildelingsbrev-2024-dmp.txt");

/// Every id the demo derives lives under this namespace.
const NAMESPACE: Uuid = Uuid::from_u128(0x5d3e_0a7c_2024_4d4f_8e1b_6a2c_9f0e_d3a1);

/// The time of day of a date's first step (UTC; 10:00 or 11:00 in Oslo). Each further step of
/// the same date is a minute later, so the effective axis keeps the script's order.
const FIRST_STEP_HOUR: u32 = 9;

fn derived(kind: &str, key: &str) -> Uuid {
    Uuid::new_v5(&NAMESPACE, format!("demo-2024/{kind}/{key}").as_bytes())
}

// ---- the script -------------------------------------------------------------------------

/// The whole year: who acts, what the keys name, and the dated steps in phases.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoScript {
    pub about: Vec<String>,
    pub ministry: String,
    pub agency: String,
    pub year: i32,
    /// The seed text the import steps read (a path in the repository, for the reader).
    pub letter_text: String,
    /// How printed assignment numbers map to assignments (the 2024 sources print none).
    pub references: String,
    pub actors: BTreeMap<String, ActorSpec>,
    pub supplements: Vec<SupplementSpec>,
    pub assignments: Vec<AssignmentSpec>,
    pub calendar: Vec<CalendarSpec>,
    pub phases: Vec<Phase>,
    /// What the domain could not represent as the sources say, and how it was modelled.
    pub gaps: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActorSpec {
    pub subject: String,
    pub name: String,
    /// `ministry`, `agency` or `admin`.
    pub role: String,
    pub org: String,
    #[serde(default)]
    pub department: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupplementSpec {
    pub key: String,
    pub number: u32,
    /// Drafted by the import of the letter's text (else by a `draft_supplement` step).
    pub imported: bool,
    #[serde(default)]
    pub title_prefix: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

/// An assignment the steps name by `key`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignmentSpec {
    pub key: String,
    /// `letter`, a supplement's key, or `direct` (issued by an `issue_assignment` step).
    pub from: String,
    /// How the title begins; imported assignments are found by it.
    pub title_prefix: String,
}

/// A steering-calendar item: one of the letter's (found by date and title) or the script's own.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarSpec {
    pub key: String,
    pub date: NaiveDate,
    /// An item of the letter's styringskalender, found by how its text begins.
    #[serde(default)]
    pub title_prefix: Option<String>,
    /// The title of an item that is not in the letter.
    #[serde(default)]
    pub title: Option<String>,
    pub kind: CalendarKind,
    pub responsible: Side,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    pub name: String,
    pub steps: Vec<Step>,
}

/// Where a step's date comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DateSource {
    /// Printed or cited in the letter (seed 001).
    Letter,
    /// Stated in the annual report (seed 004).
    Report,
    /// Derived from a seed; the note says how.
    Inferred,
    /// Not in the seeds; chosen to agree with them.
    Assumed,
}

/// One dated step: who does what, when, and where the date comes from.
#[derive(Debug, Clone)]
pub struct Step {
    pub date: NaiveDate,
    /// An actor key.
    pub by: String,
    pub source: DateSource,
    pub note: Option<String>,
    pub action: Action,
}

impl<'de> Deserialize<'de> for Step {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut map = serde_json::Map::deserialize(d)?;
        let mut take = |k: &str| map.remove(k).unwrap_or(serde_json::Value::Null);
        let date = NaiveDate::deserialize(take("date")).map_err(D::Error::custom)?;
        let by = String::deserialize(take("by")).map_err(D::Error::custom)?;
        let source = DateSource::deserialize(take("source")).map_err(D::Error::custom)?;
        let note = Option::<String>::deserialize(take("note")).map_err(D::Error::custom)?;
        let action = Action::deserialize(serde_json::Value::Object(map))
            .map_err(|e| D::Error::custom(format!("step of {date}: {e}")))?;
        Ok(Step {
            date,
            by,
            source,
            note,
            action,
        })
    }
}

/// A part of an assignment as the script writes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartInput {
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    pub deadline: DeadlineTerm,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdjustmentPartInput {
    pub amount: i64,
    pub reason: String,
    #[serde(default)]
    pub effective: Option<NaiveDate>,
}

/// A change a supplement step adds.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ChangeInput {
    AddAssignment {
        assignment: String,
        title: String,
        description: String,
        #[serde(default)]
        department: Option<String>,
        #[serde(default)]
        goal: Option<String>,
        parts: Vec<PartInput>,
        #[serde(default)]
        collaborators: Vec<String>,
    },
    BudgetAdjustment {
        chapter: u16,
        post: u8,
        stated_total: i64,
        parts: Vec<AdjustmentPartInput>,
        reason: String,
        #[serde(default)]
        printed: Option<String>,
    },
    FreeText {
        text: String,
    },
}

/// The period of a status report or a budget deviation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodInput {
    Tertial1,
    Tertial2,
    Year,
}

impl PeriodInput {
    fn to_domain(self) -> Period {
        match self {
            PeriodInput::Tertial1 => Period::Tertial1,
            PeriodInput::Tertial2 => Period::Tertial2,
            PeriodInput::Year => Period::Year,
        }
    }
}

/// What a step does; each runs one command (an import runs the import's commands).
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "do", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    RegisterMinistry {
        code: String,
        name: String,
    },
    RegisterAgency {
        code: String,
        name: String,
        ministry: String,
    },
    RegisterDepartment {
        ministry: String,
        code: String,
        name: String,
    },
    RenameOrganisation {
        code: String,
        new_name: String,
        effective: NaiveDate,
    },
    /// Import the letter's text (the letter alone, or the letter and one supplement, whose
    /// draft the import writes).
    ImportLetterText {
        #[serde(default)]
        supplement: Option<String>,
    },
    IssueLetter {
        issued_on: NaiveDate,
    },
    DraftSupplement {
        supplement: String,
        title: String,
    },
    AddSupplementChange {
        supplement: String,
        change: ChangeInput,
    },
    /// Remove a change from a draft: the one adding the assignment whose title begins so, or
    /// the budget adjustment of `kap/post`.
    RemoveSupplementChange {
        supplement: String,
        #[serde(default)]
        assignment_title_prefix: Option<String>,
        #[serde(default)]
        budget: Option<String>,
    },
    IssueSupplement {
        supplement: String,
        issued_on: NaiveDate,
    },
    ScheduleCalendarItem {
        item: String,
    },
    CompleteCalendarItem {
        item: String,
        document_ref: String,
    },
    RecordMinutes {
        item: String,
        document_ref: String,
        #[serde(default)]
        decisions: Vec<String>,
        #[serde(default)]
        instructions: Vec<String>,
    },
    /// Issue an assignment outside the letter (source: a letter not in the seeds).
    IssueAssignment {
        assignment: String,
        agency: String,
        title: String,
        description: String,
        source_description: String,
        parts: Vec<PartInput>,
        #[serde(default)]
        department: Option<String>,
        #[serde(default)]
        goal: Option<String>,
        #[serde(default)]
        collaborators: Vec<String>,
    },
    TransferAssignment {
        assignment: String,
        to_agency: String,
        effective: NaiveDate,
        reason: String,
    },
    ReportStatus {
        assignment: String,
        period: PeriodInput,
        light: TrafficLight,
        progress: String,
        #[serde(default)]
        cause_and_consequence: Option<String>,
        #[serde(default)]
        corrective_action: Option<String>,
        #[serde(default)]
        year_end_phrase: Option<String>,
        #[serde(default)]
        normalised: Option<NormalisedStatus>,
    },
    RequestExtension {
        assignment: String,
        #[serde(default)]
        part: Option<String>,
        new_date: NaiveDate,
        reason: String,
    },
    /// Grant the assignment's pending extension request.
    GrantExtension {
        assignment: String,
    },
    Deliver {
        assignment: String,
        #[serde(default)]
        part: Option<String>,
        summary: String,
        #[serde(default)]
        document_ref: Option<String>,
        #[serde(default)]
        also_answers: Vec<String>,
    },
    AcceptDelivery {
        assignment: String,
        #[serde(default)]
        part: Option<String>,
    },
    DraftDeviation {
        deviation: String,
        chapter: u16,
        post: u8,
        period: PeriodInput,
        periodised_budget: i64,
        actual: i64,
        #[serde(default)]
        forecast: Option<i64>,
        discovered_on: NaiveDate,
        explanation: String,
        #[serde(default)]
        measures: Option<String>,
    },
    SubmitDeviation {
        deviation: String,
    },
    AcknowledgeDeviation {
        deviation: String,
    },
}

impl Action {
    /// The assignment keys the action names.
    fn assignment_keys(&self) -> Vec<&str> {
        match self {
            Action::IssueAssignment { assignment, .. }
            | Action::TransferAssignment { assignment, .. }
            | Action::ReportStatus { assignment, .. }
            | Action::RequestExtension { assignment, .. }
            | Action::GrantExtension { assignment }
            | Action::AcceptDelivery { assignment, .. } => vec![assignment],
            Action::Deliver {
                assignment,
                also_answers,
                ..
            } => std::iter::once(assignment.as_str())
                .chain(also_answers.iter().map(String::as_str))
                .collect(),
            Action::AddSupplementChange {
                change: ChangeInput::AddAssignment { assignment, .. },
                ..
            } => vec![assignment],
            _ => Vec::new(),
        }
    }

    fn supplement_key(&self) -> Option<&str> {
        match self {
            Action::ImportLetterText { supplement } => supplement.as_deref(),
            Action::DraftSupplement { supplement, .. }
            | Action::AddSupplementChange { supplement, .. }
            | Action::RemoveSupplementChange { supplement, .. }
            | Action::IssueSupplement { supplement, .. } => Some(supplement),
            _ => None,
        }
    }

    fn calendar_key(&self) -> Option<&str> {
        match self {
            Action::ScheduleCalendarItem { item }
            | Action::CompleteCalendarItem { item, .. }
            | Action::RecordMinutes { item, .. } => Some(item),
            _ => None,
        }
    }
}

/// Why the demo did not load.
#[derive(Debug, Error)]
pub enum DemoError {
    /// The demo loads only into an empty log; nothing was written.
    #[error(
        "the database already holds {events} events; `styr demo` loads only into an empty database (nothing was written)"
    )]
    NotEmpty { events: u64 },

    #[error("the demo script is not valid: {0}")]
    Script(String),

    #[error(transparent)]
    Step(Box<StepFailed>),

    #[error(transparent)]
    Workflow(#[from] WorkflowError),
}

/// A step the domain or the store refused, and where it is in the script.
#[derive(Debug, Error)]
#[error("phase {phase} ({phase_name}), step {step} of {date}: {message}")]
pub struct StepFailed {
    pub phase: usize,
    pub phase_name: String,
    pub step: usize,
    pub date: NaiveDate,
    pub message: String,
    #[source]
    pub source: Option<WorkflowError>,
}

impl From<styr_eventstore::StoreError> for DemoError {
    fn from(e: styr_eventstore::StoreError) -> Self {
        DemoError::Workflow(e.into())
    }
}

fn bad(message: impl Into<String>) -> DemoError {
    DemoError::Script(message.into())
}

impl DemoScript {
    /// Parses and checks a script: actors and codes well-formed, dates in order, every key a
    /// step names declared.
    pub fn parse(text: &str) -> Result<Self, DemoError> {
        let script: DemoScript = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        script.check()?;
        Ok(script)
    }

    /// The compiled-in 2024 script.
    pub fn year_2024() -> Result<Self, DemoError> {
        Self::parse(SCRIPT_2024)
    }

    pub fn steps(&self) -> impl Iterator<Item = &Step> {
        self.phases.iter().flat_map(|p| &p.steps)
    }

    fn check(&self) -> Result<(), DemoError> {
        OrgCode::parse(&self.ministry).map_err(|e| bad(format!("ministry: {e}")))?;
        OrgCode::parse(&self.agency).map_err(|e| bad(format!("agency: {e}")))?;
        Year::new(self.year).map_err(|e| bad(format!("year: {e}")))?;
        for (key, a) in &self.actors {
            a.to_actor().map_err(|e| bad(format!("actor {key}: {e}")))?;
        }
        let supplements: Vec<&str> = self.supplements.iter().map(|s| s.key.as_str()).collect();
        for s in &self.supplements {
            if s.imported && s.title_prefix.is_none() {
                return Err(bad(format!(
                    "supplement {} is imported but has no title_prefix",
                    s.key
                )));
            }
        }
        for a in &self.assignments {
            if a.from != "letter" && a.from != "direct" && !supplements.contains(&a.from.as_str()) {
                return Err(bad(format!(
                    "assignment {}: from {:?} is neither letter, direct nor a supplement",
                    a.key, a.from
                )));
            }
        }
        for c in &self.calendar {
            if c.title_prefix.is_some() == c.title.is_some() {
                return Err(bad(format!(
                    "calendar item {}: give either title_prefix (the letter's item) or title",
                    c.key
                )));
            }
        }
        let mut previous: Option<NaiveDate> = None;
        let mut drafted_deviations: Vec<&str> = Vec::new();
        for (i, step) in self.steps().enumerate() {
            let at = || format!("step {} of {}", i + 1, step.date);
            if previous.is_some_and(|p| step.date < p) {
                return Err(bad(format!("{}: the steps must be in date order", at())));
            }
            previous = Some(step.date);
            if !self.actors.contains_key(&step.by) {
                return Err(bad(format!("{}: no actor {:?}", at(), step.by)));
            }
            for k in step.action.assignment_keys() {
                if !self.assignments.iter().any(|a| a.key == k) {
                    return Err(bad(format!("{}: no assignment {k:?} is declared", at())));
                }
            }
            if let Some(k) = step.action.supplement_key()
                && !supplements.contains(&k)
            {
                return Err(bad(format!("{}: no supplement {k:?} is declared", at())));
            }
            if let Some(k) = step.action.calendar_key()
                && !self.calendar.iter().any(|c| c.key == k)
            {
                return Err(bad(format!("{}: no calendar item {k:?} is declared", at())));
            }
            match &step.action {
                Action::DraftDeviation { deviation, .. } => drafted_deviations.push(deviation),
                Action::SubmitDeviation { deviation }
                | Action::AcknowledgeDeviation { deviation }
                    if !drafted_deviations.contains(&deviation.as_str()) =>
                {
                    return Err(bad(format!(
                        "{}: deviation report {deviation:?} is not drafted before",
                        at()
                    )));
                }
                Action::RemoveSupplementChange {
                    assignment_title_prefix,
                    budget,
                    ..
                } if assignment_title_prefix.is_some() == budget.is_some() => {
                    return Err(bad(format!(
                        "{}: name either assignment_title_prefix or budget",
                        at()
                    )));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

impl ActorSpec {
    fn to_actor(&self) -> Result<Actor, DomainError> {
        let role = match self.role.as_str() {
            "ministry" => Role::Ministry,
            "agency" => Role::Agency,
            "auditor" => Role::Auditor,
            "admin" => Role::Admin,
            other => {
                return Err(DomainError::validation(
                    "role",
                    format!("{other:?} is not a role"),
                ));
            }
        };
        let department = self
            .department
            .as_deref()
            .map(DepartmentCode::parse)
            .transpose()?;
        Ok(Actor::new(
            self.subject.clone(),
            self.name.clone(),
            role,
            OrgCode::parse(&self.org)?,
            department,
        ))
    }
}

// ---- loading ----------------------------------------------------------------------------

/// What one phase wrote, for progress lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhaseReport {
    /// 1-based.
    pub index: usize,
    pub of: usize,
    pub name: String,
    pub first_date: NaiveDate,
    pub last_date: NaiveDate,
    pub steps: usize,
    pub events: u64,
}

/// What the demo loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoSummary {
    pub letter_id: String,
    pub steps: usize,
    pub assignments: usize,
    pub supplements: usize,
    pub calendar_items: usize,
    pub deviation_reports: usize,
    /// Events in the log (it was empty before).
    pub events: u64,
    pub head: LogHead,
    pub first_date: NaiveDate,
    pub last_date: NaiveDate,
    /// Board status → count for the letter's agency and year, once projected.
    pub board: BTreeMap<String, usize>,
    /// Assignment key → stream id.
    pub assignment_ids: BTreeMap<String, String>,
}

/// Loads `script` into the empty log of `store`, importing `letter_text` where the script
/// says so. Refuses a log that holds any event before writing anything. `progress` is called
/// after each phase.
pub async fn load(
    store: EventStore,
    script: &DemoScript,
    letter_text: &str,
    progress: &mut dyn FnMut(&PhaseReport),
) -> Result<DemoSummary, DemoError> {
    let head = store.head().await?;
    if head.position != 0 {
        return Err(DemoError::NotEmpty {
            events: head.position,
        });
    }
    let first = script
        .steps()
        .next()
        .ok_or_else(|| bad("the script has no steps"))?
        .date;
    let clock = Arc::new(ManualClock::new(at_step(first, 0)));
    let workflow = Workflow::with_clock(store.clone(), clock.clone());
    let mut loader = Loader::new(workflow, script, letter_text)?;
    let mut previous = (first, 0u32);
    let mut last_date = first;
    let phases = script.phases.len();
    for (p, phase) in script.phases.iter().enumerate() {
        let before = loader.workflow.store().head().await?.position;
        for (s, step) in phase.steps.iter().enumerate() {
            let minute = if step.date == previous.0 {
                previous.1 + 1
            } else {
                0
            };
            previous = (step.date, minute);
            last_date = step.date;
            let when = at_step(step.date, minute);
            clock.set(when);
            let command_id = derived("command", &format!("{p}/{s}"));
            loader.run(step, when, command_id).await.map_err(|e| {
                DemoError::Step(Box::new(StepFailed {
                    phase: p + 1,
                    phase_name: phase.name.clone(),
                    step: s + 1,
                    date: step.date,
                    message: e.to_string(),
                    source: match e {
                        StepError::Workflow(w) => Some(w),
                        StepError::Script(_) => None,
                    },
                }))
            })?;
        }
        let after = loader.workflow.store().head().await?.position;
        progress(&PhaseReport {
            index: p + 1,
            of: phases,
            name: phase.name.clone(),
            first_date: phase.steps.first().map_or(last_date, |s| s.date),
            last_date: phase.steps.last().map_or(last_date, |s| s.date),
            steps: phase.steps.len(),
            events: after - before,
        });
    }
    loader.check_titles().await?;
    loader.summary(first, last_date).await
}

/// The instant a step runs at: its date, 09:00 UTC, plus a minute per earlier step that day.
fn at_step(date: NaiveDate, minute: u32) -> DateTime<Utc> {
    date.and_hms_opt(FIRST_STEP_HOUR, 0, 0)
        .expect("09:00 exists")
        .and_utc()
        + Duration::minutes(i64::from(minute))
}

#[derive(Debug, Error)]
enum StepError {
    #[error("{0}")]
    Script(String),
    #[error(transparent)]
    Workflow(#[from] WorkflowError),
}

impl From<DomainError> for StepError {
    fn from(e: DomainError) -> Self {
        StepError::Workflow(e.into())
    }
}

fn script_error(message: impl Into<String>) -> StepError {
    StepError::Script(message.into())
}

/// The state of a load: the keys resolved so far.
struct Loader<'a> {
    workflow: Workflow,
    script: &'a DemoScript,
    letter_text: &'a str,
    ctx: ImportContext,
    letter_id: String,
    actors: HashMap<String, Actor>,
    assignments: BTreeMap<String, AssignmentId>,
    supplements: HashMap<String, SupplementId>,
}

impl<'a> Loader<'a> {
    fn new(
        workflow: Workflow,
        script: &'a DemoScript,
        letter_text: &'a str,
    ) -> Result<Self, DemoError> {
        let ctx = ImportContext {
            ministry: OrgCode::parse(&script.ministry).map_err(|e| bad(e.to_string()))?,
            agency: OrgCode::parse(&script.agency).map_err(|e| bad(e.to_string()))?,
            year: Year::new(script.year).map_err(|e| bad(e.to_string()))?,
        };
        let mut actors = HashMap::new();
        for (key, spec) in &script.actors {
            actors.insert(
                key.clone(),
                spec.to_actor().map_err(|e| bad(e.to_string()))?,
            );
        }
        let mut supplements = HashMap::new();
        for s in script.supplements.iter().filter(|s| !s.imported) {
            supplements.insert(s.key.clone(), SupplementId(derived("supplement", &s.key)));
        }
        Ok(Self {
            letter_id: letter_stream_id(&ctx.ministry, &ctx.agency, ctx.year),
            workflow,
            script,
            letter_text,
            ctx,
            actors,
            assignments: BTreeMap::new(),
            supplements,
        })
    }

    fn assignment(&self, key: &str) -> Result<AssignmentId, StepError> {
        self.assignments.get(key).copied().ok_or_else(|| {
            script_error(format!(
                "assignment {key:?} does not exist yet (no earlier step imported or issued it)"
            ))
        })
    }

    fn supplement(&self, key: &str) -> Result<SupplementId, StepError> {
        self.supplements.get(key).copied().ok_or_else(|| {
            script_error(format!(
                "supplement {key:?} does not exist yet (no earlier step imported it)"
            ))
        })
    }

    fn calendar(&self, key: &str) -> Result<&'a CalendarSpec, StepError> {
        self.script
            .calendar
            .iter()
            .find(|c| c.key == key)
            .ok_or_else(|| script_error(format!("no calendar item {key:?}")))
    }

    fn org(&self, s: &str) -> Result<OrgCode, StepError> {
        Ok(OrgCode::parse(s)?)
    }

    async fn exec<A>(
        &self,
        stream_id: &str,
        command: A::Command,
        meta: &CommandMeta,
    ) -> Result<(), StepError>
    where
        A: FollowUps,
        A::Command: Clone,
    {
        self.workflow.execute::<A>(stream_id, command, meta).await?;
        Ok(())
    }

    async fn run(
        &mut self,
        step: &Step,
        when: DateTime<Utc>,
        command_id: Uuid,
    ) -> Result<(), StepError> {
        let actor = self
            .actors
            .get(&step.by)
            .cloned()
            .ok_or_else(|| script_error(format!("no actor {:?}", step.by)))?;
        let meta = CommandMeta {
            actor,
            command_id: Some(command_id),
            correlation_id: None,
            reason: step.note.clone(),
            effective_at: Some(when),
        };
        let reference = REFERENCE_DATA_STREAM_ID;
        match &step.action {
            Action::RegisterMinistry { code, name } => {
                let command = ReferenceDataCommand::RegisterMinistry {
                    code: self.org(code)?,
                    name: name.clone(),
                };
                self.exec::<ReferenceData>(reference, command, &meta).await
            }
            Action::RegisterAgency {
                code,
                name,
                ministry,
            } => {
                let command = ReferenceDataCommand::RegisterAgency {
                    code: self.org(code)?,
                    name: name.clone(),
                    ministry: self.org(ministry)?,
                };
                self.exec::<ReferenceData>(reference, command, &meta).await
            }
            Action::RegisterDepartment {
                ministry,
                code,
                name,
            } => {
                let command = ReferenceDataCommand::RegisterDepartment {
                    ministry: self.org(ministry)?,
                    code: DepartmentCode::parse(code)?,
                    name: name.clone(),
                };
                self.exec::<ReferenceData>(reference, command, &meta).await
            }
            Action::RenameOrganisation {
                code,
                new_name,
                effective,
            } => {
                let command = ReferenceDataCommand::RenameOrganisation {
                    code: self.org(code)?,
                    new_name: new_name.clone(),
                    effective: *effective,
                };
                self.exec::<ReferenceData>(reference, command, &meta).await
            }
            Action::ImportLetterText { supplement } => {
                self.import(supplement.as_deref(), &meta).await
            }
            Action::IssueLetter { issued_on } => {
                let command = LetterCommand::Issue {
                    issued_on: *issued_on,
                };
                self.exec::<AllocationLetter>(&self.letter_id, command, &meta)
                    .await
            }
            Action::DraftSupplement { supplement, title } => {
                let supplement_id = self.supplement(supplement)?;
                let command = SupplementCommand::DraftWithId {
                    supplement_id,
                    ministry: self.ctx.ministry.clone(),
                    agency: self.ctx.agency.clone(),
                    year: self.ctx.year,
                    title: title.clone(),
                };
                self.exec::<Supplement>(&supplement_id.to_string(), command, &meta)
                    .await
            }
            Action::AddSupplementChange { supplement, change } => {
                let supplement_id = self.supplement(supplement)?;
                let change = self.change(change)?;
                let command = SupplementCommand::AddChange(Box::new(change));
                self.exec::<Supplement>(&supplement_id.to_string(), command, &meta)
                    .await
            }
            Action::RemoveSupplementChange {
                supplement,
                assignment_title_prefix,
                budget,
            } => {
                let sid = self.supplement(supplement)?.to_string();
                let (state, _) = self.workflow.load::<Supplement>(&sid).await?;
                let changes = state.details.map(|d| d.changes).unwrap_or_default();
                let budget = budget.as_deref().map(parse_kap_post).transpose()?;
                let found: Vec<ItemId> = changes
                    .iter()
                    .filter(|(_, c)| match (c, assignment_title_prefix, budget) {
                        (SupplementChange::AddAssignment(n), Some(prefix), _) => {
                            n.title.starts_with(prefix.as_str())
                        }
                        (
                            SupplementChange::BudgetAdjustment { chapter, post, .. },
                            _,
                            Some((c, p)),
                        ) => *chapter == c && *post == p,
                        _ => false,
                    })
                    .map(|(id, _)| *id)
                    .collect();
                let [change_id] = found[..] else {
                    return Err(script_error(format!(
                        "supplement {supplement} has {} matching changes, not one",
                        found.len()
                    )));
                };
                self.exec::<Supplement>(&sid, SupplementCommand::RemoveChange { change_id }, &meta)
                    .await
            }
            Action::IssueSupplement {
                supplement,
                issued_on,
            } => {
                let supplement_id = self.supplement(supplement)?;
                let number = self
                    .script
                    .supplements
                    .iter()
                    .find(|s| &s.key == supplement)
                    .map(|s| s.number);
                let command = IssueSupplement {
                    supplement_id,
                    number,
                    issued_on: *issued_on,
                };
                self.workflow
                    .issue_supplement(&supplement_id.to_string(), command, &meta)
                    .await?;
                Ok(())
            }
            Action::ScheduleCalendarItem { item } => self.schedule(item, &meta).await,
            Action::CompleteCalendarItem { item, document_ref } => {
                let command = CalendarCommand::Complete {
                    document_ref: document_ref.clone(),
                };
                let id = calendar_stream(item);
                self.exec::<SteeringCalendarItem>(&id, command, &meta).await
            }
            Action::RecordMinutes {
                item,
                document_ref,
                decisions,
                instructions,
            } => {
                let command = CalendarCommand::RecordMinutes {
                    document_ref: document_ref.clone(),
                    decisions: decisions.clone(),
                    instructions: instructions.clone(),
                };
                let id = calendar_stream(item);
                self.exec::<SteeringCalendarItem>(&id, command, &meta).await
            }
            Action::IssueAssignment {
                assignment,
                agency,
                title,
                description,
                source_description,
                parts,
                department,
                goal,
                collaborators,
            } => {
                let assignment_id = AssignmentId(derived("assignment", assignment));
                let issue = IssueAssignment {
                    assignment_id,
                    reference: None,
                    ministry: self.ctx.ministry.clone(),
                    agency: self.org(agency)?,
                    year: self.ctx.year,
                    department: department
                        .as_deref()
                        .map(DepartmentCode::parse)
                        .transpose()?,
                    title: title.clone(),
                    description: description.clone(),
                    goal: goal.clone(),
                    source: AssignmentSource::Other {
                        description: source_description.clone(),
                    },
                    parts: part_specs(parts)?,
                    collaborators: orgs(collaborators)?,
                    carried_over_from: None,
                };
                let command = AssignmentCommand::Issue(Box::new(issue));
                self.exec::<Assignment>(&assignment_id.to_string(), command, &meta)
                    .await?;
                self.assignments.insert(assignment.clone(), assignment_id);
                Ok(())
            }
            Action::TransferAssignment {
                assignment,
                to_agency,
                effective,
                reason,
            } => {
                let command = AssignmentCommand::Transfer {
                    to_agency: self.org(to_agency)?,
                    reason: reason.clone(),
                    effective: *effective,
                    source: ChangeSource::Direct,
                };
                self.on_assignment(assignment, command, &meta).await
            }
            Action::ReportStatus {
                assignment,
                period,
                light,
                progress,
                cause_and_consequence,
                corrective_action,
                year_end_phrase,
                normalised,
            } => {
                let report = ReportStatus {
                    period: period.to_domain(),
                    light: *light,
                    progress: progress.clone(),
                    cause_and_consequence: cause_and_consequence.clone(),
                    corrective_action: corrective_action.clone(),
                    year_end_phrase: year_end_phrase.clone(),
                    normalised: *normalised,
                };
                let command = AssignmentCommand::ReportStatus(Box::new(report));
                self.on_assignment(assignment, command, &meta).await
            }
            Action::RequestExtension {
                assignment,
                part,
                new_date,
                reason,
            } => {
                let command = AssignmentCommand::RequestExtension {
                    part: label(part)?,
                    new_date: *new_date,
                    reason: reason.clone(),
                };
                self.on_assignment(assignment, command, &meta).await
            }
            Action::GrantExtension { assignment } => {
                let id = self.assignment(assignment)?.to_string();
                let (state, _) = self.workflow.load::<Assignment>(&id).await?;
                let request_id = state
                    .details
                    .and_then(|d| d.pending_extension)
                    .map(|r| r.request_id)
                    .ok_or_else(|| {
                        script_error(format!("{assignment} has no pending extension request"))
                    })?;
                let command = AssignmentCommand::GrantExtension { request_id };
                self.exec::<Assignment>(&id, command, &meta).await
            }
            Action::Deliver {
                assignment,
                part,
                summary,
                document_ref,
                also_answers,
            } => {
                let also_answers = also_answers
                    .iter()
                    .map(|k| self.assignment(k))
                    .collect::<Result<_, _>>()?;
                let command = AssignmentCommand::Deliver {
                    part: label(part)?,
                    summary: summary.clone(),
                    document_ref: document_ref.clone(),
                    also_answers,
                };
                self.on_assignment(assignment, command, &meta).await
            }
            Action::AcceptDelivery { assignment, part } => {
                let command = AssignmentCommand::AcceptDelivery { part: label(part)? };
                self.on_assignment(assignment, command, &meta).await
            }
            Action::DraftDeviation {
                deviation,
                chapter,
                post,
                period,
                periodised_budget,
                actual,
                forecast,
                discovered_on,
                explanation,
                measures,
            } => {
                // The threshold is the letter's, as the API fills it in.
                let (letter, _) = self
                    .workflow
                    .load::<AllocationLetter>(&self.letter_id)
                    .await?;
                let command = DeviationCommand::Draft {
                    ministry: self.ctx.ministry.clone(),
                    agency: self.ctx.agency.clone(),
                    subject: DeviationSubject::Budget {
                        chapter: Chapter::new(*chapter)?,
                        post: Post::new(*post)?,
                        period: period.to_domain(),
                        periodised_budget: NokThousands(*periodised_budget),
                        actual: NokThousands(*actual),
                        forecast: forecast.map(NokThousands),
                    },
                    explanation: explanation.clone(),
                    measures: measures.clone(),
                    discovered_on: *discovered_on,
                    letter_threshold: letter.details.and_then(|d| d.threshold),
                };
                self.exec::<DeviationReport>(&deviation_stream(deviation), command, &meta)
                    .await
            }
            Action::SubmitDeviation { deviation } => {
                self.exec::<DeviationReport>(
                    &deviation_stream(deviation),
                    DeviationCommand::Submit,
                    &meta,
                )
                .await
            }
            Action::AcknowledgeDeviation { deviation } => {
                self.exec::<DeviationReport>(
                    &deviation_stream(deviation),
                    DeviationCommand::Acknowledge,
                    &meta,
                )
                .await
            }
        }
    }

    async fn on_assignment(
        &self,
        key: &str,
        command: AssignmentCommand,
        meta: &CommandMeta,
    ) -> Result<(), StepError> {
        let id = self.assignment(key)?.to_string();
        self.exec::<Assignment>(&id, command, meta).await
    }

    fn change(&mut self, change: &ChangeInput) -> Result<SupplementChange, StepError> {
        Ok(match change {
            ChangeInput::AddAssignment {
                assignment,
                title,
                description,
                department,
                goal,
                parts,
                collaborators,
            } => {
                let assignment_id = AssignmentId(derived("assignment", assignment));
                // Issued when the supplement is; steps after that may name it.
                self.assignments.insert(assignment.clone(), assignment_id);
                SupplementChange::AddAssignment(Box::new(NewAssignment {
                    assignment_id,
                    reference: None,
                    department: department
                        .as_deref()
                        .map(DepartmentCode::parse)
                        .transpose()?,
                    title: title.clone(),
                    description: description.clone(),
                    goal: goal.clone(),
                    parts: part_specs(parts)?,
                    collaborators: orgs(collaborators)?,
                }))
            }
            ChangeInput::BudgetAdjustment {
                chapter,
                post,
                stated_total,
                parts,
                reason,
                printed,
            } => SupplementChange::BudgetAdjustment {
                chapter: Chapter::new(*chapter)?,
                post: Post::new(*post)?,
                stated_total: NokThousands(*stated_total),
                parts: parts
                    .iter()
                    .map(|p| AdjustmentPart {
                        amount: NokThousands(p.amount),
                        reason: p.reason.clone(),
                        effective: p.effective,
                    })
                    .collect(),
                reason: reason.clone(),
                printed: printed.clone(),
            },
            ChangeInput::FreeText { text } => SupplementChange::FreeText { text: text.clone() },
        })
    }

    /// Imports the letter's text: the letter alone, or with one of its supplements. The
    /// letter's own commands are found done on a later import, so only the supplement's draft
    /// is new then.
    async fn import(
        &mut self,
        supplement: Option<&str>,
        meta: &CommandMeta,
    ) -> Result<(), StepError> {
        let preview = parse_letter(self.letter_text, &self.ctx).map_err(WorkflowError::from)?;
        let (preview, spec) = self.select(preview, supplement)?;
        let report = self
            .workflow
            .apply_import(&preview, &self.ctx, meta)
            .await?;
        // Candidates: (title, id) of the piece imported.
        let (from, candidates): (&str, Vec<(String, AssignmentId)>) = match spec {
            None => {
                let (letter, _) = self
                    .workflow
                    .load::<AllocationLetter>(&report.letter_id)
                    .await?;
                let listed = letter
                    .details
                    .map(|d| d.assignments.into_values().collect::<Vec<_>>())
                    .unwrap_or_default();
                (
                    "letter",
                    listed
                        .into_iter()
                        .map(|l| (l.title.as_str().to_owned(), l.assignment_id))
                        .collect(),
                )
            }
            Some(spec) => {
                let [sid] = &report.supplements[..] else {
                    return Err(script_error("the import drafted no supplement"));
                };
                let supplement_id =
                    SupplementId(Uuid::parse_str(sid).map_err(|e| script_error(e.to_string()))?);
                self.supplements.insert(spec.key.clone(), supplement_id);
                let (state, _) = self.workflow.load::<Supplement>(sid).await?;
                let changes = state.details.map(|d| d.changes).unwrap_or_default();
                (
                    spec.key.as_str(),
                    changes
                        .into_iter()
                        .filter_map(|(_, c)| match c {
                            SupplementChange::AddAssignment(n) => Some((n.title, n.assignment_id)),
                            _ => None,
                        })
                        .collect(),
                )
            }
        };
        for a in self.script.assignments.iter().filter(|a| a.from == from) {
            let found: Vec<AssignmentId> = candidates
                .iter()
                .filter(|(title, _)| title.starts_with(&a.title_prefix))
                .map(|(_, id)| *id)
                .collect();
            let [id] = found[..] else {
                return Err(script_error(format!(
                    "{} imported assignments of {from} have a title beginning {:?}, not one",
                    found.len(),
                    a.title_prefix
                )));
            };
            self.assignments.insert(a.key.clone(), id);
        }
        Ok(())
    }

    /// The preview cut down to the letter and, if named, one supplement.
    fn select(
        &self,
        preview: ImportPreview,
        supplement: Option<&str>,
    ) -> Result<(ImportPreview, Option<&'a SupplementSpec>), StepError> {
        let spec = match supplement {
            None => None,
            Some(key) => {
                let spec = self
                    .script
                    .supplements
                    .iter()
                    .find(|s| s.key == key && s.imported)
                    .ok_or_else(|| {
                        script_error(format!("supplement {key:?} is not an imported one"))
                    })?;
                Some(spec)
            }
        };
        let letters: Vec<_> = preview
            .letters
            .into_iter()
            .filter(|l| match (l.kind, spec) {
                (LetterKind::Letter, _) => true,
                (LetterKind::Supplement, Some(s)) => {
                    l.number == Some(s.number)
                        && s.title_prefix
                            .as_deref()
                            .is_some_and(|p| l.title.starts_with(p))
                }
                (LetterKind::Supplement, None) => false,
            })
            .collect();
        if spec.is_some() && letters.len() != 2 {
            return Err(script_error(format!(
                "the text holds no supplement matching {:?}",
                supplement.unwrap_or_default()
            )));
        }
        Ok((
            ImportPreview {
                letters,
                warnings: preview.warnings,
                unparsed: preview.unparsed,
            },
            spec,
        ))
    }

    async fn schedule(&self, item: &str, meta: &CommandMeta) -> Result<(), StepError> {
        let spec = self.calendar(item)?;
        let title = match (&spec.title, &spec.title_prefix) {
            (Some(title), _) => title.clone(),
            (None, Some(prefix)) => {
                let (letter, _) = self
                    .workflow
                    .load::<AllocationLetter>(&self.letter_id)
                    .await?;
                let entries: Vec<String> = letter
                    .details
                    .map(|d| d.calendar.into_values().collect::<Vec<_>>())
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|e| e.date == spec.date && e.text.as_str().starts_with(prefix))
                    .map(|e| e.text.as_str().to_owned())
                    .collect();
                let [text] = &entries[..] else {
                    return Err(script_error(format!(
                        "the letter's calendar has {} items on {} beginning {prefix:?}, not one",
                        entries.len(),
                        spec.date
                    )));
                };
                text.clone()
            }
            (None, None) => return Err(script_error(format!("calendar item {item} has no title"))),
        };
        let command = CalendarCommand::Schedule {
            ministry: self.ctx.ministry.clone(),
            agency: self.ctx.agency.clone(),
            date: spec.date,
            kind: spec.kind,
            title,
            responsible: spec.responsible,
        };
        self.exec::<SteeringCalendarItem>(&calendar_stream(item), command, meta)
            .await
    }

    /// Every declared assignment exists and carries the title the script expects.
    async fn check_titles(&self) -> Result<(), DemoError> {
        for spec in &self.script.assignments {
            let id = self.assignments.get(&spec.key).ok_or_else(|| {
                bad(format!(
                    "assignment {} was never imported or issued",
                    spec.key
                ))
            })?;
            let (state, _) = self.workflow.load::<Assignment>(&id.to_string()).await?;
            let title = state
                .details
                .map(|d| d.title.as_str().to_owned())
                .unwrap_or_default();
            if !title.starts_with(&spec.title_prefix) {
                return Err(bad(format!(
                    "assignment {} is titled {title:?}, not {:?}…",
                    spec.key, spec.title_prefix
                )));
            }
        }
        Ok(())
    }

    async fn summary(
        &self,
        first_date: NaiveDate,
        last_date: NaiveDate,
    ) -> Result<DemoSummary, DemoError> {
        let store = self.workflow.store();
        let count = |t: &'static str| async move {
            store
                .stream_ids(t)
                .await
                .map(|ids| ids.len())
                .map_err(DemoError::from)
        };
        let projections = self.workflow.projections();
        projections.catch_up().await?;
        let mut board = BTreeMap::new();
        for row in projections.dump_board().await? {
            if row.ministry == self.ctx.ministry.as_str()
                && row.agency == self.ctx.agency.as_str()
                && row.year == i64::from(self.ctx.year.value())
            {
                *board.entry(row.status.as_str().to_owned()).or_insert(0) += 1;
            }
        }
        let head = store.head().await?;
        Ok(DemoSummary {
            letter_id: self.letter_id.clone(),
            steps: self.script.steps().count(),
            assignments: count(Assignment::STREAM_TYPE).await?,
            supplements: count(Supplement::STREAM_TYPE).await?,
            calendar_items: count(SteeringCalendarItem::STREAM_TYPE).await?,
            deviation_reports: count(DeviationReport::STREAM_TYPE).await?,
            events: head.position,
            head,
            first_date,
            last_date,
            board,
            assignment_ids: self
                .assignments
                .iter()
                .map(|(k, v)| (k.clone(), v.to_string()))
                .collect(),
        })
    }
}

/// A calendar item's stream id (a uuid, as the deadline policy needs).
fn calendar_stream(key: &str) -> String {
    derived("calendar", key).to_string()
}

fn deviation_stream(key: &str) -> String {
    derived("deviation", key).to_string()
}

fn label(part: &Option<String>) -> Result<Option<PartLabel>, StepError> {
    Ok(part.as_deref().map(PartLabel::parse).transpose()?)
}

fn orgs(codes: &[String]) -> Result<Vec<OrgCode>, StepError> {
    Ok(codes
        .iter()
        .map(|c| OrgCode::parse(c))
        .collect::<Result<_, _>>()?)
}

fn part_specs(parts: &[PartInput]) -> Result<Vec<PartSpec>, StepError> {
    parts
        .iter()
        .map(|p| {
            Ok(PartSpec {
                label: label(&p.label)?,
                title: p.title.clone(),
                deadline: p.deadline,
            })
        })
        .collect()
}

/// `"746/01"` → (746, 1).
fn parse_kap_post(s: &str) -> Result<(Chapter, Post), StepError> {
    let (c, p) = s
        .split_once('/')
        .ok_or_else(|| script_error(format!("{s:?} is not kap/post like 746/01")))?;
    let c = c
        .trim()
        .parse::<u16>()
        .map_err(|e| script_error(format!("{s:?}: {e}")))?;
    let p = p
        .trim()
        .parse::<u8>()
        .map_err(|e| script_error(format!("{s:?}: {e}")))?;
    Ok((Chapter::new(c)?, Post::new(p)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_2024_script_parses_and_checks() {
        let script = DemoScript::year_2024().expect("the 2024 script is valid");
        assert_eq!(script.year, 2024);
        assert!(script.steps().count() > 100);
        assert_eq!(script.assignments.len(), 25);
    }

    #[test]
    fn every_year_end_report_has_a_phrase_and_a_normalised_status() {
        let script = DemoScript::year_2024().unwrap();
        let year_end: Vec<_> = script
            .steps()
            .filter_map(|s| match &s.action {
                Action::ReportStatus {
                    assignment,
                    period: PeriodInput::Year,
                    year_end_phrase,
                    normalised,
                    ..
                } => Some((assignment, year_end_phrase, normalised)),
                _ => None,
            })
            .collect();
        assert_eq!(year_end.len(), 25);
        assert!(
            year_end
                .iter()
                .all(|(_, phrase, status)| phrase.is_some() && status.is_some())
        );
        let mut keys: Vec<_> = year_end.iter().map(|(k, _, _)| k.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), 25, "one year-end status per assignment");
    }

    #[test]
    fn a_misspelt_field_is_refused() {
        let text = SCRIPT_2024.replacen("\"issued_on\"", "\"issued_at\"", 1);
        let err = DemoScript::parse(&text).unwrap_err().to_string();
        assert!(err.contains("issued_at"), "{err}");
    }

    #[test]
    fn steps_out_of_date_order_are_refused() {
        let mut value: serde_json::Value = serde_json::from_str(SCRIPT_2024).unwrap();
        value["phases"][1]["steps"][0]["date"] = serde_json::json!("2025-12-31");
        let err = DemoScript::parse(&value.to_string())
            .unwrap_err()
            .to_string();
        assert!(err.contains("date order"), "{err}");
    }

    #[test]
    fn an_undeclared_assignment_key_is_refused() {
        let text = SCRIPT_2024.replacen(
            "\"assignment\": \"nye-metoder\"",
            "\"assignment\": \"nye-metodr\"",
            1,
        );
        let err = DemoScript::parse(&text).unwrap_err().to_string();
        assert!(err.contains("nye-metodr"), "{err}");
    }

    #[test]
    fn steps_of_one_day_run_a_minute_apart() {
        let d = NaiveDate::from_ymd_opt(2024, 2, 5).unwrap();
        assert_eq!(at_step(d, 0).to_rfc3339(), "2024-02-05T09:00:00+00:00");
        assert_eq!(at_step(d, 3).to_rfc3339(), "2024-02-05T09:03:00+00:00");
        assert_eq!(styr_domain::oslo_date(at_step(d, 59)), d);
    }
}
