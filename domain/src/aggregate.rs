//! Owns the contract between the pure domain and the workflow: the [`Aggregate`] and
//! [`DomainEvent`] traits, the [`CommandContext`] (who acts, when, and where new ids come
//! from) and the [`Actor`] with its [`Role`].

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use uuid::Uuid;

use crate::error::{DomainError, EventDecodeError};
use crate::values::{DepartmentCode, OrgCode};

/// An event-sourced aggregate: `decide` turns a command into events (or refuses it);
/// `evolve` folds one event into the state. Both are pure.
pub trait Aggregate: Default + Clone + std::fmt::Debug {
    /// The stream type in the event store, `[a-z][a-z0-9_]*`.
    const STREAM_TYPE: &'static str;
    type Command;
    type Event: DomainEvent + Clone + std::fmt::Debug + PartialEq;

    fn decide(
        &self,
        command: Self::Command,
        ctx: &CommandContext,
    ) -> Result<Vec<Self::Event>, DomainError>;

    fn evolve(&mut self, event: &Self::Event);

    /// Rebuild a state from its history.
    fn replay<'a>(events: impl IntoIterator<Item = &'a Self::Event>) -> Self
    where
        Self::Event: 'a,
    {
        let mut state = Self::default();
        for event in events {
            state.evolve(event);
        }
        state
    }
}

/// An event as the store sees it: a type name, a schema version and a JSON payload.
pub trait DomainEvent: Sized {
    /// Past tense, e.g. `"AssignmentIssued"`.
    fn event_type(&self) -> &'static str;
    fn schema_version(&self) -> u32;
    fn to_payload(&self) -> serde_json::Value;
    /// Upcaster path: older schema versions of an event type still load.
    fn from_stored(
        event_type: &str,
        schema_version: u32,
        payload: serde_json::Value,
    ) -> Result<Self, EventDecodeError>;

    /// [`Self::from_stored`] from the payload's JSON text. An event at its type's current
    /// schema version needs no upcasting and is read straight from the text, without the
    /// intermediate `serde_json::Value` (most of the cost of replaying a stream).
    fn from_stored_text(
        event_type: &str,
        schema_version: u32,
        payload: &str,
    ) -> Result<Self, EventDecodeError> {
        let payload = serde_json::from_str(payload).map_err(|e| malformed(event_type, &e))?;
        Self::from_stored(event_type, schema_version, payload)
    }
}

pub(crate) fn malformed(event_type: &str, e: &serde_json::Error) -> EventDecodeError {
    EventDecodeError::MalformedPayload {
        event_type: event_type.to_string(),
        message: e.to_string(),
    }
}

/// Serde helpers shared by the event enums' `DomainEvent` impls.
pub(crate) fn payload_of<T: Serialize>(value: &T) -> serde_json::Value {
    // Event payload types are plain data (no maps with non-string keys), so this cannot fail.
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

pub(crate) fn decode<T: DeserializeOwned>(
    event_type: &str,
    payload: serde_json::Value,
) -> Result<T, EventDecodeError> {
    serde_json::from_value(payload).map_err(|e| malformed(event_type, &e))
}

pub(crate) fn unsupported(event_type: &str, schema_version: u32) -> EventDecodeError {
    EventDecodeError::UnsupportedSchemaVersion {
        event_type: event_type.to_string(),
        schema_version,
    }
}

/// What a user is allowed to be in the product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A desk officer (*saksbehandler*) in the governing ministry.
    Ministry,
    /// An agency coordinator.
    Agency,
    /// Riksrevisjonen: reads and replays, never mutates.
    Auditor,
    /// Manages reference data only.
    Admin,
}

/// The authenticated user behind a command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// Stable subject from the identity provider.
    pub subject: String,
    pub display_name: String,
    pub role: Role,
    /// The ministry or agency the user works for.
    pub organisation: OrgCode,
    /// The ministry department (*avdeling*), for ministry users.
    pub department: Option<DepartmentCode>,
}

impl Actor {
    pub fn new(
        subject: impl Into<String>,
        display_name: impl Into<String>,
        role: Role,
        organisation: OrgCode,
        department: Option<DepartmentCode>,
    ) -> Self {
        Actor {
            subject: subject.into(),
            display_name: display_name.into(),
            role,
            organisation,
            department,
        }
    }

    /// Refused unless the actor is a ministry user of `ministry`.
    pub fn require_ministry(&self, ministry: &OrgCode, action: &str) -> Result<(), DomainError> {
        self.require(Role::Ministry, ministry, action)
    }

    /// Refused unless the actor is an agency user of `agency`.
    pub fn require_agency(&self, agency: &OrgCode, action: &str) -> Result<(), DomainError> {
        self.require(Role::Agency, agency, action)
    }

    /// Refused unless the actor is an admin.
    pub fn require_admin(&self, action: &str) -> Result<(), DomainError> {
        if self.role == Role::Admin {
            Ok(())
        } else {
            Err(DomainError::forbidden(format!(
                "only an administrator may {action}"
            )))
        }
    }

    fn require(&self, role: Role, org: &OrgCode, action: &str) -> Result<(), DomainError> {
        match self.role {
            Role::Auditor => Err(DomainError::forbidden(format!(
                "auditors have read-only access and cannot {action}"
            ))),
            Role::Admin => Err(DomainError::forbidden(format!(
                "administrators manage reference data only and cannot {action}"
            ))),
            r if r != role => Err(DomainError::forbidden(format!(
                "only {} users may {action}",
                match role {
                    Role::Ministry => "ministry",
                    Role::Agency => "agency",
                    Role::Auditor => "auditor",
                    Role::Admin => "admin",
                }
            ))),
            _ if &self.organisation != org => Err(DomainError::forbidden(format!(
                "only users of {org} may {action}; you act for {}",
                self.organisation
            ))),
            _ => Ok(()),
        }
    }

    /// The part of the actor that events record (who did it).
    pub fn by(&self) -> By {
        By {
            subject: self.subject.clone(),
            display_name: self.display_name.clone(),
            organisation: self.organisation.clone(),
        }
    }
}

/// Who did something, as recorded inside events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct By {
    pub subject: String,
    pub display_name: String,
    pub organisation: OrgCode,
}

/// Everything a decision may depend on besides state and command: the actor, the time, and a
/// deterministic source of new ids. The same context gives the same ids, so a retried command
/// with the same seed produces the same events.
#[derive(Debug)]
pub struct CommandContext {
    pub actor: Actor,
    pub now: DateTime<Utc>,
    id_seed: Uuid,
    issued_ids: AtomicU64,
}

impl Clone for CommandContext {
    fn clone(&self) -> Self {
        CommandContext {
            actor: self.actor.clone(),
            now: self.now,
            id_seed: self.id_seed,
            issued_ids: AtomicU64::new(self.issued_ids.load(Ordering::SeqCst)),
        }
    }
}

impl CommandContext {
    /// `id_seed` should be fresh per command (e.g. a v7 uuid, or the client's command id so
    /// that a retry derives the same ids).
    pub fn new(actor: Actor, now: DateTime<Utc>, id_seed: Uuid) -> Self {
        CommandContext {
            actor,
            now,
            id_seed,
            issued_ids: AtomicU64::new(0),
        }
    }

    /// The next new id: derived from the seed and a counter, so deterministic.
    pub fn next_id(&self) -> Uuid {
        let n = self.issued_ids.fetch_add(1, Ordering::SeqCst) + 1;
        let mixed = splitmix(self.id_seed.as_u128() ^ u128::from(n).wrapping_mul(MIX));
        // Mark as RFC 4122 variant, version 8 (custom).
        let bytes = mixed.to_be_bytes();
        uuid::Builder::from_custom_bytes(bytes).into_uuid()
    }

    /// Today's calendar date in Europe/Oslo (deadlines are Oslo calendar dates).
    pub fn today_oslo(&self) -> NaiveDate {
        oslo_date(self.now)
    }
}

const MIX: u128 = 0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835;

fn splitmix(mut x: u128) -> u128 {
    x ^= x >> 67;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9_94D0_49BB_1331_11EB);
    x ^= x >> 61;
    x = x.wrapping_mul(MIX);
    x ^ (x >> 63)
}

/// The calendar date in Europe/Oslo at instant `now`.
pub fn oslo_date(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&chrono_tz::Europe::Oslo).date_naive()
}

/// The upcaster for event enums that have never changed shape.
pub(crate) fn no_upcast(
    _event_type: &str,
    schema_version: u32,
    payload: serde_json::Value,
) -> Result<(u32, serde_json::Value), EventDecodeError> {
    Ok((schema_version, payload))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn actor() -> Actor {
        Actor::new(
            "u1",
            "Kari",
            Role::Ministry,
            OrgCode::parse("HOD").unwrap(),
            None,
        )
    }

    #[test]
    fn given_same_seed_when_ids_drawn_then_same_sequence_and_distinct() {
        let now = Utc.with_ymd_and_hms(2024, 2, 5, 9, 0, 0).unwrap();
        let a = CommandContext::new(actor(), now, Uuid::from_u128(42));
        let b = CommandContext::new(actor(), now, Uuid::from_u128(42));
        let xs: Vec<Uuid> = (0..5).map(|_| a.next_id()).collect();
        let ys: Vec<Uuid> = (0..5).map(|_| b.next_id()).collect();
        assert_eq!(xs, ys);
        let mut dedup = xs.clone();
        dedup.sort();
        dedup.dedup();
        assert_eq!(dedup.len(), 5);
        let c = CommandContext::new(actor(), now, Uuid::from_u128(43));
        assert_ne!(c.next_id(), xs[0]);
    }

    #[test]
    fn given_late_evening_utc_when_oslo_date_then_next_day() {
        // 23:30 UTC on 31 Dec is 00:30 on 1 Jan in Oslo (UTC+1 in winter).
        let now = Utc.with_ymd_and_hms(2024, 12, 31, 23, 30, 0).unwrap();
        assert_eq!(oslo_date(now), NaiveDate::from_ymd_opt(2025, 1, 1).unwrap());
        // 21:30 UTC in June is 23:30 Oslo (UTC+2), same day.
        let summer = Utc.with_ymd_and_hms(2024, 6, 30, 21, 30, 0).unwrap();
        assert_eq!(
            oslo_date(summer),
            NaiveDate::from_ymd_opt(2024, 6, 30).unwrap()
        );
    }

    #[test]
    fn given_auditor_when_mutating_then_forbidden() {
        let mut a = actor();
        a.role = Role::Auditor;
        let err = a
            .require_ministry(&OrgCode::parse("HOD").unwrap(), "issue")
            .unwrap_err();
        assert!(matches!(err, DomainError::Forbidden(m) if m.contains("read-only")));
    }

    #[test]
    fn given_other_ministry_when_acting_then_forbidden() {
        let err = actor()
            .require_ministry(&OrgCode::parse("FIN").unwrap(), "issue")
            .unwrap_err();
        assert!(matches!(err, DomainError::Forbidden(m) if m.contains("FIN")));
    }
}
