//! Test data: assignments built by the domain's own `decide` (the issue, the Deadline stream
//! the workflow adds for each dated part, status reports by the agency), written with the
//! store's multi-stream batch append — many assignments per append — because a million
//! events through the one-command-at-a-time path would take most of an hour here.
//!
//! Not written: the Correspondence copy the workflow adds beside each status report (see
//! BENCHMARKS.md: with no delivery channel configured the delivery worker re-reads every
//! copy on each pass, which would dominate every server benchmark on a large log).

use std::ops::Range;
use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, Utc};
use styr_domain::assignment::{
    Assignment, AssignmentCommand, AssignmentSource, IssueAssignment, PartSpec, ReportStatus,
};
use styr_domain::deadline::{Deadline, follow_ups};
use styr_domain::{
    Actor, Aggregate, AssignmentId, AssignmentReference, CommandContext, DeadlineTerm,
    DepartmentCode, DomainEvent, OrgCode, PartLabel, Period, Role, TrafficLight, Year,
};
use styr_eventstore::{
    EventMetadata, EventStore, ExpectedVersion, NewEvent, StreamAppend, StreamId,
};
use styr_workflow::role_name;
use uuid::Uuid;

pub const MINISTRY: &str = "HOD";
/// Assignments are spread over this many agencies, `AG00` … `AG09`.
pub const AGENCIES: usize = 10;
/// Events per store append while seeding (the PostgreSQL append binds 19 parameters per
/// event and PostgreSQL allows 65,535 per statement, so one append must stay under 3,449).
const EVENTS_PER_APPEND: usize = 1000;

const NAMESPACE: Uuid = Uuid::from_u128(0x7b3c_51a2_9d0e_4f6a_8c21_3e5f_0a9b_c7d4);

/// The stream id of the `i`th seeded assignment: the same on every run.
pub fn assignment_id(i: usize) -> String {
    Uuid::new_v5(&NAMESPACE, &(i as u64).to_be_bytes()).to_string()
}

pub fn agency(i: usize) -> String {
    format!("AG{:02}", i % AGENCIES)
}

/// The year the seeded assignments belong to (this year, so no deadline has passed).
pub fn year() -> i32 {
    Utc::now().year()
}

/// The data set's shape: which assignments, and how many status reports each has.
#[derive(Debug, Clone)]
pub struct Shape {
    pub assignments: Range<usize>,
    pub reports: usize,
}

/// What seeding wrote and how fast.
#[derive(Debug, Clone, Copy)]
pub struct Seeded {
    pub events: u64,
    pub elapsed: Duration,
}

/// Writes the assignments of `shape`; generation runs on a blocking thread while the
/// appends run here.
pub async fn seed(store: &EventStore, shape: Shape) -> anyhow::Result<Seeded> {
    let started = Instant::now();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<StreamAppend>>(4);
    let generator = tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let now = Utc::now();
        let mut pending = Vec::new();
        let mut pending_events = 0;
        for i in shape.assignments {
            for append in assignment_appends(i, shape.reports, now)?.0 {
                pending_events += append.events.len();
                pending.push(append);
            }
            if pending_events >= EVENTS_PER_APPEND {
                pending_events = 0;
                if tx.blocking_send(std::mem::take(&mut pending)).is_err() {
                    return Ok(());
                }
            }
        }
        if !pending.is_empty() {
            let _ = tx.blocking_send(pending);
        }
        Ok(())
    });
    let mut events = 0;
    while let Some(batch) = rx.recv().await {
        events += store.append(batch).await?.events.len() as u64;
    }
    generator.await??;
    Ok(Seeded {
        events,
        elapsed: started.elapsed(),
    })
}

/// One assignment with `reports` status reports on a single stream, appended in pieces
/// (for the long-stream replay).
pub async fn seed_long_stream(store: &EventStore, i: usize, reports: usize) -> anyhow::Result<u64> {
    let now = Utc::now();
    let (appends, state) = assignment_appends(i, 0, now)?;
    let mut events = store.append(appends).await?.events.len() as u64;
    let stream = StreamId::new(Assignment::STREAM_TYPE, assignment_id(i))?;
    let agency_actor = actor(Role::Agency, &agency(i))?;
    let mut version = 1;
    let mut r = 0;
    while r < reports {
        let n = (reports - r).min(EVENTS_PER_APPEND);
        let command_id = Uuid::now_v7();
        let batch: Vec<NewEvent> = (r..r + n)
            .map(|k| {
                let e = report_event(k, &state, &agency_actor, now)?;
                Ok(new_event(&e, &agency_actor, command_id))
            })
            .collect::<anyhow::Result<_>>()?;
        let outcome = store
            .append(vec![StreamAppend {
                stream: stream.clone(),
                expected: ExpectedVersion(version),
                events: batch,
            }])
            .await?;
        events += outcome.events.len() as u64;
        version += n as u64;
        r += n;
    }
    Ok(events)
}

fn actor(role: Role, org: &str) -> anyhow::Result<Actor> {
    let (subject, name, department) = match role {
        Role::Ministry => (
            "bench-ministry-officer",
            "Kari Saksbehandler",
            Some(DepartmentCode::parse("FHA")?),
        ),
        _ => ("bench-agency-coordinator", "Ola Koordinator", None),
    };
    Ok(Actor::new(
        subject,
        name,
        role,
        OrgCode::parse(org)?,
        department,
    ))
}

/// The appends that issue assignment `i` (with its Deadline stream) and add `reports`
/// status reports, exactly as the workflow would decide them.
fn assignment_appends(
    i: usize,
    reports: usize,
    now: DateTime<Utc>,
) -> anyhow::Result<(Vec<StreamAppend>, Assignment)> {
    let ministry = actor(Role::Ministry, MINISTRY)?;
    let agency_code = agency(i);
    let id = assignment_id(i);
    let command_id = Uuid::now_v7();
    let ctx = CommandContext::new(ministry.clone(), now, command_id);
    let today = ctx.today_oslo();
    let due = today + chrono::Days::new(60 + (i % 300) as u64);
    let y = year();
    let issue = IssueAssignment {
        assignment_id: AssignmentId(Uuid::parse_str(&id)?),
        reference: Some(AssignmentReference::parse(&format!(
            "TB{y}-{}",
            i % 999 + 1
        ))?),
        ministry: OrgCode::parse(MINISTRY)?,
        agency: OrgCode::parse(&agency_code)?,
        year: Year::new(y)?,
        department: Some(DepartmentCode::parse("FHA")?),
        title: format!("Utrede tiltak {i} for bedre folkehelse og forebygging"),
        description: "Utrede og foreslå regulering, med vurdering av økonomiske og \
                      administrative konsekvenser, i samarbeid med berørte etater."
            .to_owned(),
        goal: Some(format!("2.{}", i % 4 + 1)),
        source: AssignmentSource::Letter,
        parts: vec![
            PartSpec {
                label: Some(PartLabel::parse("a")?),
                title: None,
                deadline: DeadlineTerm::Date(due),
            },
            PartSpec {
                label: Some(PartLabel::parse("b")?),
                title: None,
                deadline: DeadlineTerm::ToBeAgreed,
            },
        ],
        collaborators: Vec::new(),
        carried_over_from: None,
    };
    let mut state = Assignment::default();
    let issued = state
        .decide(AssignmentCommand::Issue(Box::new(issue)), &ctx)
        .map_err(|e| anyhow::anyhow!("issue {i}: {e}"))?;
    let mut appends = Vec::new();
    let mut assignment_events = Vec::new();
    for event in &issued {
        for (deadline_id, command) in follow_ups(&state, event) {
            let deadline = Deadline::default()
                .decide(command, &ctx)
                .map_err(|e| anyhow::anyhow!("deadline of {i}: {e}"))?;
            appends.push(StreamAppend {
                stream: StreamId::new(Deadline::STREAM_TYPE, deadline_id.to_string())?,
                expected: ExpectedVersion::NO_STREAM,
                events: deadline
                    .iter()
                    .map(|e| new_event(e, &ministry, command_id))
                    .collect(),
            });
        }
        state.evolve(event);
        assignment_events.push(new_event(event, &ministry, command_id));
    }
    let agency_actor = actor(Role::Agency, &agency_code)?;
    for r in 0..reports {
        let e = report_event(r, &state, &agency_actor, now)?;
        state.evolve(&e);
        assignment_events.push(new_event(&e, &agency_actor, Uuid::now_v7()));
    }
    appends.insert(
        0,
        StreamAppend {
            stream: StreamId::new(Assignment::STREAM_TYPE, id)?,
            expected: ExpectedVersion::NO_STREAM,
            events: assignment_events,
        },
    );
    Ok((appends, state))
}

/// The `r`th status report: mostly green, every fifth yellow with cause and action.
fn report_event(
    r: usize,
    state: &Assignment,
    agency_actor: &Actor,
    now: DateTime<Utc>,
) -> anyhow::Result<<Assignment as Aggregate>::Event> {
    let period = [Period::Tertial1, Period::Tertial2, Period::Year][r % 3];
    let yellow = r % 5 == 4;
    let report = ReportStatus {
        period,
        light: if yellow {
            TrafficLight::Yellow
        } else {
            TrafficLight::Green
        },
        progress: format!(
            "Arbeidet går etter planen; delrapport {r} er oversendt departementet og \
             innspill fra høringsinstansene er innarbeidet."
        ),
        cause_and_consequence: yellow
            .then(|| "Forsinket datagrunnlag fra de regionale helseforetakene.".to_owned()),
        corrective_action: yellow.then(|| "Ny innhenting avtalt med frist om tre uker.".to_owned()),
        year_end_phrase: None,
        normalised: None,
    };
    let ctx = CommandContext::new(agency_actor.clone(), now, Uuid::now_v7());
    let mut events = state
        .decide(AssignmentCommand::ReportStatus(Box::new(report)), &ctx)
        .map_err(|e| anyhow::anyhow!("report {r}: {e}"))?;
    events
        .pop()
        .ok_or_else(|| anyhow::anyhow!("a status report decided no event"))
}

fn new_event<E: DomainEvent>(event: &E, actor: &Actor, command_id: Uuid) -> NewEvent {
    NewEvent {
        event_id: Uuid::now_v7(),
        event_type: event.event_type().to_owned(),
        schema_version: event.schema_version(),
        payload: event.to_payload(),
        metadata: EventMetadata {
            actor: styr_eventstore::Actor {
                subject: actor.subject.clone(),
                display_name: actor.display_name.clone(),
                role: role_name(actor.role).to_owned(),
                organisation: actor.organisation.to_string(),
            },
            reason: None,
            correlation_id: command_id,
            causation_id: Some(command_id),
            effective_at: None,
        },
    }
}
