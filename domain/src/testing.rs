//! Owns the given / when / then fixture for aggregate tests (after cqrs-es's TestFramework),
//! plus ready-made actors and contexts. Public so other crates' tests can use it.
//!
//! ```
//! # use styr_domain::testing::*;
//! # use styr_domain::assignment::*;
//! # use styr_domain::DomainErrorKind;
//! TestFramework::<Assignment>::with(ministry_ctx("HOD"))
//!     .given_no_previous_events()
//!     .when(AssignmentCommand::Cancel {
//!         reason: "no longer needed".into(),
//!         source: ChangeSource::Direct,
//!     })
//!     .then_expect_error_kind(DomainErrorKind::NotFound);
//! ```

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use uuid::Uuid;

use crate::aggregate::{Actor, Aggregate, CommandContext, DomainEvent, Role};
use crate::error::{DomainError, DomainErrorKind};
use crate::values::{DepartmentCode, OrgCode, PartLabel, Year};

/// Given past events, when a command, then expected events or error.
pub struct TestFramework<A: Aggregate> {
    ctx: CommandContext,
    state: A,
}

impl<A: Aggregate> TestFramework<A> {
    pub fn with(ctx: CommandContext) -> Self {
        TestFramework {
            ctx,
            state: A::default(),
        }
    }

    pub fn given_no_previous_events(self) -> Self {
        self
    }

    /// Past events, applied in order. Each also round-trips through the stored form, so a
    /// fixture cannot use an event the store could not load.
    pub fn given(mut self, events: Vec<A::Event>) -> Self {
        for e in &events {
            assert_round_trips(e);
            self.state.evolve(e);
        }
        self
    }

    pub fn when(self, command: A::Command) -> TestOutcome<A> {
        let result = self.state.decide(command, &self.ctx);
        TestOutcome {
            state: self.state,
            result,
        }
    }
}

/// The result of `when`, to be checked with one of the `then_*` methods.
pub struct TestOutcome<A: Aggregate> {
    state: A,
    result: Result<Vec<A::Event>, DomainError>,
}

impl<A: Aggregate> TestOutcome<A> {
    #[track_caller]
    pub fn then_expect_events(self, expected: Vec<A::Event>) -> A {
        match self.result {
            Ok(events) => {
                assert_eq!(events, expected, "emitted events differ from expected");
                let mut state = self.state;
                for e in &events {
                    assert_round_trips(e);
                    state.evolve(e);
                }
                state
            }
            Err(e) => panic!("expected events {expected:?}, got error {e:?}"),
        }
    }

    #[track_caller]
    pub fn then_expect_error(self, expected: DomainError) {
        match self.result {
            Ok(events) => panic!("expected error {expected:?}, got events {events:?}"),
            Err(e) => assert_eq!(e, expected),
        }
    }

    #[track_caller]
    pub fn then_expect_error_kind(self, kind: DomainErrorKind) -> DomainError {
        match self.result {
            Ok(events) => panic!("expected a {kind:?} error, got events {events:?}"),
            Err(e) => {
                assert_eq!(e.kind(), kind, "wrong error kind: {e:?}");
                e
            }
        }
    }

    /// A validation error naming `field`.
    #[track_caller]
    pub fn then_expect_validation_of(self, field: &str) {
        match self.then_expect_error_kind(DomainErrorKind::Validation) {
            DomainError::Validation { field: f, .. } => assert_eq!(f, field),
            other => panic!("expected validation of {field}, got {other:?}"),
        }
    }

    /// An error of `kind` whose message contains `needle`.
    #[track_caller]
    pub fn then_expect_error_containing(self, kind: DomainErrorKind, needle: &str) {
        let e = self.then_expect_error_kind(kind);
        assert!(
            e.to_string().contains(needle),
            "error {e} does not mention {needle:?}"
        );
    }

    /// The raw result, for assertions the helpers do not cover.
    pub fn inspect_result(self) -> Result<Vec<A::Event>, DomainError> {
        self.result
    }

    /// The state after applying the emitted events (panics on error).
    #[track_caller]
    pub fn state_after(self) -> A {
        match self.result {
            Ok(events) => {
                let mut state = self.state;
                for e in &events {
                    state.evolve(e);
                }
                state
            }
            Err(e) => panic!("expected success, got {e:?}"),
        }
    }
}

/// Asserts that `event` survives `to_payload` → `from_stored` unchanged.
#[track_caller]
pub fn assert_round_trips<E: DomainEvent + PartialEq + std::fmt::Debug>(event: &E) {
    let back = E::from_stored(
        event.event_type(),
        event.schema_version(),
        event.to_payload(),
    )
    .unwrap_or_else(|e| panic!("{event:?} does not load back: {e}"));
    assert_eq!(&back, event, "event changed through its stored form");
}

/// 5 February 2024 09:00 UTC, the date of the 2024 letter.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 2, 5, 9, 0, 0).unwrap()
}

/// An organisation code known to be valid, e.g. `org("HOD")`.
pub fn org(code: &str) -> OrgCode {
    OrgCode::parse(code).expect("test organisation code")
}

/// A calendar date known to be valid.
pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("test date")
}

/// 2024, the year of the fixtures' letters.
pub fn year() -> Year {
    Year::new(2024).expect("2024")
}

/// A part label known to be valid, e.g. `label("a")` for part a).
pub fn label(s: &str) -> Option<PartLabel> {
    Some(PartLabel::parse(s).expect("test part label"))
}

pub fn ministry_actor(ministry: &str) -> Actor {
    Actor::new(
        "ministry-officer",
        "Kari Saksbehandler",
        Role::Ministry,
        org(ministry),
        Some(DepartmentCode::parse("SHA").expect("SHA")),
    )
}

pub fn agency_actor(agency: &str) -> Actor {
    Actor::new(
        "agency-coordinator",
        "Ola Koordinator",
        Role::Agency,
        org(agency),
        None,
    )
}

pub fn auditor_actor() -> Actor {
    Actor::new(
        "auditor",
        "Riksrevisjonen revisor",
        Role::Auditor,
        org("RR"),
        None,
    )
}

pub fn admin_actor() -> Actor {
    Actor::new("admin", "Admin", Role::Admin, org("HOD"), None)
}

/// A context at `now` with a fixed id seed, so fixtures can predict new ids.
pub fn ctx_at(actor: Actor, now: DateTime<Utc>) -> CommandContext {
    CommandContext::new(actor, now, Uuid::from_u128(0x5eed))
}

pub fn ministry_ctx(ministry: &str) -> CommandContext {
    ctx_at(ministry_actor(ministry), t0())
}

pub fn agency_ctx(agency: &str) -> CommandContext {
    ctx_at(agency_actor(agency), t0())
}

pub fn auditor_ctx() -> CommandContext {
    ctx_at(auditor_actor(), t0())
}

pub fn admin_ctx() -> CommandContext {
    ctx_at(admin_actor(), t0())
}

/// The `n`-th id (1-based) that [`ctx_at`]'s contexts hand out.
pub fn nth_id(n: usize) -> Uuid {
    let ctx = ctx_at(admin_actor(), t0());
    let mut id = ctx.next_id();
    for _ in 1..n {
        id = ctx.next_id();
    }
    id
}
