//! Signed checkpoints of the event log. The hash chain shows any change to a stored event
//! *unless* someone rewrites the whole chain after it; a checkpoint — the head position and
//! hash, signed with an Ed25519 key the database never sees — closes that gap. Later, the
//! event at the checkpoint's position must still carry the signed hash and the chain up to it
//! must verify; a rewrite of anything before it changes that hash.
//!
//! A checkpoint file is JSON: `format`, `position`, `hash`, `recorded_at` (of the event at
//! `position`), `created_at`, `public_key` (hex) and `signature` (hex, over
//! [`Checkpoint::message`]).

use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::Workflow;
use crate::error::WorkflowError;

pub const FORMAT: &str = "styr-checkpoint/1";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub format: String,
    pub position: u64,
    pub hash: String,
    pub recorded_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub public_key: String,
    pub signature: String,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum CheckpointError {
    #[error("the checkpoint key must be 32 bytes as 64 hex digits or base64: {0}")]
    BadKey(String),
    #[error("not a checkpoint file: {0}")]
    Malformed(String),
    #[error("the checkpoint was signed with key {found}, not the trusted key {trusted}")]
    UntrustedKey { found: String, trusted: String },
    #[error("the checkpoint's signature does not verify: the file was altered")]
    BadSignature,
    #[error("the log is empty: there is nothing to checkpoint")]
    EmptyLog,
}

/// What verifying a checkpoint against the log found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckpointCheck {
    /// The event at the checkpoint still has the signed hash and the chain verifies.
    Intact { position: u64, head: u64 },
    /// The log no longer reaches the checkpoint's position.
    Truncated { position: u64, head: u64 },
    /// The event at the position has another hash: the log was rewritten since.
    Rewritten { position: u64, found_hash: String },
    /// The chain itself is broken (see `styr audit verify`).
    ChainBroken { position: u64, fault: String },
}

impl CheckpointCheck {
    pub fn is_intact(&self) -> bool {
        matches!(self, CheckpointCheck::Intact { .. })
    }
}

impl std::fmt::Display for CheckpointCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Intact { position, head } => write!(
                f,
                "the log up to position {position} is as it was when checkpointed (head now {head})"
            ),
            Self::Truncated { position, head } => write!(
                f,
                "the log ends at position {head}, before the checkpoint's position {position}: events were removed"
            ),
            Self::Rewritten {
                position,
                found_hash,
            } => write!(
                f,
                "the event at position {position} now has hash {found_hash}, not the signed one: the log was rewritten since the checkpoint"
            ),
            Self::ChainBroken { position, fault } => {
                write!(f, "the chain breaks at position {position}: {fault}")
            }
        }
    }
}

/// Reads a signing key: 32 bytes as hex or base64 (whitespace ignored).
pub fn signing_key(text: &str) -> Result<SigningKey, CheckpointError> {
    Ok(SigningKey::from_bytes(&key_bytes(text)?))
}

/// Reads a public key: 32 bytes as hex or base64.
pub fn verifying_key(text: &str) -> Result<VerifyingKey, CheckpointError> {
    VerifyingKey::from_bytes(&key_bytes(text)?).map_err(|e| CheckpointError::BadKey(e.to_string()))
}

fn key_bytes(text: &str) -> Result<[u8; 32], CheckpointError> {
    use base64::Engine;
    let t: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = if t.len() == 64 && t.chars().all(|c| c.is_ascii_hexdigit()) {
        hex::decode(&t).map_err(|e| CheckpointError::BadKey(e.to_string()))?
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(&t)
            .map_err(|e| CheckpointError::BadKey(e.to_string()))?
    };
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| CheckpointError::BadKey(format!("found {} bytes", b.len())))
}

/// A fresh signing key as hex (for `styr audit keygen`).
pub fn generate_key_hex() -> Result<String, getrandom::Error> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed)?;
    Ok(hex::encode(seed))
}

pub fn public_key_hex(key: &SigningKey) -> String {
    hex::encode(key.verifying_key().to_bytes())
}

impl Checkpoint {
    /// The exact bytes signed.
    pub fn message(&self) -> String {
        format!(
            "{}\nposition={}\nhash={}\nrecorded_at={}\ncreated_at={}\n",
            self.format,
            self.position,
            self.hash,
            styr_eventstore::format_timestamp(&self.recorded_at),
            styr_eventstore::format_timestamp(&self.created_at),
        )
    }

    pub fn parse(json: &str) -> Result<Self, CheckpointError> {
        let c: Checkpoint =
            serde_json::from_str(json).map_err(|e| CheckpointError::Malformed(e.to_string()))?;
        if c.format != FORMAT {
            return Err(CheckpointError::Malformed(format!(
                "format {:?} is not {FORMAT}",
                c.format
            )));
        }
        Ok(c)
    }

    /// Checks the signature against the trusted key (not the key the file names).
    pub fn verify_signature(&self, trusted: &VerifyingKey) -> Result<(), CheckpointError> {
        let trusted_hex = hex::encode(trusted.to_bytes());
        if self.public_key != trusted_hex {
            return Err(CheckpointError::UntrustedKey {
                found: self.public_key.clone(),
                trusted: trusted_hex,
            });
        }
        let bytes: [u8; 64] = hex::decode(&self.signature)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(CheckpointError::BadSignature)?;
        trusted
            .verify(self.message().as_bytes(), &Signature::from_bytes(&bytes))
            .map_err(|_| CheckpointError::BadSignature)
    }
}

impl Workflow {
    /// Signs the current head of the log.
    pub async fn checkpoint(&self, key: &SigningKey) -> Result<Checkpoint, WorkflowError> {
        let head = self.store().head().await?;
        let last = self
            .store()
            .read_all(head.position.saturating_sub(1), 1)
            .await?;
        let Some(event) = last.into_iter().find(|e| e.position == head.position) else {
            return Err(WorkflowError::Checkpoint(CheckpointError::EmptyLog));
        };
        let mut c = Checkpoint {
            format: FORMAT.to_owned(),
            position: head.position,
            hash: head.hash,
            recorded_at: event.recorded_at,
            created_at: styr_eventstore::truncate_to_micros(self.now()),
            public_key: public_key_hex(key),
            signature: String::new(),
        };
        c.signature = hex::encode(key.sign(c.message().as_bytes()).to_bytes());
        Ok(c)
    }

    /// Verifies a checkpoint (whose signature the caller has checked) against the log: the
    /// chain from the start must verify and the event at the position must have the signed
    /// hash. `progress(checked, total)` reports on long logs.
    pub async fn verify_checkpoint(
        &self,
        c: &Checkpoint,
        progress: impl FnMut(u64, u64),
    ) -> Result<CheckpointCheck, WorkflowError> {
        let head = self.store().head().await?;
        if head.position < c.position {
            return Ok(CheckpointCheck::Truncated {
                position: c.position,
                head: head.position,
            });
        }
        let at = self.store().read_all(c.position - 1, 1).await?;
        match at.first() {
            Some(e) if e.position == c.position && e.hash == c.hash => {}
            Some(e) if e.position == c.position => {
                return Ok(CheckpointCheck::Rewritten {
                    position: c.position,
                    found_hash: e.hash.clone(),
                });
            }
            _ => {
                return Ok(CheckpointCheck::Truncated {
                    position: c.position,
                    head: head.position,
                });
            }
        }
        let report = self.store().verify_chain(1, progress).await?;
        if let Some(b) = report.first_break {
            return Ok(CheckpointCheck::ChainBroken {
                position: b.position,
                fault: b.fault.to_string(),
            });
        }
        Ok(CheckpointCheck::Intact {
            position: c.position,
            head: head.position,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(key: &SigningKey) -> Checkpoint {
        let mut c = Checkpoint {
            format: FORMAT.into(),
            position: 42,
            hash: "ab".repeat(32),
            recorded_at: Utc::now(),
            created_at: Utc::now(),
            public_key: public_key_hex(key),
            signature: String::new(),
        };
        c.signature = hex::encode(key.sign(c.message().as_bytes()).to_bytes());
        c
    }

    #[test]
    fn signature_verifies_only_unaltered_and_with_the_trusted_key() {
        let key = signing_key(&generate_key_hex().unwrap()).unwrap();
        let c = sample(&key);
        assert_eq!(c.verify_signature(&key.verifying_key()), Ok(()));
        let mut altered = c.clone();
        altered.position = 41;
        assert_eq!(
            altered.verify_signature(&key.verifying_key()),
            Err(CheckpointError::BadSignature)
        );
        let other = signing_key(&generate_key_hex().unwrap()).unwrap();
        assert!(matches!(
            c.verify_signature(&other.verifying_key()),
            Err(CheckpointError::UntrustedKey { .. })
        ));
        // A forger who signs with their own key and names it in the file is still refused.
        let forged = sample(&other);
        assert!(forged.verify_signature(&key.verifying_key()).is_err());
    }

    #[test]
    fn keys_read_from_hex_or_base64_and_bad_ones_are_refused() {
        let hex_key = generate_key_hex().unwrap();
        let k1 = signing_key(&hex_key).unwrap();
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(hex::decode(&hex_key).unwrap());
        assert_eq!(
            signing_key(&format!(" {b64}\n")).unwrap().to_bytes(),
            k1.to_bytes()
        );
        assert!(matches!(
            signing_key("abcd"),
            Err(CheckpointError::BadKey(_))
        ));
        assert!(verifying_key(&public_key_hex(&k1)).is_ok());
    }

    #[test]
    fn files_round_trip_and_foreign_json_is_refused() {
        let key = signing_key(&generate_key_hex().unwrap()).unwrap();
        let c = sample(&key);
        let text = serde_json::to_string_pretty(&c).unwrap();
        assert_eq!(Checkpoint::parse(&text).unwrap(), c);
        assert!(matches!(
            Checkpoint::parse("{}"),
            Err(CheckpointError::Malformed(_))
        ));
        let wrong = text.replace(FORMAT, "other/1");
        assert!(matches!(
            Checkpoint::parse(&wrong),
            Err(CheckpointError::Malformed(_))
        ));
    }
}
