//! Running a domain command from a mutation: the caller's identity, the options every
//! mutation takes, input parsing that names the offending field, and read-your-writes.

use async_graphql::{Context, ID, InputObject, Result, SimpleObject};
use chrono::{DateTime, Utc};
use styr_workflow::domain::DomainError;
use styr_workflow::{CommandMeta, CommandOutcome, FollowUps, Workflow};
use uuid::Uuid;

use crate::error;
use crate::viewer::actor;

/// Common to every mutation.
#[derive(InputObject, Clone, Debug, Default)]
pub struct CommandOptions {
    /// Send the same id again to retry safely: the command acts at most once.
    pub command_id: Option<ID>,
    /// Why, in your words; kept with the record.
    pub reason: Option<String>,
    /// When it took effect, if earlier than now (a late registration).
    pub effective_at: Option<DateTime<Utc>>,
}

/// What every mutation reports about its command, beside the changed object.
#[derive(SimpleObject, Clone, Debug)]
pub struct CommandReceipt {
    /// The command's id: send it again to retry safely.
    pub command_id: ID,
    /// The log position of the command's last event.
    pub position: u64,
    /// True when this command id had acted before; nothing new was done.
    pub repeated: bool,
}

impl From<&CommandOutcome> for CommandReceipt {
    fn from(o: &CommandOutcome) -> Self {
        CommandReceipt {
            command_id: ID(o.command_id.to_string()),
            position: o.position(),
            repeated: o.repeated,
        }
    }
}

/// Runs `command` against the aggregate in `stream_id` as the caller, and returns once the
/// read models include it, so the caller's next query sees its effect.
pub async fn run<A>(
    ctx: &Context<'_>,
    stream_id: &str,
    command: A::Command,
    options: Option<CommandOptions>,
) -> Result<CommandOutcome>
where
    A: FollowUps,
    A::Command: Clone,
{
    Ok(run_loaded::<A>(ctx, stream_id, command, options, None)
        .await?
        .0)
}

/// [`run`] from a state the resolver has loaded already; also returns the state after the
/// command when this call wrote it (see [`Workflow::execute_loaded`]).
pub async fn run_loaded<A>(
    ctx: &Context<'_>,
    stream_id: &str,
    command: A::Command,
    options: Option<CommandOptions>,
    loaded: Option<(A, u64)>,
) -> Result<(CommandOutcome, Option<A>)>
where
    A: FollowUps,
    A::Command: Clone,
{
    let workflow = ctx.data_unchecked::<Workflow>();
    let meta = meta(ctx, options)?;
    let (outcome, after) = workflow
        .execute_loaded::<A>(stream_id, command, &meta, loaded)
        .await
        .map_err(error::workflow)?;
    workflow.settle(&outcome).await.map_err(error::workflow)?;
    Ok((outcome, after))
}

/// The command's metadata from the caller and the options, validated.
pub fn meta(ctx: &Context<'_>, options: Option<CommandOptions>) -> Result<CommandMeta> {
    let workflow = ctx.data_unchecked::<Workflow>();
    let options = options.unwrap_or_default();
    let mut meta = CommandMeta::new(actor(ctx)?.clone());
    meta.command_id = options
        .command_id
        .as_ref()
        .map(|c| parse_uuid("options.commandId", c))
        .transpose()?;
    meta.reason = options.reason.filter(|r| !r.trim().is_empty());
    if let Some(at) = options.effective_at {
        if at > workflow.now() {
            return Err(error::validation(
                "options.effectiveAt",
                "cannot be in the future",
            ));
        }
        meta.effective_at = Some(at);
    }
    Ok(meta)
}

/// A value parsed by a domain constructor; its validation error names the input field.
pub fn parse<T>(field: &str, r: std::result::Result<T, DomainError>) -> Result<T> {
    r.map_err(|e| match e {
        DomainError::Validation { message, .. } => error::validation(field, message),
        other => error::domain(other),
    })
}

pub fn parse_uuid(field: &str, id: &ID) -> Result<Uuid> {
    Uuid::parse_str(id.as_str())
        .map_err(|_| error::validation(field, format!("{:?} is not an id", id.as_str())))
}
