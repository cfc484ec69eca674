//! Owns the Correspondence aggregate (*korrespondanse*, a registry entry): one piece of
//! steering correspondence — a letter or supplement issued, a status report, a delivery, the
//! ministry's feedback, a deviation report, meeting minutes — and the obligation to send a
//! copy of it to Riksrevisjonen (hovedinstruks: the Office of the Auditor General receives a
//! copy of all correspondence in the steering dialogue). The agency's own correspondence
//! with Riksrevisjonen is registered here too and copied to the ministry.
//!
//! An item is registered in the same append as the event it copies, with the SHA-256 of its
//! content, so there is never correspondence without an obligation. Delivery is recorded per
//! channel: the attempt is recorded *before* anything is sent ([`CopyDispatchStarted`]), then
//! its receipt or failure. Which correspondence events exist is [`classify`]'s business.
//! Exemption from public disclosure (*unntatt offentlighet*) is a marking, never a deletion.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::aggregate::{Aggregate, By, CommandContext, Role};
use crate::error::DomainError;
use crate::values::{OrgCode, Text};

/// The organisation code of Riksrevisjonen, the recipient of copies.
pub const RIKSREVISJONEN: &str = "RR";

/// What kind of correspondence an item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CorrespondenceKind {
    /// Tildelingsbrev issued.
    LetterIssued,
    /// Supplerende tildelingsbrev issued.
    SupplementIssued,
    /// A status report on an assignment (or its correction).
    StatusReport,
    /// A delivery on an assignment.
    Delivery,
    /// A request to move a deadline.
    ExtensionRequest,
    /// The ministry's answer: extension granted or rejected, delivery accepted or returned,
    /// deviation acknowledged or questioned.
    MinistryFeedback,
    /// A deviation report (*avviksrapport*) or the agency's answer to a follow-up question.
    DeviationReport,
    /// Minutes of a steering meeting (*referat fra etatsstyringsmøte*).
    MeetingMinutes,
    /// A report on the steering calendar submitted.
    ReportSubmitted,
    /// A signed checkpoint of the event log.
    AuditCheckpoint,
    /// The agency's own correspondence with Riksrevisjonen (copied to the ministry).
    WithRiksrevisjonen,
}

impl CorrespondenceKind {
    /// The Norwegian label used in registry titles.
    pub fn label(self) -> &'static str {
        match self {
            Self::LetterIssued => "Tildelingsbrev",
            Self::SupplementIssued => "Supplerende tildelingsbrev",
            Self::StatusReport => "Statusrapport",
            Self::Delivery => "Leveranse",
            Self::ExtensionRequest => "Søknad om utsatt frist",
            Self::MinistryFeedback => "Tilbakemelding fra departementet",
            Self::DeviationReport => "Avviksrapport",
            Self::MeetingMinutes => "Referat fra styringsmøte",
            Self::ReportSubmitted => "Rapport",
            Self::AuditCheckpoint => "Sjekkpunkt for hendelsesloggen",
            Self::WithRiksrevisjonen => "Korrespondanse med Riksrevisjonen",
        }
    }
}

/// Which stored events are steering correspondence. Decided by stream type and event type
/// alone, so the registry can be rebuilt from the log.
pub fn classify(stream_type: &str, event_type: &str) -> Option<CorrespondenceKind> {
    use CorrespondenceKind as K;
    Some(match (stream_type, event_type) {
        ("allocation_letter", "LetterIssued") => K::LetterIssued,
        ("supplement", "SupplementIssued") => K::SupplementIssued,
        ("assignment", "StatusReported" | "StatusCorrected") => K::StatusReport,
        ("assignment", "AssignmentDelivered") => K::Delivery,
        ("assignment", "ExtensionRequested") => K::ExtensionRequest,
        (
            "assignment",
            "ExtensionGranted" | "ExtensionRejected" | "DeliveryAccepted" | "DeliveryReturned",
        ) => K::MinistryFeedback,
        ("deviation_report", "DeviationSubmitted" | "FollowUpAnswered") => K::DeviationReport,
        ("deviation_report", "DeviationAcknowledged" | "FollowUpRequested" | "DeviationClosed") => {
            K::MinistryFeedback
        }
        ("calendar_item", "MinutesRecorded") => K::MeetingMinutes,
        ("calendar_item", "CalendarItemCompleted") => K::ReportSubmitted,
        _ => return None,
    })
}

/// The event a copied item came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceRef {
    pub stream_type: String,
    pub stream_id: String,
    pub event_id: uuid::Uuid,
    pub event_type: String,
}

/// A delivery channel's name: lowercase ASCII, e.g. `directory`, `webhook`.
pub fn valid_channel(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 40
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorrespondenceRegistered {
    pub kind: CorrespondenceKind,
    pub title: String,
    /// The ministry and agency whose dialogue this is (`None` for log checkpoints).
    pub ministry: Option<OrgCode>,
    pub agency: Option<OrgCode>,
    /// Sender and recipient of the original.
    pub from: OrgCode,
    pub to: OrgCode,
    /// Who must receive the copy.
    pub copy_to: OrgCode,
    pub source: Option<SourceRef>,
    /// The content as copied: a JSON document (see the workflow's `copies` module).
    pub content: serde_json::Value,
    /// SHA-256 (hex) of the content's canonical JSON.
    pub content_sha256: String,
    /// When the correspondence took effect (sent, reported, decided).
    pub occurred_at: DateTime<Utc>,
    pub by: By,
}

/// Unntatt offentlighet: the content is withheld from public views (auditors still see it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExemptionMarked {
    /// The legal basis, e.g. "offl. § 15 første ledd".
    pub legal_basis: Text,
    pub by: By,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExemptionLifted {
    pub reason: Text,
    pub by: By,
    pub at: DateTime<Utc>,
}

/// Recorded before a copy is sent, so no copy ever leaves without a trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyDispatchStarted {
    pub channel: String,
    pub attempt: u32,
    /// Sent with the copy; the same for every attempt on this item and channel, so the
    /// recipient can drop repeats.
    pub idempotency_key: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyDeliveryFailed {
    pub channel: String,
    pub attempt: u32,
    pub error: String,
    pub retry_at: DateTime<Utc>,
    pub at: DateTime<Utc>,
}

/// The receipt for a delivered copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyDelivered {
    pub channel: String,
    pub attempt: u32,
    pub content_sha256: String,
    /// The recipient's own receipt id (a file name for a directory drop).
    pub remote_receipt_id: Option<String>,
    pub at: DateTime<Utc>,
}

domain_events! {
    /// Everything that can happen to a correspondence item.
    pub enum CorrespondenceEvent {
        CorrespondenceRegistered(Box<CorrespondenceRegistered>) = 1,
        ExemptionMarked(ExemptionMarked) = 1,
        ExemptionLifted(ExemptionLifted) = 1,
        CopyDispatchStarted(CopyDispatchStarted) = 1,
        CopyDeliveryFailed(CopyDeliveryFailed) = 1,
        CopyDelivered(CopyDelivered) = 1,
    }
    upcaster = crate::aggregate::no_upcast;
}

/// Commands users give. Registration of copied events and delivery bookkeeping are not
/// commands: the workflow derives them ([`register_copy`], [`CorrespondenceDetails::start_dispatch`]…).
#[derive(Debug, Clone, PartialEq)]
pub enum CorrespondenceCommand {
    /// An agency registers a letter it sent to or received from Riksrevisjonen; the copy
    /// goes to its ministry.
    RegisterWithRiksrevisjonen {
        ministry: OrgCode,
        agency: OrgCode,
        /// True when the agency sent it, false when it received it.
        outgoing: bool,
        title: String,
        content: serde_json::Value,
        content_sha256: String,
        occurred_at: DateTime<Utc>,
    },
    MarkExempt {
        legal_basis: String,
    },
    LiftExemption {
        reason: String,
    },
}

/// How one channel's delivery of this item stands.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChannelState {
    pub attempts: u32,
    /// An attempt recorded as started with no outcome yet (in flight, or its sender died).
    pub in_flight: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub retry_at: Option<DateTime<Utc>>,
    pub delivered: Option<CopyDelivered>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrespondenceDetails {
    pub registered: CorrespondenceRegistered,
    pub exemption: Option<ExemptionMarked>,
    pub channels: std::collections::BTreeMap<String, ChannelState>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Correspondence {
    pub details: Option<CorrespondenceDetails>,
}

/// A dispatch with no outcome for this long is presumed dead (its sender crashed) and may be
/// retried. Senders give up on a request well before this.
pub const DISPATCH_LEASE: Duration = Duration::minutes(2);

/// Waits between attempts: 10 s, 20 s, 40 s … capped at one hour.
pub fn retry_delay(attempt: u32) -> Duration {
    let seconds = 10i64.saturating_mul(1i64 << attempt.saturating_sub(1).min(12));
    Duration::seconds(seconds.min(3600))
}

/// The registration of a copy obligation for a correspondence event. Not a user command:
/// the workflow adds it to the append that writes the event, as the same actor.
#[allow(clippy::too_many_arguments)]
pub fn register_copy(
    kind: CorrespondenceKind,
    title: String,
    ministry: Option<OrgCode>,
    agency: Option<OrgCode>,
    from: OrgCode,
    to: OrgCode,
    source: Option<SourceRef>,
    content: serde_json::Value,
    content_sha256: String,
    occurred_at: DateTime<Utc>,
    by: By,
) -> CorrespondenceEvent {
    let copy_to = if kind == CorrespondenceKind::WithRiksrevisjonen {
        ministry.clone().unwrap_or_else(|| from.clone())
    } else {
        riksrevisjonen()
    };
    CorrespondenceEvent::CorrespondenceRegistered(Box::new(CorrespondenceRegistered {
        kind,
        title,
        ministry,
        agency,
        from,
        to,
        copy_to,
        source,
        content,
        content_sha256,
        occurred_at,
        by,
    }))
}

fn riksrevisjonen() -> OrgCode {
    OrgCode::parse(RIKSREVISJONEN).unwrap_or_else(|_| unreachable!("RR is a valid code"))
}

fn valid_sha256(s: &str) -> bool {
    s.len() == 64
        && s.chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
}

impl CorrespondenceDetails {
    pub fn is_exempt(&self) -> bool {
        self.exemption.is_some()
    }

    pub fn delivered_on(&self, channel: &str) -> Option<&CopyDelivered> {
        self.channels
            .get(channel)
            .and_then(|c| c.delivered.as_ref())
    }

    /// Whether `channel` should be attempted at `now`: not delivered, not waiting for a
    /// retry time, and not in flight elsewhere (unless that attempt's lease ran out).
    pub fn due_on(&self, channel: &str, now: DateTime<Utc>) -> bool {
        let Some(c) = self.channels.get(channel) else {
            return true;
        };
        if c.delivered.is_some() {
            return false;
        }
        if let Some(started) = c.in_flight {
            return now - started >= DISPATCH_LEASE;
        }
        c.retry_at.is_none_or(|t| t <= now)
    }

    /// The key the recipient deduplicates by: one per item and channel.
    pub fn idempotency_key(item_id: &str, channel: &str) -> String {
        format!("styr-copy:{item_id}:{channel}")
    }

    /// Records that an attempt on `channel` begins. Refused when the copy is delivered there
    /// already or another attempt holds the lease.
    pub fn start_dispatch(
        &self,
        item_id: &str,
        channel: &str,
        now: DateTime<Utc>,
    ) -> Result<CorrespondenceEvent, DomainError> {
        if !valid_channel(channel) {
            return Err(DomainError::validation(
                "channel",
                format!("{channel:?} is not a channel name"),
            ));
        }
        if self.delivered_on(channel).is_some() {
            return Err(DomainError::conflict(format!(
                "the copy was already delivered on {channel}"
            )));
        }
        if !self.due_on(channel, now) {
            return Err(DomainError::rule(format!(
                "the copy is not due on {channel} yet"
            )));
        }
        let attempts = self.channels.get(channel).map_or(0, |c| c.attempts);
        Ok(CorrespondenceEvent::CopyDispatchStarted(
            CopyDispatchStarted {
                channel: channel.to_owned(),
                attempt: attempts + 1,
                idempotency_key: Self::idempotency_key(item_id, channel),
                at: now,
            },
        ))
    }

    fn open_attempt(&self, channel: &str) -> Result<u32, DomainError> {
        match self.channels.get(channel) {
            Some(c) if c.delivered.is_some() => Err(DomainError::conflict(format!(
                "the copy was already delivered on {channel}"
            ))),
            Some(c) if c.in_flight.is_some() => Ok(c.attempts),
            _ => Err(DomainError::rule(format!(
                "no attempt on {channel} was recorded as started"
            ))),
        }
    }

    /// The outcome of the started attempt: a receipt.
    pub fn record_delivery(
        &self,
        channel: &str,
        remote_receipt_id: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<CorrespondenceEvent, DomainError> {
        let attempt = self.open_attempt(channel)?;
        Ok(CorrespondenceEvent::CopyDelivered(CopyDelivered {
            channel: channel.to_owned(),
            attempt,
            content_sha256: self.registered.content_sha256.clone(),
            remote_receipt_id,
            at: now,
        }))
    }

    /// The outcome of the started attempt: a failure, retried after [`retry_delay`].
    pub fn record_failure(
        &self,
        channel: &str,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<CorrespondenceEvent, DomainError> {
        let attempt = self.open_attempt(channel)?;
        let error: String = error.chars().take(1000).collect();
        Ok(CorrespondenceEvent::CopyDeliveryFailed(
            CopyDeliveryFailed {
                channel: channel.to_owned(),
                attempt,
                error,
                retry_at: now + retry_delay(attempt),
                at: now,
            },
        ))
    }

    /// Whoever is party to the item on the ministry or agency side may mark it exempt.
    fn require_party(&self, ctx: &CommandContext, action: &str) -> Result<(), DomainError> {
        let r = &self.registered;
        let allowed = match ctx.actor.role {
            Role::Ministry => r.ministry.as_ref() == Some(&ctx.actor.organisation),
            Role::Agency => r.agency.as_ref() == Some(&ctx.actor.organisation),
            Role::Auditor => {
                return Err(DomainError::forbidden(format!(
                    "auditors have read-only access and cannot {action}"
                )));
            }
            Role::Admin => false,
        };
        if allowed {
            Ok(())
        } else {
            Err(DomainError::forbidden(format!(
                "only the ministry or agency of this correspondence may {action}"
            )))
        }
    }
}

impl Aggregate for Correspondence {
    const STREAM_TYPE: &'static str = "correspondence";
    type Command = CorrespondenceCommand;
    type Event = CorrespondenceEvent;

    fn decide(
        &self,
        command: CorrespondenceCommand,
        ctx: &CommandContext,
    ) -> Result<Vec<CorrespondenceEvent>, DomainError> {
        use CorrespondenceCommand as C;
        use CorrespondenceEvent as E;
        let by = ctx.actor.by();
        let at = ctx.now;
        match (command, &self.details) {
            (
                C::RegisterWithRiksrevisjonen {
                    ministry,
                    agency,
                    outgoing,
                    title,
                    content,
                    content_sha256,
                    occurred_at,
                },
                None,
            ) => {
                ctx.actor
                    .require_agency(&agency, "register correspondence with Riksrevisjonen")?;
                let title = Text::new("title", title)?;
                if !valid_sha256(&content_sha256) {
                    return Err(DomainError::validation(
                        "content_sha256",
                        "must be 64 lowercase hex digits",
                    ));
                }
                if occurred_at > at {
                    return Err(DomainError::validation(
                        "occurred_at",
                        "cannot be in the future",
                    ));
                }
                let (from, to) = if outgoing {
                    (agency.clone(), riksrevisjonen())
                } else {
                    (riksrevisjonen(), agency.clone())
                };
                Ok(vec![register_copy(
                    CorrespondenceKind::WithRiksrevisjonen,
                    title.as_str().to_owned(),
                    Some(ministry),
                    Some(agency),
                    from,
                    to,
                    None,
                    content,
                    content_sha256,
                    occurred_at,
                    by,
                )])
            }
            (C::RegisterWithRiksrevisjonen { .. }, Some(_)) => Err(DomainError::conflict(
                "this correspondence is already registered",
            )),
            (_, None) => Err(DomainError::not_found(
                "no such correspondence is registered",
            )),
            (C::MarkExempt { legal_basis }, Some(d)) => {
                d.require_party(ctx, "mark correspondence exempt from public disclosure")?;
                let legal_basis = Text::new("legal_basis", legal_basis)?;
                if d.exemption
                    .as_ref()
                    .is_some_and(|e| e.legal_basis == legal_basis)
                {
                    return Ok(Vec::new());
                }
                Ok(vec![E::ExemptionMarked(ExemptionMarked {
                    legal_basis,
                    by,
                    at,
                })])
            }
            (C::LiftExemption { reason }, Some(d)) => {
                d.require_party(ctx, "lift an exemption from public disclosure")?;
                if d.exemption.is_none() {
                    return Err(DomainError::rule(
                        "this correspondence is not exempt from public disclosure",
                    ));
                }
                Ok(vec![E::ExemptionLifted(ExemptionLifted {
                    reason: Text::new("reason", reason)?,
                    by,
                    at,
                })])
            }
        }
    }

    fn evolve(&mut self, event: &CorrespondenceEvent) {
        use CorrespondenceEvent as E;
        if let E::CorrespondenceRegistered(r) = event {
            self.details = Some(CorrespondenceDetails {
                registered: (**r).clone(),
                exemption: None,
                channels: Default::default(),
            });
            return;
        }
        let Some(d) = self.details.as_mut() else {
            return;
        };
        match event {
            E::CorrespondenceRegistered(_) => {}
            E::ExemptionMarked(m) => d.exemption = Some(m.clone()),
            E::ExemptionLifted(_) => d.exemption = None,
            E::CopyDispatchStarted(s) => {
                let c = d.channels.entry(s.channel.clone()).or_default();
                c.attempts = s.attempt;
                c.in_flight = Some(s.at);
            }
            E::CopyDeliveryFailed(f) => {
                let c = d.channels.entry(f.channel.clone()).or_default();
                c.in_flight = None;
                c.last_error = Some(f.error.clone());
                c.retry_at = Some(f.retry_at);
            }
            E::CopyDelivered(r) => {
                let c = d.channels.entry(r.channel.clone()).or_default();
                c.in_flight = None;
                c.retry_at = None;
                c.delivered = Some(r.clone());
            }
        }
    }
}

#[cfg(test)]
#[path = "correspondence_tests.rs"]
mod tests;
