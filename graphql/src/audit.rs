//! The audit views: any stream's history, an assignment or the board *as of* an instant (on
//! the recorded axis, optionally narrowed to what had taken effect), differences between two
//! instants, the decision trail, the completeness of copies to Riksrevisjonen, the public
//! journal (exempt content withheld), and the mutations that mark exemptions and register an
//! agency's correspondence with Riksrevisjonen, and (auditors only) a run of the store's hash
//! chain verification. Auditors see everything; a ministry or agency sees its own dialogue;
//! what a caller may not see is "not found".

use async_graphql::types::Json;
use async_graphql::{Context, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use styr_eventstore::StreamId;
use styr_workflow::Workflow;
use styr_workflow::audit::{AsOf, CompletenessReport, FieldChange, TrailEntry};
use styr_workflow::domain::allocation_letter::AllocationLetter;
use styr_workflow::domain::assignment::Assignment;
use styr_workflow::domain::correspondence::{Correspondence, CorrespondenceCommand};
use styr_workflow::domain::values::OrgCode;
use styr_workflow::domain::{Role, oslo_date};
use styr_workflow::projections::{BoardSort, Scope};

use crate::assignment::{ActorRef, AssignmentView, BoardFilterInput, BoardItem};
use crate::command::{CommandOptions, CommandReceipt, run};
use crate::error;
use crate::letter::LetterView;
use crate::scalars::Date;
use crate::viewer::{actor, scope};

/// The view an audit query looks at: everything recorded by `asOf` (default: now), and with
/// `effectiveBy`, only what had taken effect by then.
pub(crate) async fn view(
    ctx: &Context<'_>,
    as_of: Option<DateTime<Utc>>,
    effective_by: Option<DateTime<Utc>>,
) -> Result<AsOf> {
    let workflow = ctx.data_unchecked::<Workflow>();
    let position = match as_of {
        Some(t) => workflow.position_at(t).await.map_err(error::workflow)?,
        None => u64::MAX,
    };
    Ok(AsOf {
        position,
        effective_by,
    })
}

/// Refuses (as not found) a stream the caller may not read.
async fn require_visible(ctx: &Context<'_>, stream: &StreamId) -> Result<()> {
    let scope = scope(actor(ctx)?)?;
    if scope == Scope::All {
        return Ok(());
    }
    let workflow = ctx.data_unchecked::<Workflow>();
    let parties = workflow.parties_of(stream).await.map_err(error::workflow)?;
    match parties {
        Some((m, a)) if scope.can_see(m.as_str(), a.as_str()) => Ok(()),
        _ => Err(error::not_found(format!("no {stream}"))),
    }
}

/// One event with everything recorded about it.
#[derive(SimpleObject)]
pub struct HistoryEntry {
    pub position: u64,
    pub version: u64,
    pub event_type: String,
    pub recorded_at: DateTime<Utc>,
    pub effective_at: DateTime<Utc>,
    pub actor: ActorRef,
    pub reason: Option<String>,
    pub correlation_id: ID,
    pub causation_id: Option<ID>,
    /// The letter or supplement the event came from, when it says.
    pub origin: Option<String>,
    pub hash: String,
    pub data: Json<serde_json::Value>,
}

#[derive(SimpleObject)]
pub struct FieldChangeView {
    pub path: String,
    pub before: Option<Json<serde_json::Value>>,
    pub after: Option<Json<serde_json::Value>>,
}

impl From<FieldChange> for FieldChangeView {
    fn from(c: FieldChange) -> Self {
        FieldChangeView {
            path: c.path,
            before: c.before.map(Json),
            after: c.after.map(Json),
        }
    }
}

#[derive(SimpleObject)]
pub struct TrailEntryView {
    pub position: u64,
    pub recorded_at: DateTime<Utc>,
    pub effective_at: DateTime<Utc>,
    pub actor: ActorRef,
    pub reason: Option<String>,
    pub kind: String,
    pub part: Option<String>,
    pub deadline_before: Option<String>,
    pub deadline_after: Option<String>,
    pub source: Option<String>,
    pub detail: String,
}

impl From<TrailEntry> for TrailEntryView {
    fn from(t: TrailEntry) -> Self {
        TrailEntryView {
            position: t.position,
            recorded_at: t.recorded_at,
            effective_at: t.effective_at,
            actor: t.actor.into(),
            reason: t.reason,
            kind: t.kind,
            part: t.part,
            deadline_before: t.deadline_before,
            deadline_after: t.deadline_after,
            source: t.source,
            detail: t.detail,
        }
    }
}

/// A correspondence item in the public journal (*offentlig journal*): content withheld when
/// it is exempt from public disclosure.
#[derive(SimpleObject)]
pub struct JournalEntry {
    pub id: ID,
    pub kind: String,
    pub title: String,
    pub date: Date,
    pub from: String,
    pub to: String,
    /// The legal basis when exempt (*unntatt offentlighet*), e.g. "offl. § 15".
    pub exempt: Option<String>,
    /// The content; `null` when exempt.
    pub content: Option<Json<serde_json::Value>>,
}

/// The outcome of walking the whole hash chain (`verify_chain` from position 1).
#[derive(SimpleObject)]
pub struct ChainVerificationView {
    /// True when every link and hash holds and the head row agrees with the last event.
    pub intact: bool,
    pub events_checked: u64,
    /// The last position checked and found intact.
    pub verified_to: u64,
    /// The position of the first fault, when there is one.
    pub broken_at: Option<u64>,
    /// What the first fault is, in words.
    pub fault: Option<String>,
    /// When this run finished (the server's clock).
    pub checked_at: DateTime<Utc>,
}

pub struct AuditQueries;

impl AuditQueries {
    pub async fn history(
        ctx: &Context<'_>,
        stream_type: String,
        stream_id: ID,
        as_of: Option<DateTime<Utc>>,
        effective_by: Option<DateTime<Utc>>,
    ) -> Result<Vec<HistoryEntry>> {
        let stream = StreamId::new(stream_type, stream_id.as_str())
            .map_err(|e| error::validation("streamType", e.to_string()))?;
        require_visible(ctx, &stream).await?;
        let at = view(ctx, as_of, effective_by).await?;
        let workflow = ctx.data_unchecked::<Workflow>();
        let events = workflow
            .history(&stream, Some(&at))
            .await
            .map_err(error::workflow)?;
        Ok(events
            .into_iter()
            .map(|e| HistoryEntry {
                position: e.position,
                version: e.version,
                origin: styr_workflow::audit::origin_of(&e.payload),
                event_type: e.event_type,
                recorded_at: e.recorded_at,
                effective_at: e.effective_at,
                actor: e.actor.into(),
                reason: e.reason,
                correlation_id: ID(e.correlation_id.to_string()),
                causation_id: e.causation_id.map(|c| ID(c.to_string())),
                hash: e.hash,
                data: Json(e.payload),
            })
            .collect())
    }

    pub async fn assignment_as_of(
        ctx: &Context<'_>,
        id: ID,
        as_of: DateTime<Utc>,
        effective_by: Option<DateTime<Utc>>,
    ) -> Result<AssignmentView> {
        let stream = StreamId::new("assignment", id.as_str())
            .map_err(|e| error::validation("id", e.to_string()))?;
        require_visible(ctx, &stream).await?;
        let at = view(ctx, Some(as_of), effective_by).await?;
        let workflow = ctx.data_unchecked::<Workflow>();
        let (state, _) = workflow
            .load_as_of::<Assignment>(&id, &at)
            .await
            .map_err(error::workflow)?;
        let details = state.details.ok_or_else(|| {
            error::not_found(format!("assignment {} did not exist then", id.as_str()))
        })?;
        Ok(AssignmentView {
            details,
            stream_id: id.to_string(),
        })
    }

    /// A letter as the log knew it at `asOf` (optionally only what had taken effect by
    /// `effectiveBy`); the letter's parties and auditors only.
    pub async fn letter_as_of(
        ctx: &Context<'_>,
        id: ID,
        as_of: DateTime<Utc>,
        effective_by: Option<DateTime<Utc>>,
    ) -> Result<LetterView> {
        let stream = StreamId::new("allocation_letter", id.as_str())
            .map_err(|e| error::validation("id", e.to_string()))?;
        require_visible(ctx, &stream).await?;
        let at = view(ctx, Some(as_of), effective_by).await?;
        let workflow = ctx.data_unchecked::<Workflow>();
        let (state, _) = workflow
            .load_as_of::<AllocationLetter>(&id, &at)
            .await
            .map_err(error::workflow)?;
        let details = state.details.ok_or_else(|| {
            error::not_found(format!("letter {} did not exist then", id.as_str()))
        })?;
        Ok(LetterView {
            id: id.to_string(),
            details,
        })
    }

    /// Auditors only: walks the whole log and reports whether the hash chain holds. The
    /// walk reads every event, so it is not offered to every role on every page view.
    pub async fn chain_verification(ctx: &Context<'_>) -> Result<ChainVerificationView> {
        if actor(ctx)?.role != Role::Auditor {
            return Err(error::forbidden("only auditors verify the chain"));
        }
        let workflow = ctx.data_unchecked::<Workflow>();
        let report = workflow
            .store()
            .verify_chain(1, |_, _| {})
            .await
            .map_err(|e| error::workflow(e.into()))?;
        Ok(ChainVerificationView {
            intact: report.is_intact(),
            events_checked: report.events_checked,
            verified_to: report.verified_to,
            broken_at: report.first_break.as_ref().map(|b| b.position),
            fault: report.first_break.as_ref().map(|b| b.fault.to_string()),
            checked_at: workflow.now(),
        })
    }

    pub async fn board_as_of(
        ctx: &Context<'_>,
        as_of: DateTime<Utc>,
        effective_by: Option<DateTime<Utc>>,
        filter: Option<BoardFilterInput>,
    ) -> Result<Vec<BoardItem>> {
        let scope = scope(actor(ctx)?)?;
        let at = view(ctx, Some(as_of), effective_by).await?;
        let workflow = ctx.data_unchecked::<Workflow>();
        let filter = filter.map(|f| f.to_filter()).unwrap_or_default();
        let rows = workflow
            .board_as_of(&at, &scope, &filter, BoardSort::Reference, oslo_date(as_of))
            .await
            .map_err(error::workflow)?;
        Ok(rows.into_iter().map(BoardItem::from).collect())
    }

    pub async fn diff(
        ctx: &Context<'_>,
        stream_type: &str,
        id: ID,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<FieldChangeView>> {
        let stream = StreamId::new(stream_type, id.as_str())
            .map_err(|e| error::validation("id", e.to_string()))?;
        require_visible(ctx, &stream).await?;
        let before = view(ctx, Some(from), None).await?;
        let after = view(ctx, Some(to), None).await?;
        let workflow = ctx.data_unchecked::<Workflow>();
        let changes = match stream_type {
            "assignment" => workflow.diff::<Assignment>(&id, &before, &after).await,
            _ => {
                workflow
                    .diff::<AllocationLetter>(&id, &before, &after)
                    .await
            }
        }
        .map_err(error::workflow)?;
        Ok(changes.into_iter().map(FieldChangeView::from).collect())
    }

    pub async fn decision_trail(
        ctx: &Context<'_>,
        id: ID,
        as_of: Option<DateTime<Utc>>,
    ) -> Result<Vec<TrailEntryView>> {
        let stream = StreamId::new("assignment", id.as_str())
            .map_err(|e| error::validation("id", e.to_string()))?;
        require_visible(ctx, &stream).await?;
        let at = view(ctx, as_of, None).await?;
        let workflow = ctx.data_unchecked::<Workflow>();
        let trail = workflow
            .decision_trail(&id, &at)
            .await
            .map_err(error::workflow)?;
        Ok(trail.into_iter().map(TrailEntryView::from).collect())
    }

    pub async fn completeness(
        ctx: &Context<'_>,
        from: Date,
        to: Date,
        agency: Option<String>,
    ) -> Result<Json<CompletenessReport>> {
        if from.0 > to.0 {
            return Err(error::validation("from", "from is after to"));
        }
        let scope = scope(actor(ctx)?)?;
        let workflow = ctx.data_unchecked::<Workflow>();
        let report = workflow
            .completeness(
                &scope,
                agency.as_deref(),
                from.0,
                to.0,
                workflow.copy_channels(),
            )
            .await
            .map_err(error::workflow)?;
        Ok(Json(report))
    }

    /// Open to anyone, signed in or not: what the public may know of the correspondence.
    pub async fn public_journal(
        ctx: &Context<'_>,
        from: Date,
        to: Date,
    ) -> Result<Vec<JournalEntry>> {
        if from.0 > to.0 {
            return Err(error::validation("from", "from is after to"));
        }
        let workflow = ctx.data_unchecked::<Workflow>();
        let items = workflow
            .correspondence(&Scope::All, None, from.0, to.0)
            .await
            .map_err(error::workflow)?;
        let mut out = Vec::new();
        for (id, d) in items
            .into_iter()
            .filter(|(_, d)| d.registered.ministry.is_some())
        {
            let exempt = d
                .exemption
                .as_ref()
                .map(|e| e.legal_basis.as_str().to_owned());
            out.push(JournalEntry {
                id: ID(id),
                kind: format!("{:?}", d.registered.kind),
                title: if exempt.is_some() {
                    format!("{} (unntatt offentlighet)", d.registered.kind.label())
                } else {
                    d.registered.title.clone()
                },
                date: Date(oslo_date(d.registered.occurred_at)),
                from: d.registered.from.to_string(),
                to: d.registered.to.to_string(),
                content: exempt.is_none().then(|| Json(d.registered.content.clone())),
                exempt,
            });
        }
        Ok(out)
    }
}

/// A correspondence item as its parties and auditors see it.
#[derive(SimpleObject)]
pub struct CorrespondencePayload {
    pub id: ID,
    pub exempt: Option<String>,
    #[graphql(flatten)]
    pub receipt: CommandReceipt,
}

#[derive(Default)]
pub struct AuditMutation;

async fn correspondence_command(
    ctx: &Context<'_>,
    id: &str,
    command: CorrespondenceCommand,
    options: Option<CommandOptions>,
) -> Result<CorrespondencePayload> {
    let stream =
        StreamId::new("correspondence", id).map_err(|e| error::validation("id", e.to_string()))?;
    require_visible(ctx, &stream).await?;
    let outcome = run::<Correspondence>(ctx, id, command, options).await?;
    let workflow = ctx.data_unchecked::<Workflow>();
    let (item, _) = workflow
        .load::<Correspondence>(id)
        .await
        .map_err(error::workflow)?;
    Ok(CorrespondencePayload {
        id: ID(id.to_owned()),
        exempt: item
            .details
            .and_then(|d| d.exemption.map(|e| e.legal_basis.as_str().to_owned())),
        receipt: CommandReceipt::from(&outcome),
    })
}

#[Object]
impl AuditMutation {
    /// Ministry or agency of the item: mark it exempt from public disclosure (*unntatt
    /// offentlighet*) with its legal basis. Auditors still see the content.
    async fn mark_correspondence_exempt(
        &self,
        ctx: &Context<'_>,
        id: ID,
        legal_basis: String,
        options: Option<CommandOptions>,
    ) -> Result<CorrespondencePayload> {
        correspondence_command(
            ctx,
            &id,
            CorrespondenceCommand::MarkExempt { legal_basis },
            options,
        )
        .await
    }

    async fn lift_correspondence_exemption(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: String,
        options: Option<CommandOptions>,
    ) -> Result<CorrespondencePayload> {
        correspondence_command(
            ctx,
            &id,
            CorrespondenceCommand::LiftExemption { reason },
            options,
        )
        .await
    }

    /// Agency: register a letter sent to or received from Riksrevisjonen; a copy is owed to
    /// the ministry.
    #[allow(clippy::too_many_arguments)]
    async fn register_correspondence_with_riksrevisjonen(
        &self,
        ctx: &Context<'_>,
        ministry: String,
        title: String,
        outgoing: bool,
        content: Json<serde_json::Value>,
        occurred_at: DateTime<Utc>,
        options: Option<CommandOptions>,
    ) -> Result<CorrespondencePayload> {
        let me = actor(ctx)?.clone();
        let ministry = crate::command::parse("ministry", OrgCode::parse(&ministry))?;
        let sha = styr_workflow::copies::content_sha256(&content.0);
        // A retry with the same command id names the same item.
        let id = match options.as_ref().and_then(|o| o.command_id.as_ref()) {
            Some(c) => uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, c.as_bytes()),
            None => uuid::Uuid::now_v7(),
        }
        .to_string();
        let command = CorrespondenceCommand::RegisterWithRiksrevisjonen {
            ministry,
            agency: me.organisation.clone(),
            outgoing,
            title,
            content: content.0,
            content_sha256: sha,
            occurred_at,
        };
        let outcome = run::<Correspondence>(ctx, &id, command, options).await?;
        Ok(CorrespondencePayload {
            id: ID(id),
            exempt: None,
            receipt: CommandReceipt::from(&outcome),
        })
    }
}
