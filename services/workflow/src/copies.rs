//! Copies to Riksrevisjonen: every append that writes steering correspondence also registers
//! a [`Correspondence`] item for it (the copy obligation, with the SHA-256 of its content), in
//! the same transaction — so an obligation can never be lost or forgotten. The delivery side
//! ([`crate::delivery`]) sends the items through the configured channels.
//!
//! The content of a copy is a self-contained JSON document: the event as written (type,
//! payload, who, why, effective time) and, for a letter or supplement being issued, the whole
//! record of that letter or supplement up to and including its issue.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use styr_domain::allocation_letter::AllocationLetter;
use styr_domain::assignment::Assignment;
use styr_domain::calendar::SteeringCalendarItem;
use styr_domain::correspondence::{
    Correspondence, CorrespondenceKind, SourceRef, classify, register_copy,
};
use styr_domain::deviation::DeviationReport;
use styr_domain::supplement::Supplement;
use styr_domain::values::OrgCode;
use styr_domain::{Aggregate, By};
use styr_eventstore::{ExpectedVersion, NewEvent, StreamAppend, StreamId, canonical_json};
use uuid::Uuid;

use crate::error::WorkflowError;
use crate::handler::stream_of;
use crate::{CommandMeta, Workflow};

/// Names correspondence streams: the same source event always maps to the same item.
const NAMESPACE: Uuid = Uuid::from_u128(0x5f1c_2b0e_8a47_4c1d_9e55_7c0f_1d2a_3b4c);

/// The stream id of the item that copies the event `event_id`.
pub fn item_id_for(event_id: Uuid) -> Uuid {
    Uuid::new_v5(&NAMESPACE, event_id.as_bytes())
}

/// SHA-256 (hex) of a JSON document's canonical form (keys sorted, no whitespace).
pub fn content_sha256(content: &Value) -> String {
    hex::encode(Sha256::digest(canonical_json(content).as_bytes()))
}

/// Who the correspondence is between, and how to title it.
#[derive(Debug, Clone)]
pub struct Parties {
    pub ministry: OrgCode,
    pub agency: OrgCode,
    pub subject: String,
}

/// Aggregates whose events can be correspondence say whose dialogue they belong to.
pub trait DialogueParties {
    fn dialogue_parties(&self, stream_id: &str) -> Option<Parties>;
}

impl DialogueParties for Assignment {
    fn dialogue_parties(&self, _: &str) -> Option<Parties> {
        self.details.as_ref().map(|d| Parties {
            subject: match &d.reference {
                Some(r) => format!("{r} {}", d.title.as_str()),
                None => d.title.as_str().to_owned(),
            },
            ministry: d.ministry.clone(),
            agency: d.agency.clone(),
        })
    }
}

impl DialogueParties for AllocationLetter {
    /// From the stream id (`HOD:DMP:2024`), so it works before the letter is loaded.
    fn dialogue_parties(&self, stream_id: &str) -> Option<Parties> {
        let mut parts = stream_id.split(':');
        let (m, a, y) = (parts.next()?, parts.next()?, parts.next()?);
        let (ministry, agency) = (OrgCode::parse(m).ok()?, OrgCode::parse(a).ok()?);
        Some(Parties {
            subject: format!("{y} fra {ministry} til {agency}"),
            ministry,
            agency,
        })
    }
}

impl DialogueParties for Supplement {
    fn dialogue_parties(&self, _: &str) -> Option<Parties> {
        self.details.as_ref().map(|d| Parties {
            subject: d.title.as_str().to_owned(),
            ministry: d.ministry.clone(),
            agency: d.agency.clone(),
        })
    }
}

impl DialogueParties for DeviationReport {
    fn dialogue_parties(&self, _: &str) -> Option<Parties> {
        self.details.as_ref().map(|d| Parties {
            subject: d.explanation.as_str().chars().take(80).collect(),
            ministry: d.ministry.clone(),
            agency: d.agency.clone(),
        })
    }
}

impl DialogueParties for SteeringCalendarItem {
    fn dialogue_parties(&self, _: &str) -> Option<Parties> {
        self.details.as_ref().map(|d| Parties {
            subject: format!("{} ({})", d.title.as_str(), d.date),
            ministry: d.ministry.clone(),
            agency: d.agency.clone(),
        })
    }
}

impl Workflow {
    /// The copy obligations the events in `batch` create, as appends of new Correspondence
    /// streams to add to the same atomic append.
    pub(crate) async fn copy_obligations(
        &self,
        batch: &[StreamAppend],
        meta: &CommandMeta,
        command_id: Uuid,
        known: Option<(StreamId, Option<Parties>)>,
    ) -> Result<Vec<StreamAppend>, WorkflowError> {
        // The command's own stream was just loaded: no need to read it again.
        let mut parties: HashMap<StreamId, Option<Parties>> = known.into_iter().collect();
        let mut out = Vec::new();
        for append in batch {
            let stream = &append.stream;
            for event in &append.events {
                let Some(kind) = classify(stream.stream_type(), &event.event_type) else {
                    continue;
                };
                if !parties.contains_key(stream) {
                    let p = self.parties(stream).await?;
                    parties.insert(stream.clone(), p);
                }
                let Some(p) = parties.get(stream).and_then(Option::as_ref) else {
                    // Correspondence on a stream that does not exist cannot happen: the
                    // domain refuses commands on missing aggregates.
                    continue;
                };
                let record = match kind {
                    CorrespondenceKind::LetterIssued | CorrespondenceKind::SupplementIssued => {
                        Some(self.record_of(stream, &append.events).await?)
                    }
                    _ => None,
                };
                let occurred_at = meta.effective_at.unwrap_or_else(|| self.now());
                let content = copy_content(kind, stream, event, occurred_at, record);
                let sha = content_sha256(&content);
                let actor_org = meta.actor.organisation.clone();
                let to = if actor_org == p.ministry {
                    p.agency.clone()
                } else {
                    p.ministry.clone()
                };
                let registered = register_copy(
                    kind,
                    format!("{}: {}", kind.label(), p.subject),
                    Some(p.ministry.clone()),
                    Some(p.agency.clone()),
                    actor_org,
                    to,
                    Some(SourceRef {
                        stream_type: stream.stream_type().to_owned(),
                        stream_id: stream.id().to_owned(),
                        event_id: event.event_id,
                        event_type: event.event_type.clone(),
                    }),
                    content,
                    sha,
                    occurred_at,
                    meta.actor.by(),
                );
                let item = item_id_for(event.event_id).to_string();
                out.push(StreamAppend {
                    stream: stream_of::<Correspondence>(&item)?,
                    expected: ExpectedVersion::NO_STREAM,
                    events: vec![crate::handler::new_event(&registered, meta, command_id)],
                });
            }
        }
        Ok(out)
    }

    /// The ministry and agency a stream's dialogue is between (`None`: unknown stream), for
    /// deciding who may read its history.
    pub async fn parties_of(
        &self,
        stream: &StreamId,
    ) -> Result<Option<(OrgCode, OrgCode)>, WorkflowError> {
        if stream.stream_type() == Correspondence::STREAM_TYPE {
            let (c, _) = self.load::<Correspondence>(stream.id()).await?;
            return Ok(c
                .details
                .and_then(|d| Some((d.registered.ministry?, d.registered.agency?))));
        }
        Ok(self.parties(stream).await?.map(|p| (p.ministry, p.agency)))
    }

    /// Ministry, agency and a subject line for the stream's correspondence.
    async fn parties(&self, stream: &StreamId) -> Result<Option<Parties>, WorkflowError> {
        async fn of<A: Aggregate + DialogueParties>(
            w: &Workflow,
            id: &str,
        ) -> Result<Option<Parties>, WorkflowError> {
            Ok(w.load::<A>(id).await?.0.dialogue_parties(id))
        }
        let id = stream.id();
        match stream.stream_type() {
            Assignment::STREAM_TYPE => of::<Assignment>(self, id).await,
            AllocationLetter::STREAM_TYPE => Ok(AllocationLetter::default().dialogue_parties(id)),
            Supplement::STREAM_TYPE => of::<Supplement>(self, id).await,
            DeviationReport::STREAM_TYPE => of::<DeviationReport>(self, id).await,
            SteeringCalendarItem::STREAM_TYPE => of::<SteeringCalendarItem>(self, id).await,
            _ => Ok(None),
        }
    }

    /// Every event of `stream` so far plus those about to be appended, as `{type, payload}`.
    async fn record_of(
        &self,
        stream: &StreamId,
        pending: &[NewEvent],
    ) -> Result<Vec<Value>, WorkflowError> {
        let stored = self.store().read_stream(stream, 0).await?;
        Ok(stored
            .iter()
            .map(|e| json!({"event_type": e.event_type, "payload": e.payload}))
            .chain(
                pending
                    .iter()
                    .map(|e| json!({"event_type": e.event_type, "payload": e.payload})),
            )
            .collect())
    }

    /// Registers an item of correspondence that no event of ours copies (a log checkpoint),
    /// written under `by`.
    pub async fn register_standalone(
        &self,
        event: styr_domain::correspondence::CorrespondenceEvent,
        meta: &CommandMeta,
    ) -> Result<(String, crate::CommandOutcome), WorkflowError> {
        let command_id = meta.command_id.unwrap_or_else(Uuid::now_v7);
        let item = Uuid::new_v5(&NAMESPACE, command_id.as_bytes()).to_string();
        let append = StreamAppend {
            stream: stream_of::<Correspondence>(&item)?,
            expected: ExpectedVersion::NO_STREAM,
            events: vec![crate::handler::new_event(&event, meta, command_id)],
        };
        let outcome = self.store().append(vec![append]).await?;
        Ok((
            item,
            crate::CommandOutcome {
                command_id,
                events: outcome.events,
                repeated: outcome.already_stored,
            },
        ))
    }
}

/// The copy's content document.
fn copy_content(
    kind: CorrespondenceKind,
    stream: &StreamId,
    event: &NewEvent,
    occurred_at: DateTime<Utc>,
    record: Option<Vec<Value>>,
) -> Value {
    let m = &event.metadata;
    let mut doc = json!({
        "format": "styr-correspondence/1",
        "kind": kind,
        "source": {
            "stream_type": stream.stream_type(),
            "stream_id": stream.id(),
            "event_id": event.event_id,
            "event_type": event.event_type,
            "schema_version": event.schema_version,
        },
        "actor": {
            "subject": m.actor.subject,
            "name": m.actor.display_name,
            "role": m.actor.role,
            "organisation": m.actor.organisation,
        },
        "reason": m.reason,
        "occurred_at": styr_eventstore::format_timestamp(&occurred_at),
        "event": event.payload,
    });
    if let (Some(record), Some(obj)) = (record, doc.as_object_mut()) {
        obj.insert("record".into(), Value::Array(record));
    }
    doc
}

/// The `By` of an actor as the domain records it; used for system-written items.
pub fn system_by(subject: &str, name: &str) -> By {
    By {
        subject: subject.to_owned(),
        display_name: name.to_owned(),
        organisation: OrgCode::parse("STYR").unwrap_or_else(|_| unreachable!("valid code")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use styr_domain::DomainEvent;

    #[test]
    fn content_hash_ignores_key_order() {
        let a = json!({"b": 1, "a": [1, 2]});
        let b = json!({"a": [1, 2], "b": 1});
        assert_eq!(content_sha256(&a), content_sha256(&b));
        assert_ne!(
            content_sha256(&a),
            content_sha256(&json!({"a": [2, 1], "b": 1}))
        );
        assert_eq!(content_sha256(&a).len(), 64);
    }

    #[test]
    fn item_ids_are_stable_per_source_event() {
        let e = Uuid::from_u128(7);
        assert_eq!(item_id_for(e), item_id_for(e));
        assert_ne!(item_id_for(e), item_id_for(Uuid::from_u128(8)));
    }

    #[test]
    fn domain_events_name_their_type() {
        // The obligation event goes through the same envelope as every other.
        let ev = register_copy(
            CorrespondenceKind::AuditCheckpoint,
            "x".into(),
            None,
            None,
            OrgCode::parse("STYR").unwrap(),
            OrgCode::parse("RR").unwrap(),
            None,
            json!({}),
            content_sha256(&json!({})),
            Utc::now(),
            system_by("s", "S"),
        );
        assert_eq!(ev.event_type(), "CorrespondenceRegistered");
    }
}
