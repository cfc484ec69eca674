//! Assignments (*oppdrag*): the board (filters, sorting, Relay pagination, counts per status),
//! the detail with its full timeline, and one mutation per assignment command.

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{
    ComplexObject, Context, Enum, ID, InputObject, Json, Object, Result, SimpleObject,
};
use base64::Engine;
use chrono::{DateTime, Utc};
use styr_workflow::Workflow;
use styr_workflow::domain::assignment::{
    Assignment as AssignmentState, AssignmentCommand, AssignmentDetails, AssignmentSource,
    ChangeSource, IssueAssignment, Lifecycle, NormalisedStatus, PartDelivery, PartSpec,
    ReportStatus,
};
use styr_workflow::domain::{
    Aggregate, AssignmentId, AssignmentReference, DeadlineTerm, DepartmentCode, ExtensionRequestId,
    OrgCode, PartLabel, Period, TrafficLight, Year, oslo_date,
};
use styr_workflow::projections::{
    BoardFilter, BoardQuery, BoardRow, BoardSort, BoardStatus, light_name,
};
use uuid::Uuid;

use crate::command::{self, CommandOptions, CommandReceipt, parse, parse_uuid};
use crate::error;
use crate::scalars::Date;
use crate::viewer::{actor, can_see, scope};

/// The largest page a client may ask for.
pub const MAX_PAGE: usize = 200;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "AssignmentStatus")]
pub enum StatusKind {
    Issued,
    InProgressOnTrack,
    InProgressDelayed,
    AwaitingMinistry,
    BlockedExternal,
    Delivered,
    Completed,
    Transferred,
    Cancelled,
    CarriedOver,
}

impl From<BoardStatus> for StatusKind {
    fn from(s: BoardStatus) -> Self {
        match s {
            BoardStatus::Issued => StatusKind::Issued,
            BoardStatus::InProgressOnTrack => StatusKind::InProgressOnTrack,
            BoardStatus::InProgressDelayed => StatusKind::InProgressDelayed,
            BoardStatus::AwaitingMinistry => StatusKind::AwaitingMinistry,
            BoardStatus::BlockedExternal => StatusKind::BlockedExternal,
            BoardStatus::Delivered => StatusKind::Delivered,
            BoardStatus::Completed => StatusKind::Completed,
            BoardStatus::Transferred => StatusKind::Transferred,
            BoardStatus::Cancelled => StatusKind::Cancelled,
            BoardStatus::CarriedOver => StatusKind::CarriedOver,
        }
    }
}

impl From<StatusKind> for BoardStatus {
    fn from(s: StatusKind) -> Self {
        match s {
            StatusKind::Issued => BoardStatus::Issued,
            StatusKind::InProgressOnTrack => BoardStatus::InProgressOnTrack,
            StatusKind::InProgressDelayed => BoardStatus::InProgressDelayed,
            StatusKind::AwaitingMinistry => BoardStatus::AwaitingMinistry,
            StatusKind::BlockedExternal => BoardStatus::BlockedExternal,
            StatusKind::Delivered => BoardStatus::Delivered,
            StatusKind::Completed => BoardStatus::Completed,
            StatusKind::Transferred => BoardStatus::Transferred,
            StatusKind::Cancelled => BoardStatus::Cancelled,
            StatusKind::CarriedOver => BoardStatus::CarriedOver,
        }
    }
}

impl From<NormalisedStatusKind> for NormalisedStatus {
    fn from(s: NormalisedStatusKind) -> Self {
        match s {
            NormalisedStatusKind::Completed => NormalisedStatus::Completed,
            NormalisedStatusKind::Delivered => NormalisedStatus::Delivered,
            NormalisedStatusKind::InProgressOnTrack => NormalisedStatus::InProgressOnTrack,
            NormalisedStatusKind::InProgressDelayed => NormalisedStatus::InProgressDelayed,
            NormalisedStatusKind::AwaitingMinistry => NormalisedStatus::AwaitingMinistry,
            NormalisedStatusKind::BlockedExternal => NormalisedStatus::BlockedExternal,
            NormalisedStatusKind::Transferred => NormalisedStatus::Transferred,
            NormalisedStatusKind::Cancelled => NormalisedStatus::Cancelled,
        }
    }
}

/// The year-end vocabulary an agency may attach to a report.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "NormalisedStatus")]
pub enum NormalisedStatusKind {
    Completed,
    Delivered,
    InProgressOnTrack,
    InProgressDelayed,
    AwaitingMinistry,
    BlockedExternal,
    Transferred,
    Cancelled,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "TrafficLight")]
pub enum Light {
    Green,
    Yellow,
    Red,
}

impl From<Light> for TrafficLight {
    fn from(l: Light) -> Self {
        match l {
            Light::Green => TrafficLight::Green,
            Light::Yellow => TrafficLight::Yellow,
            Light::Red => TrafficLight::Red,
        }
    }
}

impl From<TrafficLight> for Light {
    fn from(l: TrafficLight) -> Self {
        match l {
            TrafficLight::Green => Light::Green,
            TrafficLight::Yellow => Light::Yellow,
            TrafficLight::Red => Light::Red,
        }
    }
}

impl Light {
    fn from_name(s: &str) -> Option<Self> {
        match s {
            "green" => Some(Light::Green),
            "yellow" => Some(Light::Yellow),
            "red" => Some(Light::Red),
            _ => None,
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Default)]
#[graphql(name = "BoardSort")]
pub enum SortKind {
    #[default]
    NextDeadline,
    Reference,
    Title,
    Updated,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum PeriodKind {
    #[graphql(name = "TERTIAL_1")]
    Tertial1,
    #[graphql(name = "TERTIAL_2")]
    Tertial2,
    #[graphql(name = "HALF_YEAR_1")]
    HalfYear1,
    #[graphql(name = "HALF_YEAR_2")]
    HalfYear2,
    Year,
    /// A report as of a date; give `date`.
    Date,
}

/// A reporting period: a tertial, a half year, the year, or a date.
#[derive(InputObject, Clone, Debug)]
pub struct PeriodInput {
    pub kind: PeriodKind,
    pub date: Option<Date>,
}

impl PeriodInput {
    pub(crate) fn to_domain(&self) -> Result<Period> {
        Ok(match self.kind {
            PeriodKind::Tertial1 => Period::Tertial1,
            PeriodKind::Tertial2 => Period::Tertial2,
            PeriodKind::HalfYear1 => Period::HalfYear1,
            PeriodKind::HalfYear2 => Period::HalfYear2,
            PeriodKind::Year => Period::Year,
            PeriodKind::Date => Period::Date(
                self.date
                    .ok_or_else(|| error::validation("period.date", "a DATE period needs a date"))?
                    .0,
            ),
        })
    }
}

/// Filters of the board; every field is optional.
#[derive(InputObject, Default, Clone, Debug)]
pub struct BoardFilterInput {
    pub year: Option<i32>,
    pub ministry: Option<String>,
    pub agency: Option<String>,
    pub department: Option<String>,
    pub goal: Option<String>,
    pub statuses: Option<Vec<StatusKind>>,
    pub traffic_light: Option<Light>,
    pub overdue: Option<bool>,
    pub deadline_from: Option<Date>,
    pub deadline_to: Option<Date>,
    /// Case-insensitive search in reference, title and description.
    pub text: Option<String>,
}

impl BoardFilterInput {
    pub(crate) fn to_filter(&self) -> BoardFilter {
        BoardFilter {
            year: self.year,
            ministry: self.ministry.clone(),
            agency: self.agency.clone(),
            department: self.department.clone(),
            goal: self.goal.clone(),
            statuses: self
                .statuses
                .iter()
                .flatten()
                .map(|s| BoardStatus::from(*s))
                .collect(),
            traffic_light: self.traffic_light.map(|l| light_name(l.into()).to_owned()),
            overdue: self.overdue,
            deadline_from: self.deadline_from.map(|d| d.0),
            deadline_to: self.deadline_to.map(|d| d.0),
            text: self.text.clone(),
            ids: Vec::new(),
        }
    }
}

/// One row of the board.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct BoardItem {
    pub id: ID,
    pub reference: Option<String>,
    pub title: String,
    pub year: i64,
    pub ministry: String,
    pub agency: String,
    pub department: Option<String>,
    pub goal: Option<String>,
    pub status: StatusKind,
    pub traffic_light: Option<Light>,
    pub next_deadline: Option<Date>,
    pub deadline_to_be_agreed: bool,
    pub updated_at: DateTime<Utc>,
    #[graphql(skip)]
    pub lifecycle: String,
}

#[ComplexObject]
impl BoardItem {
    /// A dated deadline of an undelivered part has passed (Oslo calendar date).
    async fn overdue(&self, ctx: &Context<'_>) -> bool {
        let today = oslo_date(ctx.data_unchecked::<Workflow>().now());
        self.lifecycle == "active" && self.next_deadline.is_some_and(|d| d.0 < today)
    }
}

impl From<BoardRow> for BoardItem {
    fn from(r: BoardRow) -> Self {
        BoardItem {
            id: ID(r.assignment_id),
            reference: r.reference,
            title: r.title,
            year: r.year,
            ministry: r.ministry,
            agency: r.agency,
            department: r.department,
            goal: r.goal,
            status: r.status.into(),
            traffic_light: r.traffic_light.as_deref().and_then(Light::from_name),
            next_deadline: r.next_deadline.map(Date),
            deadline_to_be_agreed: r.deadline_to_be_agreed,
            updated_at: r.updated_at,
            lifecycle: r.lifecycle,
        }
    }
}

#[derive(SimpleObject)]
pub struct StatusCount {
    pub status: StatusKind,
    pub count: u64,
}

/// Extra fields on the board connection.
#[derive(SimpleObject)]
pub struct BoardSummary {
    /// Rows matching the filter, across all pages.
    pub total_count: u64,
    /// Rows per status with the same filters except the status filter (for a dashboard).
    pub status_counts: Vec<StatusCount>,
}

pub type BoardConnection = Connection<String, BoardItem, BoardSummary, EmptyFields>;

fn encode_cursor(offset: u64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("o:{offset}"))
}

fn decode_cursor(cursor: &str) -> Result<u64> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("o:").and_then(|n| n.parse().ok()))
        .ok_or_else(|| error::validation("after", "not a cursor from this board"))
}

pub async fn board(
    ctx: &Context<'_>,
    filter: Option<BoardFilterInput>,
    sort: Option<SortKind>,
    descending: Option<bool>,
    first: Option<i32>,
    after: Option<String>,
) -> Result<BoardConnection> {
    let actor = actor(ctx)?;
    let scope = scope(actor)?;
    let workflow = ctx.data_unchecked::<Workflow>();
    let limit = match first {
        None => 50,
        Some(n) if n >= 1 && (n as usize) <= MAX_PAGE => n as u32,
        Some(_) => {
            return Err(error::validation(
                "first",
                format!("first must be from 1 to {MAX_PAGE}"),
            ));
        }
    };
    let offset = match after {
        Some(c) => decode_cursor(&c)? + 1,
        None => 0,
    };
    let query = BoardQuery {
        scope,
        filter: filter.unwrap_or_default().to_filter(),
        sort: match sort.unwrap_or_default() {
            SortKind::NextDeadline => BoardSort::NextDeadline,
            SortKind::Reference => BoardSort::Reference,
            SortKind::Title => BoardSort::Title,
            SortKind::Updated => BoardSort::Updated,
        },
        descending: descending.unwrap_or(false),
        offset,
        limit,
        today: oslo_date(workflow.now()),
    };
    let projections = workflow.projections();
    let page = projections.board(&query).await.map_err(error::workflow)?;
    // Counting per status is a query of its own: run it only when asked for.
    let counts = if ctx.look_ahead().field("statusCounts").exists() {
        projections
            .status_counts(&query)
            .await
            .map_err(error::workflow)?
    } else {
        Vec::new()
    };
    let has_next = offset + (page.rows.len() as u64) < page.total;
    let mut connection = Connection::with_additional_fields(
        offset > 0,
        has_next,
        BoardSummary {
            total_count: page.total,
            status_counts: counts
                .into_iter()
                .map(|(status, count)| StatusCount {
                    status: status.into(),
                    count,
                })
                .collect(),
        },
    );
    connection.edges.extend(
        page.rows
            .into_iter()
            .enumerate()
            .map(|(i, row)| Edge::new(encode_cursor(offset + i as u64), BoardItem::from(row))),
    );
    Ok(connection)
}

// ---- detail -----------------------------------------------------------------------------

/// Who did something.
#[derive(SimpleObject, Clone)]
pub struct ActorRef {
    pub subject: String,
    pub name: String,
    pub role: String,
    pub organisation: String,
}

impl From<styr_eventstore::Actor> for ActorRef {
    fn from(a: styr_eventstore::Actor) -> Self {
        ActorRef {
            subject: a.subject,
            name: a.display_name,
            role: a.role,
            organisation: a.organisation,
        }
    }
}

/// One event in an assignment's history, as recorded.
#[derive(SimpleObject)]
pub struct TimelineEntry {
    pub position: u64,
    pub version: u64,
    pub event_type: String,
    pub recorded_at: DateTime<Utc>,
    pub effective_at: DateTime<Utc>,
    pub actor: ActorRef,
    pub reason: Option<String>,
    pub command_id: Option<ID>,
    pub data: Json<serde_json::Value>,
}

#[derive(SimpleObject)]
pub struct PartView {
    pub label: Option<String>,
    pub title: Option<String>,
    pub deadline: Option<Date>,
    pub deadline_to_be_agreed: bool,
    /// `not_delivered`, `awaiting_review`, `returned` or `accepted`.
    pub delivery: String,
}

#[derive(SimpleObject)]
pub struct StatusReportView {
    pub period: String,
    pub traffic_light: Light,
    pub progress: String,
    pub cause_and_consequence: Option<String>,
    pub corrective_action: Option<String>,
    pub year_end_phrase: Option<String>,
    pub by: String,
    pub at: DateTime<Utc>,
}

#[derive(SimpleObject)]
pub struct DeliveryView {
    pub id: ID,
    pub part: Option<String>,
    pub summary: String,
    pub document_ref: Option<String>,
    pub delivered_on: Date,
    pub deadline_in_force: Option<Date>,
    pub late: bool,
    pub by: String,
}

#[derive(SimpleObject)]
pub struct ExtensionRequestView {
    pub id: ID,
    pub part: Option<String>,
    pub current_date: Date,
    pub new_date: Date,
    pub reason: String,
    pub by: String,
}

/// An assignment with everything that happened to it.
pub struct AssignmentView {
    pub details: AssignmentDetails,
    pub stream_id: String,
}

#[Object(name = "Assignment")]
impl AssignmentView {
    async fn id(&self) -> ID {
        ID(self.stream_id.clone())
    }
    async fn reference(&self) -> Option<String> {
        self.details.reference.as_ref().map(|r| r.to_string())
    }
    async fn title(&self) -> &str {
        self.details.title.as_str()
    }
    async fn description(&self) -> &str {
        &self.details.description
    }
    async fn year(&self) -> i32 {
        self.details.year.value()
    }
    async fn ministry(&self) -> String {
        self.details.ministry.to_string()
    }
    async fn agency(&self) -> String {
        self.details.agency.to_string()
    }
    async fn department(&self) -> Option<String> {
        self.details.department.as_ref().map(|d| d.to_string())
    }
    async fn goal(&self) -> Option<&str> {
        self.details.goal.as_deref()
    }
    /// The assignment this one continues (last year's).
    async fn carried_over_from(&self) -> Option<ID> {
        self.details.carried_over_from.map(|i| ID(i.to_string()))
    }
    /// The assignment that continues this one (next year's).
    async fn carried_over_to(&self) -> Option<ID> {
        self.details.carried_over_to.map(|i| ID(i.to_string()))
    }
    async fn collaborators(&self) -> Vec<String> {
        self.details
            .collaborators
            .iter()
            .map(|c| c.to_string())
            .collect()
    }
    /// `letter`, `supplement N`, or the free-text origin.
    async fn source(&self) -> String {
        match &self.details.source {
            AssignmentSource::Letter => "letter".into(),
            AssignmentSource::Supplement { number, .. } => format!("supplement {number}"),
            AssignmentSource::Other { description } => description.clone(),
        }
    }
    /// `active`, `completed`, `cancelled` or `carried_over`.
    async fn lifecycle(&self) -> String {
        match self.details.lifecycle {
            Lifecycle::Active => "active",
            Lifecycle::Completed => "completed",
            Lifecycle::Cancelled => "cancelled",
            Lifecycle::CarriedOver => "carried_over",
        }
        .to_owned()
    }
    async fn parts(&self) -> Vec<PartView> {
        self.details
            .parts
            .iter()
            .map(|p| PartView {
                label: p.label.as_ref().map(|l| l.to_string()),
                title: p.title.clone(),
                deadline: p.deadline.date().map(Date),
                deadline_to_be_agreed: p.deadline == DeadlineTerm::ToBeAgreed,
                delivery: match p.delivery {
                    PartDelivery::NotDelivered => "not_delivered",
                    PartDelivery::AwaitingReview(_) => "awaiting_review",
                    PartDelivery::Returned(_) => "returned",
                    PartDelivery::Accepted(_) => "accepted",
                }
                .to_owned(),
            })
            .collect()
    }
    async fn status_reports(&self) -> Vec<StatusReportView> {
        self.details
            .status_reports
            .iter()
            .map(|r| StatusReportView {
                period: format!("{:?}", r.period),
                traffic_light: r.light.into(),
                progress: r.progress.as_str().to_owned(),
                cause_and_consequence: r
                    .cause_and_consequence
                    .as_ref()
                    .map(|t| t.as_str().to_owned()),
                corrective_action: r.corrective_action.as_ref().map(|t| t.as_str().to_owned()),
                year_end_phrase: r.year_end_phrase.clone(),
                by: r.by.display_name.clone(),
                at: r.at,
            })
            .collect()
    }
    async fn deliveries(&self) -> Vec<DeliveryView> {
        self.details
            .deliveries
            .iter()
            .map(|d| DeliveryView {
                id: ID(d.delivery_id.to_string()),
                part: d.part.as_ref().map(|p| p.to_string()),
                summary: d.summary.as_str().to_owned(),
                document_ref: d.document_ref.clone(),
                delivered_on: Date(d.delivered_on),
                deadline_in_force: d.deadline_in_force.map(Date),
                late: d.is_late(),
                by: d.by.display_name.clone(),
            })
            .collect()
    }
    async fn pending_extension(&self) -> Option<ExtensionRequestView> {
        self.details
            .pending_extension
            .as_ref()
            .map(|e| ExtensionRequestView {
                id: ID(e.request_id.to_string()),
                part: e.part.as_ref().map(|p| p.to_string()),
                current_date: Date(e.current_date),
                new_date: Date(e.new_date),
                reason: e.reason.as_str().to_owned(),
                by: e.by.display_name.clone(),
            })
    }
    /// Every event of the assignment with who, when (recorded and effective) and why.
    async fn timeline(&self, ctx: &Context<'_>) -> Result<Vec<TimelineEntry>> {
        let workflow = ctx.data_unchecked::<Workflow>();
        let stream = styr_eventstore::StreamId::new(AssignmentState::STREAM_TYPE, &self.stream_id)
            .map_err(error::internal)?;
        let events = workflow
            .store()
            .read_stream(&stream, 0)
            .await
            .map_err(|e| error::workflow(e.into()))?;
        Ok(events
            .into_iter()
            .map(|e| TimelineEntry {
                position: e.position,
                version: e.version,
                event_type: e.event_type,
                recorded_at: e.recorded_at,
                effective_at: e.effective_at,
                actor: e.actor.into(),
                reason: e.reason,
                command_id: e.causation_id.map(|c| ID(c.to_string())),
                data: Json(e.payload),
            })
            .collect())
    }
}

/// Loads an assignment the caller may see; one it may not see is reported as not found, so
/// ids cannot be probed.
pub async fn load_visible(ctx: &Context<'_>, id: &str) -> Result<AssignmentView> {
    // The caller's scope first: one without any is refused before the store is read.
    scope(actor(ctx)?)?;
    if Uuid::parse_str(id).is_err() {
        return Err(error::not_found(format!("no assignment {id}")));
    }
    let workflow = ctx.data_unchecked::<Workflow>();
    let (state, _) = workflow
        .load::<AssignmentState>(id)
        .await
        .map_err(error::workflow)?;
    visible_view(ctx, id, state)
}

/// The assignment as the caller may see it, from a state already loaded; "not found" when it
/// does not exist or the caller may not see it.
fn visible_view(ctx: &Context<'_>, id: &str, state: AssignmentState) -> Result<AssignmentView> {
    check_visible(ctx, id, &state)?;
    let details = state
        .details
        .ok_or_else(|| error::not_found(format!("no assignment {id}")))?;
    Ok(AssignmentView {
        details,
        stream_id: id.to_owned(),
    })
}

/// "Not found" unless the assignment exists and the caller may see it.
fn check_visible(ctx: &Context<'_>, id: &str, state: &AssignmentState) -> Result<()> {
    let scope = scope(actor(ctx)?)?;
    let missing = || error::not_found(format!("no assignment {id}"));
    let workflow = ctx.data_unchecked::<Workflow>();
    let details = state.details.as_ref().ok_or_else(missing)?;
    // While a transfer is not yet effective, the agency still responsible may see it too.
    let today = oslo_date(workflow.now());
    let visible = can_see(&scope, details.ministry.as_str(), details.agency.as_str())
        || can_see(
            &scope,
            details.ministry.as_str(),
            details.agency_on(today).as_str(),
        );
    if visible { Ok(()) } else { Err(missing()) }
}

// ---- mutations --------------------------------------------------------------------------

/// What a mutation did to an assignment.
#[derive(SimpleObject)]
pub struct AssignmentPayload {
    pub assignment: AssignmentView,
    #[graphql(flatten)]
    pub receipt: CommandReceipt,
}

#[derive(InputObject, Clone, Debug)]
pub struct PartInput {
    /// `a`, `b`, … (`A.` and `a)` are accepted); omit for a single unlabelled part.
    pub label: Option<String>,
    pub title: Option<String>,
    /// The deadline; omit it together with `toBeAgreed` for "no deadline".
    pub deadline: Option<Date>,
    /// The deadline is to be agreed in the dialogue.
    #[graphql(default)]
    pub to_be_agreed: bool,
}

#[derive(InputObject, Clone, Debug)]
pub struct IssueAssignmentInput {
    /// As printed, e.g. `TB2024-12`; omit for items printed without a number.
    pub reference: Option<String>,
    pub ministry: String,
    pub agency: String,
    pub year: i32,
    pub department: Option<String>,
    pub title: String,
    pub description: String,
    pub goal: Option<String>,
    pub parts: Vec<PartInput>,
    #[graphql(default)]
    pub collaborators: Vec<String>,
}

#[derive(InputObject, Clone, Debug)]
pub struct DeliverInput {
    /// The part delivered; omit for an assignment with one unlabelled part.
    pub part: Option<String>,
    pub summary: String,
    /// The case or document number of the delivery.
    pub document_ref: Option<String>,
    /// Other assignments the same document answers.
    #[graphql(default)]
    pub also_answers: Vec<ID>,
}

#[derive(InputObject, Clone, Debug)]
pub struct ReportStatusInput {
    pub period: PeriodInput,
    pub traffic_light: Light,
    pub progress: String,
    /// Required for yellow and red.
    pub cause_and_consequence: Option<String>,
    /// Required for yellow and red.
    pub corrective_action: Option<String>,
    /// The year-end phrase as written, e.g. "Levert til HOD innen frist.".
    pub year_end_phrase: Option<String>,
    pub normalised: Option<NormalisedStatusKind>,
}

fn part_label(field: &str, label: Option<String>) -> Result<Option<PartLabel>> {
    label
        .map(|l| parse(field, PartLabel::parse(&l)))
        .transpose()
}

pub struct AssignmentMutations;

impl AssignmentMutations {
    async fn run(
        ctx: &Context<'_>,
        id: &str,
        command: AssignmentCommand,
        options: Option<CommandOptions>,
    ) -> Result<AssignmentPayload> {
        if Uuid::parse_str(id).is_err() {
            return Err(error::not_found(format!("no assignment {id}")));
        }
        // An assignment the caller may not see is "not found" for commands too, so its
        // existence cannot be probed by trying to act on it. (Issuing creates the stream.)
        let workflow = ctx.data_unchecked::<Workflow>();
        let ((mut state, mut version), kept) = workflow
            .load_for_command::<AssignmentState>(id)
            .await
            .map_err(error::workflow)?;
        // A state kept from this server's last command may be stale (see the workflow's
        // `states`); what it lets through is checked again by the append's version and the
        // domain's authorization, but "not found" is only said on a fresh load.
        if kept && (version == 0 || check_visible(ctx, id, &state).is_err()) {
            (state, version) = workflow
                .load::<AssignmentState>(id)
                .await
                .map_err(error::workflow)?;
        }
        if version > 0 {
            check_visible(ctx, id, &state)?;
        } else if !matches!(command, AssignmentCommand::Issue(_)) {
            return Err(error::not_found(format!("no assignment {id}")));
        }
        // The state just loaded is where the command starts, and the state it leaves is what
        // the payload shows: no second and third read of the stream.
        let loaded = Some((state, version));
        let (outcome, after) =
            command::run_loaded::<AssignmentState>(ctx, id, command, options, loaded).await?;
        let assignment = match after {
            Some(after) => visible_view(ctx, id, after)?,
            None => load_visible(ctx, id).await?,
        };
        Ok(AssignmentPayload {
            assignment,
            receipt: (&outcome).into(),
        })
    }
}

#[derive(Default)]
pub struct AssignmentMutation;

#[Object]
impl AssignmentMutation {
    /// Ministry: issue an assignment directly (supplements issue theirs when issued).
    async fn issue_assignment(
        &self,
        ctx: &Context<'_>,
        input: IssueAssignmentInput,
        options: Option<CommandOptions>,
    ) -> Result<AssignmentPayload> {
        // A retried command must address the same new stream: derive its id from the command id.
        let id = match options.as_ref().and_then(|o| o.command_id.as_ref()) {
            Some(c) => Uuid::new_v5(&parse_uuid("options.commandId", c)?, b"assignment"),
            None => Uuid::now_v7(),
        };
        let mut parts = Vec::with_capacity(input.parts.len());
        for (i, p) in input.parts.into_iter().enumerate() {
            let field = format!("input.parts[{i}]");
            let deadline = match (p.deadline, p.to_be_agreed) {
                (Some(_), true) => {
                    return Err(error::validation(
                        &field,
                        "give a deadline or toBeAgreed, not both",
                    ));
                }
                (Some(d), false) => DeadlineTerm::Date(d.0),
                (None, true) => DeadlineTerm::ToBeAgreed,
                (None, false) => DeadlineTerm::NoDeadline,
            };
            parts.push(PartSpec {
                label: part_label(&format!("{field}.label"), p.label)?,
                title: p.title,
                deadline,
            });
        }
        let command = AssignmentCommand::Issue(Box::new(IssueAssignment {
            assignment_id: AssignmentId(id),
            reference: input
                .reference
                .map(|r| parse("input.reference", AssignmentReference::parse(&r)))
                .transpose()?,
            ministry: parse("input.ministry", OrgCode::parse(&input.ministry))?,
            agency: parse("input.agency", OrgCode::parse(&input.agency))?,
            year: parse("input.year", Year::new(input.year))?,
            department: input
                .department
                .map(|d| parse("input.department", DepartmentCode::parse(&d)))
                .transpose()?,
            title: input.title,
            description: input.description,
            goal: input.goal,
            source: AssignmentSource::Letter,
            parts,
            collaborators: input
                .collaborators
                .iter()
                .map(|c| parse("input.collaborators", OrgCode::parse(c)))
                .collect::<Result<_>>()?,
            carried_over_from: None,
        }));
        AssignmentMutations::run(ctx, &id.to_string(), command, options).await
    }

    /// Ministry: set the date of a part whose deadline was to be agreed.
    async fn agree_deadline(
        &self,
        ctx: &Context<'_>,
        id: ID,
        part: Option<String>,
        date: Date,
        options: Option<CommandOptions>,
    ) -> Result<AssignmentPayload> {
        let command = AssignmentCommand::AgreeDeadline {
            part: part_label("part", part)?,
            date: date.0,
        };
        AssignmentMutations::run(ctx, &id, command, options).await
    }

    /// Agency: report status. Yellow and red need a cause and consequence and a corrective action.
    async fn report_status(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: ReportStatusInput,
        options: Option<CommandOptions>,
    ) -> Result<AssignmentPayload> {
        let command = AssignmentCommand::ReportStatus(Box::new(ReportStatus {
            period: input.period.to_domain()?,
            light: input.traffic_light.into(),
            progress: input.progress,
            cause_and_consequence: input.cause_and_consequence,
            corrective_action: input.corrective_action,
            year_end_phrase: input.year_end_phrase,
            normalised: input.normalised.map(Into::into),
        }));
        AssignmentMutations::run(ctx, &id, command, options).await
    }

    /// Agency: correct the latest report for a period. The original stays in the history;
    /// the correction is a new record with its reason.
    async fn correct_status(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: ReportStatusInput,
        reason: String,
        options: Option<CommandOptions>,
    ) -> Result<AssignmentPayload> {
        let command = AssignmentCommand::CorrectStatus {
            report: Box::new(ReportStatus {
                period: input.period.to_domain()?,
                light: input.traffic_light.into(),
                progress: input.progress,
                cause_and_consequence: input.cause_and_consequence,
                corrective_action: input.corrective_action,
                year_end_phrase: input.year_end_phrase,
                normalised: input.normalised.map(Into::into),
            }),
            reason,
        };
        AssignmentMutations::run(ctx, &id, command, options).await
    }

    /// Agency: ask to move a part's deadline.
    async fn request_extension(
        &self,
        ctx: &Context<'_>,
        id: ID,
        part: Option<String>,
        new_date: Date,
        reason: String,
        options: Option<CommandOptions>,
    ) -> Result<AssignmentPayload> {
        let command = AssignmentCommand::RequestExtension {
            part: part_label("part", part)?,
            new_date: new_date.0,
            reason,
        };
        AssignmentMutations::run(ctx, &id, command, options).await
    }

    /// Ministry: grant the pending extension request; the deadline moves.
    async fn grant_extension(
        &self,
        ctx: &Context<'_>,
        id: ID,
        request_id: ID,
        options: Option<CommandOptions>,
    ) -> Result<AssignmentPayload> {
        let command = AssignmentCommand::GrantExtension {
            request_id: ExtensionRequestId(parse_uuid("requestId", &request_id)?),
        };
        AssignmentMutations::run(ctx, &id, command, options).await
    }

    /// Ministry: reject the pending extension request.
    async fn reject_extension(
        &self,
        ctx: &Context<'_>,
        id: ID,
        request_id: ID,
        reason: String,
        options: Option<CommandOptions>,
    ) -> Result<AssignmentPayload> {
        let command = AssignmentCommand::RejectExtension {
            request_id: ExtensionRequestId(parse_uuid("requestId", &request_id)?),
            reason,
        };
        AssignmentMutations::run(ctx, &id, command, options).await
    }

    /// Agency: deliver a part (or the whole assignment).
    async fn deliver(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: DeliverInput,
        options: Option<CommandOptions>,
    ) -> Result<AssignmentPayload> {
        let command = AssignmentCommand::Deliver {
            part: part_label("input.part", input.part)?,
            summary: input.summary,
            document_ref: input.document_ref,
            also_answers: input
                .also_answers
                .iter()
                .map(|a| parse_uuid("input.alsoAnswers", a).map(AssignmentId))
                .collect::<Result<_>>()?,
        };
        AssignmentMutations::run(ctx, &id, command, options).await
    }

    /// Ministry: accept a delivered part.
    async fn accept_delivery(
        &self,
        ctx: &Context<'_>,
        id: ID,
        part: Option<String>,
        options: Option<CommandOptions>,
    ) -> Result<AssignmentPayload> {
        let command = AssignmentCommand::AcceptDelivery {
            part: part_label("part", part)?,
        };
        AssignmentMutations::run(ctx, &id, command, options).await
    }

    /// Ministry: return a delivered part for revision.
    async fn return_delivery(
        &self,
        ctx: &Context<'_>,
        id: ID,
        part: Option<String>,
        reason: String,
        options: Option<CommandOptions>,
    ) -> Result<AssignmentPayload> {
        let command = AssignmentCommand::ReturnDelivery {
            part: part_label("part", part)?,
            reason,
        };
        AssignmentMutations::run(ctx, &id, command, options).await
    }

    /// Ministry: mark the assignment completed.
    async fn complete_assignment(
        &self,
        ctx: &Context<'_>,
        id: ID,
        note: Option<String>,
        options: Option<CommandOptions>,
    ) -> Result<AssignmentPayload> {
        AssignmentMutations::run(ctx, &id, AssignmentCommand::Complete { note }, options).await
    }

    /// Ministry: cancel the assignment.
    async fn cancel_assignment(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: String,
        options: Option<CommandOptions>,
    ) -> Result<AssignmentPayload> {
        let command = AssignmentCommand::Cancel {
            reason,
            source: ChangeSource::Direct,
        };
        AssignmentMutations::run(ctx, &id, command, options).await
    }

    /// Ministry: move the assignment to another agency.
    async fn transfer_assignment(
        &self,
        ctx: &Context<'_>,
        id: ID,
        to_agency: String,
        reason: String,
        effective: Date,
        options: Option<CommandOptions>,
    ) -> Result<AssignmentPayload> {
        let command = AssignmentCommand::Transfer {
            to_agency: parse("toAgency", OrgCode::parse(&to_agency))?,
            reason,
            effective: effective.0,
            source: ChangeSource::Direct,
        };
        AssignmentMutations::run(ctx, &id, command, options).await
    }

    /// Ministry: continue the assignment next year under a new reference (e.g. `TB2025-3`);
    /// the old and the new one link to each other. Returns the new assignment.
    async fn carry_over_assignment(
        &self,
        ctx: &Context<'_>,
        id: ID,
        new_reference: Option<String>,
        reason: String,
        options: Option<CommandOptions>,
    ) -> Result<AssignmentPayload> {
        if Uuid::parse_str(&id).is_err() {
            return Err(error::not_found(format!("no assignment {}", id.as_str())));
        }
        let new_reference = new_reference
            .map(|r| parse("newReference", AssignmentReference::parse(&r)))
            .transpose()?;
        let workflow = ctx.data_unchecked::<Workflow>();
        let meta = command::meta(ctx, options)?;
        let outcome = workflow
            .carry_over(&id, new_reference, reason, &meta)
            .await
            .map_err(error::workflow)?;
        workflow.settle(&outcome).await.map_err(error::workflow)?;
        let new_id = outcome
            .events
            .iter()
            .find(|e| e.event_type == "AssignmentIssued")
            .map(|e| e.stream.id().to_owned())
            .ok_or_else(|| error::internal("carry-over wrote no new assignment"))?;
        Ok(AssignmentPayload {
            assignment: load_visible(ctx, &new_id).await?,
            receipt: (&outcome).into(),
        })
    }

    /// Ministry: change a part's deadline outright — a new date, to be agreed, or none. (An
    /// agency asks with `requestExtension`; a supplement does this with its changes.)
    async fn change_deadline(
        &self,
        ctx: &Context<'_>,
        id: ID,
        part: Option<String>,
        date: Option<Date>,
        #[graphql(default)] to_be_agreed: bool,
        options: Option<CommandOptions>,
    ) -> Result<AssignmentPayload> {
        let deadline = match (date, to_be_agreed) {
            (Some(_), true) => {
                return Err(error::validation(
                    "date",
                    "give a date or toBeAgreed, not both",
                ));
            }
            (Some(d), false) => DeadlineTerm::Date(d.0),
            (None, true) => DeadlineTerm::ToBeAgreed,
            (None, false) => DeadlineTerm::NoDeadline,
        };
        let command = AssignmentCommand::ChangeDeadline {
            part: part_label("part", part)?,
            deadline,
            source: ChangeSource::Direct,
        };
        AssignmentMutations::run(ctx, &id, command, options).await
    }

    /// Ministry: amend the title or description.
    async fn amend_assignment(
        &self,
        ctx: &Context<'_>,
        id: ID,
        title: Option<String>,
        description: Option<String>,
        options: Option<CommandOptions>,
    ) -> Result<AssignmentPayload> {
        let command = AssignmentCommand::Amend {
            title,
            description,
            source: ChangeSource::Direct,
        };
        AssignmentMutations::run(ctx, &id, command, options).await
    }
}
