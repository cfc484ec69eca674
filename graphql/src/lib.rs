//! The GraphQL API: schema, resolvers and their limits. Knows neither HTTP nor SQL; the server
//! crate mounts an [`Api`] and passes the authenticated caller in as request data.

mod assignment;
mod audit;
mod command;
mod dialogue;
pub mod error;
mod import;
mod letter;
pub mod limits;
mod reference;
mod reports;
mod scalars;
mod subscriptions;
mod viewer;

use std::sync::Arc;

use async_graphql::{
    Context, Data, ErrorExtensions, Executor, ID, MergedObject, Object, Request, Response, Result,
    Schema, SimpleObject, Subscription,
};
use chrono::{DateTime, Utc};
use futures_util::stream::{BoxStream, Stream, StreamExt};
use styr_workflow::Workflow;

pub use limits::Limits;
pub use scalars::Date;
pub use viewer::{Viewer, actor_from_claims};

pub type StyrSchema = Schema<Query, Mutation, SubscriptionRoot>;

/// Every mutation, one per domain command.
#[derive(MergedObject, Default)]
pub struct Mutation(
    assignment::AssignmentMutation,
    letter::LetterMutation,
    letter::SupplementMutation,
    dialogue::DeviationMutation,
    dialogue::CalendarMutation,
    reference::ReferenceMutation,
    audit::AuditMutation,
    import::ImportMutation,
);

/// The schema with the service's rules around every request: the limits on the parsed
/// document before it runs, and a code on every error after (see [`limits`] and
/// [`error::give_codes`]). Serves queries, mutations, batches and subscriptions alike.
///
/// These run here rather than as async-graphql extensions: with any extension installed,
/// async-graphql sends every field of every response through the extension chain (a registry
/// lookup and two boxed futures per field), which took about a fifth of the server's time on
/// a 50-row board, although neither rule looks at fields.
#[derive(Clone)]
pub struct Api {
    schema: StyrSchema,
    limits: Arc<Limits>,
}

impl Api {
    /// The API over `workflow` with the default [`Limits`].
    pub fn new(workflow: Workflow) -> Self {
        Self::with_limits(workflow, &Limits::default())
    }

    /// The API over `workflow` with the given limits on depth, complexity, aliases and
    /// introspection.
    pub fn with_limits(workflow: Workflow, limits: &Limits) -> Self {
        let builder = Schema::build(Query, Mutation::default(), SubscriptionRoot)
            .data(workflow)
            .limit_depth(limits.max_depth)
            .limit_complexity(limits.max_complexity);
        let schema = if limits.introspection {
            builder.finish()
        } else {
            builder.disable_introspection().finish()
        };
        Self {
            schema,
            limits: Arc::new(limits.clone()),
        }
    }

    /// Parses the document once (execution reuses it) and checks the alias and
    /// introspection limits on it: the refusal as a response, or `None` to go on.
    fn refusal(&self, request: &mut Request) -> Option<Response> {
        let checked = request
            .parsed_query()
            .and_then(|document| limits::check_document(document, &self.limits));
        checked
            .err()
            .map(|error| self.finish(Response::from_errors(vec![error])))
    }

    fn finish(&self, mut response: Response) -> Response {
        if !response.errors.is_empty() {
            response.errors = std::mem::take(&mut response.errors)
                .into_iter()
                .map(|e| limits::name_the_limit(e, &self.limits))
                .collect();
            error::give_codes(&mut response);
        }
        response
    }
}

impl Executor for Api {
    async fn execute(&self, mut request: Request) -> Response {
        if let Some(refused) = self.refusal(&mut request) {
            return refused;
        }
        self.finish(self.schema.execute(request).await)
    }

    fn execute_stream(
        &self,
        mut request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        if let Some(refused) = self.refusal(&mut request) {
            return futures_util::stream::once(async { refused }).boxed();
        }
        let api = self.clone();
        self.schema
            .execute_stream_with_session_data(request, session_data.unwrap_or_default())
            .map(move |response| api.finish(response))
            .boxed()
    }
}

/// The SDL of the schema, for documentation and clients.
pub fn sdl() -> String {
    Schema::build(Query, Mutation::default(), SubscriptionRoot)
        .finish()
        .sdl()
}

pub struct Query;

/// Liveness of the service as GraphQL clients see it.
#[derive(SimpleObject)]
pub struct Health {
    /// `ok` when the database answers and its schema is current, else `degraded`.
    status: String,
    /// The global position of the last event in the log.
    log_position: Option<u64>,
}

#[Object]
impl Query {
    /// Whether the service and its database are usable.
    async fn health(&self, ctx: &Context<'_>) -> Health {
        let workflow = ctx.data_unchecked::<Workflow>();
        let ready = workflow.readiness().await.is_ok();
        let position = workflow.log_head().await.ok().map(|h| h.position);
        Health {
            status: if ready { "ok" } else { "degraded" }.to_owned(),
            log_position: position,
        }
    }

    /// The server's version.
    async fn version(&self) -> &'static str {
        env!("CARGO_PKG_VERSION")
    }

    /// The signed-in user.
    async fn me(&self, ctx: &Context<'_>) -> Result<Viewer> {
        Ok(Viewer::from(viewer::actor(ctx)?))
    }

    /// The assignment board: every assignment the caller may see, filtered, sorted and paged
    /// (Relay cursors), with counts per status.
    async fn board(
        &self,
        ctx: &Context<'_>,
        filter: Option<assignment::BoardFilterInput>,
        sort: Option<assignment::SortKind>,
        descending: Option<bool>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<assignment::BoardConnection> {
        assignment::board(ctx, filter, sort, descending, first, after).await
    }

    /// One assignment with its parts, reports, deliveries and full timeline. An assignment
    /// the caller may not see is reported as not found.
    async fn assignment(&self, ctx: &Context<'_>, id: ID) -> Result<assignment::AssignmentView> {
        assignment::load_visible(ctx, &id).await
    }

    /// One allocation letter by id (`HOD:DMP:2024`), with budget, goals, requirements,
    /// assignments, calendar and supplements.
    async fn letter(&self, ctx: &Context<'_>, id: ID) -> Result<letter::LetterView> {
        letter::load_letter(ctx, &id).await
    }

    /// Deadlines due within `withinDays` of today (Oslo), and those already passed unless
    /// `includeOverdue` is false; earliest first.
    async fn deadlines(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 30)] within_days: i32,
        #[graphql(default = true)] include_overdue: bool,
    ) -> Result<Vec<assignment::BoardItem>> {
        reports::deadlines(ctx, within_days, include_overdue).await
    }

    /// The year-end appendix of a letter: every assignment with its status as an annual
    /// report lists it ("Oversikt over særskilte oppdrag"); as of an instant if given.
    async fn year_end_appendix(
        &self,
        ctx: &Context<'_>,
        letter_id: ID,
        as_of: Option<DateTime<Utc>>,
        effective_by: Option<DateTime<Utc>>,
    ) -> Result<Vec<reports::AppendixRow>> {
        reports::appendix(ctx, &letter_id, as_of, effective_by).await
    }

    /// Every assignment of a letter with its report for one period, and the ones not
    /// reported on.
    async fn period_report(
        &self,
        ctx: &Context<'_>,
        letter_id: ID,
        period: assignment::PeriodInput,
    ) -> Result<Vec<reports::PeriodReportRow>> {
        reports::period_report(ctx, &letter_id, period).await
    }

    /// Ministries, agencies (with their ministry) and departments.
    async fn reference_data(&self, ctx: &Context<'_>) -> Result<reference::ReferenceDataView> {
        reference::reference_data(ctx).await
    }

    /// Deviation reports the caller may see.
    async fn deviation_reports(&self, ctx: &Context<'_>) -> Result<Vec<dialogue::DeviationView>> {
        dialogue::deviation_reports(ctx).await
    }

    async fn deviation_report(&self, ctx: &Context<'_>, id: ID) -> Result<dialogue::DeviationView> {
        dialogue::deviation_report(ctx, &id).await
    }

    /// The steering calendar: reports due and meetings, in date order.
    async fn calendar(&self, ctx: &Context<'_>) -> Result<Vec<dialogue::CalendarItemView>> {
        dialogue::calendar_items(ctx).await
    }

    /// Meetings with instructions no letter or supplement has formalized yet.
    async fn unformalized_instructions(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Vec<dialogue::CalendarItemView>> {
        dialogue::unformalized_instructions(ctx).await
    }

    /// Every event of a stream (`assignment`, `allocation_letter`, `supplement`,
    /// `deviation_report`, `calendar_item`, `deadline`, `correspondence`) with who, when on
    /// both time axes, why, correlation and causation; as of an instant if given.
    async fn history(
        &self,
        ctx: &Context<'_>,
        stream_type: String,
        stream_id: ID,
        as_of: Option<DateTime<Utc>>,
        effective_by: Option<DateTime<Utc>>,
    ) -> Result<Vec<audit::HistoryEntry>> {
        audit::AuditQueries::history(ctx, stream_type, stream_id, as_of, effective_by).await
    }

    /// An assignment as the log knew it at `asOf` (and, with `effectiveBy`, only what had
    /// taken effect by then).
    async fn assignment_as_of(
        &self,
        ctx: &Context<'_>,
        id: ID,
        as_of: DateTime<Utc>,
        effective_by: Option<DateTime<Utc>>,
    ) -> Result<assignment::AssignmentView> {
        audit::AuditQueries::assignment_as_of(ctx, id, as_of, effective_by).await
    }

    /// A letter (`HOD:DMP:2024`) as the log knew it at `asOf` (and, with `effectiveBy`,
    /// only what had taken effect by then).
    async fn letter_as_of(
        &self,
        ctx: &Context<'_>,
        id: ID,
        as_of: DateTime<Utc>,
        effective_by: Option<DateTime<Utc>>,
    ) -> Result<letter::LetterView> {
        audit::AuditQueries::letter_as_of(ctx, id, as_of, effective_by).await
    }

    /// Auditors: verify the whole hash chain of the log now, and say where it first breaks.
    async fn chain_verification(&self, ctx: &Context<'_>) -> Result<audit::ChainVerificationView> {
        audit::AuditQueries::chain_verification(ctx).await
    }

    /// The board as it stood at `asOf`, computed from the events recorded by then.
    async fn board_as_of(
        &self,
        ctx: &Context<'_>,
        as_of: DateTime<Utc>,
        effective_by: Option<DateTime<Utc>>,
        filter: Option<assignment::BoardFilterInput>,
    ) -> Result<Vec<assignment::BoardItem>> {
        audit::AuditQueries::board_as_of(ctx, as_of, effective_by, filter).await
    }

    /// What changed in an assignment between two instants, field by field.
    async fn assignment_diff(
        &self,
        ctx: &Context<'_>,
        id: ID,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<audit::FieldChangeView>> {
        audit::AuditQueries::diff(ctx, "assignment", id, from, to).await
    }

    /// What changed in a letter (`HOD:DMP:2024`) between two instants, field by field.
    async fn letter_diff(
        &self,
        ctx: &Context<'_>,
        id: ID,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<audit::FieldChangeView>> {
        audit::AuditQueries::diff(ctx, "allocation_letter", id, from, to).await
    }

    /// An assignment's decisions: the original deadlines and every change with its grant or
    /// supplement, every status, delivery, acceptance or return, and who did it.
    async fn decision_trail(
        &self,
        ctx: &Context<'_>,
        assignment_id: ID,
        as_of: Option<DateTime<Utc>>,
    ) -> Result<Vec<audit::TrailEntryView>> {
        audit::AuditQueries::decision_trail(ctx, assignment_id, as_of).await
    }

    /// Every correspondence item of the Oslo dates `from..=to` with the state of its copy to
    /// Riksrevisjonen (or the ministry), and the list of those missing.
    async fn copy_completeness(
        &self,
        ctx: &Context<'_>,
        from: scalars::Date,
        to: scalars::Date,
        agency: Option<String>,
    ) -> Result<async_graphql::Json<styr_workflow::audit::CompletenessReport>> {
        audit::AuditQueries::completeness(ctx, from, to, agency).await
    }

    /// The public journal (*offentlig journal*): correspondence of the period, with the
    /// content of exempt items withheld. Needs no sign-in.
    async fn public_journal(
        &self,
        ctx: &Context<'_>,
        from: scalars::Date,
        to: scalars::Date,
    ) -> Result<Vec<audit::JournalEntry>> {
        audit::AuditQueries::public_journal(ctx, from, to).await
    }

    /// One supplement (drafted or issued) with its changes; its letter's parties only.
    async fn supplement(&self, ctx: &Context<'_>, id: ID) -> Result<letter::SupplementView> {
        letter::load_supplement(ctx, &id).await
    }

    /// Every letter the caller may see, optionally of one year.
    async fn letters(
        &self,
        ctx: &Context<'_>,
        year: Option<i32>,
    ) -> Result<Vec<letter::LetterView>> {
        letter::letters(ctx, year).await
    }
}

pub struct SubscriptionRoot;

#[Subscription]
impl SubscriptionRoot {
    /// The global log position: the current one at once, then each time events commit.
    async fn log_position(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = u64>> {
        let workflow = ctx.data::<Workflow>().map_err(|_| {
            async_graphql::Error::new("service unavailable")
                .extend_with(|_, e| e.set("code", "INTERNAL"))
        })?;
        let rx = workflow.watch_log_head();
        Ok(futures_util::stream::unfold(
            (rx, true),
            |(mut rx, first)| async move {
                if !first && rx.changed().await.is_err() {
                    return None;
                }
                let position = *rx.borrow_and_update();
                Some((position, (rx, false)))
            },
        ))
    }

    /// Each later change to an assignment you may see that matches `filter`, as its board row.
    async fn assignment_changes(
        &self,
        ctx: &Context<'_>,
        filter: Option<assignment::BoardFilterInput>,
    ) -> Result<impl Stream<Item = assignment::BoardItem>> {
        subscriptions::assignment_changes(ctx, filter)
    }

    /// The deadlines due within `withinDays` (and overdue ones): now, and again whenever the
    /// list changes.
    async fn deadlines_due(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 14)] within_days: i32,
    ) -> Result<impl Stream<Item = Vec<assignment::BoardItem>>> {
        subscriptions::deadlines_due(ctx, within_days)
    }
}
