//! A submission's states before delivery, each a type: [`Accepted`] →
//! [`Sealed`] → [`Queued`]. Delivery ([`super::delivery`]) takes it onto
//! the ledger.

use std::sync::Arc;

use veilgate_core::{EnvelopeSigner, Pseudonyms, SealError, SealRequest, Trust};
use veilgate_policies::{Plan, Record};

use crate::audit::{Action, AuditEvent};
use crate::store::{record_digest, Offer, OutboxValue, State, Store, StoreError, Submission};

/// A record a member submitted, validated against its policy, with its
/// envelope id derived from (suite, ledger, submitter, idempotency key).
/// Nothing is stored yet.
pub struct Accepted {
    ledger: String,
    submitter: String,
    plan: Arc<Plan>,
    record: Record,
    idempotency_key: String,
    envelope_id: [u8; 16],
    digest: [u8; 32],
    accepted_ms: u64,
}

/// What sealing needs: the ledger's trust (directory, policies, Groth16
/// keys), the record's pseudonyms or the key to make them, and the
/// submitter's own secrets.
pub struct SealKeys<'a> {
    pub trust: &'a Trust,
    pub pseudonyms: Pseudonyms<'a>,
    pub submitter: &'a dyn EnvelopeSigner,
}

impl Accepted {
    /// Takes a validated record. Refuses an idempotency key outside 1–128
    /// printable ASCII characters (space excluded) and a suite this build
    /// lacks.
    pub fn new(
        ledger: &str,
        submitter: &str,
        plan: Arc<Plan>,
        record: Record,
        idempotency_key: &str,
        accepted_ms: u64,
    ) -> Result<Accepted, SealError> {
        let key = idempotency_key;
        // Checked before the proof is made: a bad key costs no seal.
        if !veilgate_core::valid_idempotency_key(key) {
            return Err(SealError::IdempotencyKey);
        }
        let suite = veilgate_core::SuiteId::from_name(&plan.suite)
            .ok_or_else(|| SealError::Suite(plan.suite.clone()))?;
        let envelope_id = veilgate_core::envelope_id(suite.suite(), ledger, submitter, key);
        let digest = record_digest(&plan.hash(), &record);
        Ok(Accepted {
            ledger: ledger.to_owned(),
            submitter: submitter.to_owned(),
            plan,
            record,
            idempotency_key: key.to_owned(),
            envelope_id,
            digest,
            accepted_ms,
        })
    }

    pub fn envelope_id(&self) -> [u8; 16] {
        self.envelope_id
    }

    pub fn ledger(&self) -> &str {
        &self.ledger
    }

    pub fn submitter(&self) -> &str {
        &self.submitter
    }

    pub fn accepted_ms(&self) -> u64 {
        self.accepted_ms
    }

    /// The canonical values its policy pseudonymises, each once.
    pub fn pseudonym_values(&self) -> Vec<zeroize::Zeroizing<Vec<u8>>> {
        veilgate_core::pseudonym_values(&self.plan, &self.record)
    }

    /// The record digest, hex, as the store keeps it.
    pub fn digest_hex(&self) -> String {
        hex::encode(self.digest)
    }

    /// Seals the record into its envelope (CPU-bound: proofs).
    pub fn seal(
        self,
        keys: SealKeys<'_>,
        rng: &mut dyn veilgate_core::suite::RngCoreCrypto,
    ) -> Result<Sealed, SealError> {
        let env = veilgate_core::seal(
            &SealRequest {
                plan: &self.plan,
                record: &self.record,
                trust: keys.trust,
                submitter: keys.submitter,
                pseudonyms: keys.pseudonyms,
                idempotency_key: &self.idempotency_key,
                timestamp_ms: self.accepted_ms,
            },
            rng,
        )?;
        Ok(Sealed {
            envelope: env.encode(),
            accepted: self,
        })
    }
}

/// What parking a record came to.
pub enum Park {
    /// Durable now, unsealed: the submission waits for its pseudonyms.
    Parked(Submission),
    /// The same idempotency key was accepted before with the same record.
    Existing(Submission),
    /// The same idempotency key was accepted before with another record.
    Conflict,
}

/// Why a waiting record could not be taken up again (the store's bytes,
/// the policy or the key it needs); it stays waiting.
#[derive(Debug, thiserror::Error)]
pub enum Resume {
    #[error("the waiting record is malformed: {0}")]
    Malformed(String),
    #[error("policy `{policy}` version {version} with the waiting record's hash is no longer published on `{ledger}`")]
    Policy {
        ledger: String,
        policy: String,
        version: u32,
    },
    #[error(transparent)]
    AtRest(#[from] veilgate_core::at_rest::AtRestError),
}

impl Accepted {
    /// Keeps the record durably until its pseudonyms can be had: the
    /// values encrypted to `key` (the submitter's own key in force), the
    /// submission in state `awaiting_pseudonyms`, audited — one fsynced
    /// transaction. The gateway answers for it from here on.
    pub fn park(
        &self,
        store: &Store,
        key: &veilgate_core::MemberKey,
        rng: &mut dyn veilgate_core::suite::RngCoreCrypto,
    ) -> Result<Park, ParkError> {
        let suite = veilgate_core::SuiteId::from_name(&self.plan.suite)
            .ok_or_else(|| ParkError::Suite(self.plan.suite.clone()))?;
        let values: Vec<zeroize::Zeroizing<Vec<u8>>> = self
            .record
            .values
            .iter()
            .map(|v| zeroize::Zeroizing::new(v.encode()))
            .collect();
        let plain = zeroize::Zeroizing::new(crate::store::awaiting::encode_values(
            &values.iter().map(|v| v.to_vec()).collect::<Vec<_>>(),
        ));
        let record_at_rest =
            veilgate_core::at_rest::seal_at_rest(suite, key, &self.envelope_id, &plain, rng)?;
        let value = crate::store::awaiting::AwaitingValue {
            ledger: self.ledger.clone(),
            submitter: self.submitter.clone(),
            policy: self.plan.id.clone(),
            version: self.plan.version,
            policy_hash: self.plan.hash(),
            idempotency_key: self.idempotency_key.clone(),
            accepted_ms: self.accepted_ms,
            record_at_rest,
        };
        let submission = Submission {
            state: State::AwaitingPseudonyms,
            ..self.submission()
        };
        let audit = AuditEvent {
            detail: Some(format!("policy {}; awaiting pseudonyms", self.plan.id)),
            ..self.submit_audit()
        };
        use veilgate_codec::Codec;
        Ok(
            match store.park(&self.envelope_id, &submission, &value.to_bytes(), audit)? {
                Offer::Queued(_) => Park::Parked(submission),
                Offer::Existing(s) => Park::Existing(s),
                Offer::Conflict => Park::Conflict,
            },
        )
    }

    /// A waiting record taken up again: its plan (the same version and
    /// hash, still published) and its values, decrypted with the
    /// submitter's key.
    pub fn resume(
        id: &[u8; 16],
        bytes: &[u8],
        policies: &veilgate_core::PolicySet,
        me: &dyn veilgate_core::KemDecap,
    ) -> Result<Accepted, Resume> {
        use veilgate_codec::Codec;
        let v = crate::store::awaiting::AwaitingValue::from_bytes(bytes)
            .map_err(|e| Resume::Malformed(e.to_string()))?;
        let plan = policies
            .version(&v.ledger, &v.policy, v.version)
            .filter(|p| p.hash() == v.policy_hash)
            .cloned()
            .ok_or_else(|| Resume::Policy {
                ledger: v.ledger.clone(),
                policy: v.policy.clone(),
                version: v.version,
            })?;
        let suite = veilgate_core::SuiteId::from_name(&plan.suite)
            .ok_or_else(|| Resume::Malformed(format!("unknown suite `{}`", plan.suite)))?;
        let plain = veilgate_core::at_rest::open_at_rest(suite, me, id, &v.record_at_rest)?;
        let raw = crate::store::awaiting::decode_values(&plain)
            .map_err(|e| Resume::Malformed(e.to_string()))?;
        let raw = zeroize::Zeroizing::new(raw);
        if raw.len() != plan.fields.len() {
            return Err(Resume::Malformed(
                "the value count is not the policy's".into(),
            ));
        }
        let values = plan
            .fields
            .iter()
            .zip(raw.iter())
            .map(|(f, b)| {
                veilgate_policies::Value::decode(&f.ty, b)
                    .ok_or_else(|| Resume::Malformed(format!("field `{}` does not decode", f.name)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let accepted = Accepted::new(
            &v.ledger,
            &v.submitter,
            plan,
            Record { values },
            &v.idempotency_key,
            v.accepted_ms,
        )
        .map_err(|e| Resume::Malformed(e.to_string()))?;
        if accepted.envelope_id != *id {
            return Err(Resume::Malformed(
                "its envelope id is another record's".into(),
            ));
        }
        Ok(accepted)
    }

    fn submission(&self) -> Submission {
        Submission {
            ledger: self.ledger.clone(),
            submitter: self.submitter.clone(),
            policy: self.plan.id.clone(),
            record_digest: hex::encode(self.digest),
            state: State::Accepted,
            accepted_ms: self.accepted_ms,
            sequence: None,
            entry_hash: None,
            delivered_ms: None,
        }
    }

    fn submit_audit(&self) -> AuditEvent {
        AuditEvent {
            actor: self.submitter.clone(),
            action: Action::Submit,
            ledger: Some(self.ledger.clone()),
            envelope_id: Some(self.envelope_id),
            detail: Some(format!("policy {}", self.plan.id)),
        }
    }
}

/// Why a record could not be parked.
#[derive(Debug, thiserror::Error)]
pub enum ParkError {
    #[error("unknown suite `{0}`")]
    Suite(String),
    #[error(transparent)]
    AtRest(#[from] veilgate_core::at_rest::AtRestError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A sealed envelope, not yet durable.
pub struct Sealed {
    accepted: Accepted,
    envelope: Vec<u8>,
}

/// What queueing a sealed envelope came to.
pub enum Queue {
    /// Durable now: in the outbox, with its submission and audit entry.
    Queued(Queued),
    /// The same idempotency key was queued before with the same record.
    Existing(Submission),
    /// The same idempotency key was queued before with another record.
    Conflict,
}

impl Sealed {
    pub fn envelope_id(&self) -> [u8; 16] {
        self.accepted.envelope_id
    }

    /// Queues the envelope: submission, outbox entry and audit entry in one
    /// fsynced transaction.
    pub fn queue(self, store: &Store) -> Result<Queue, StoreError> {
        let a = self.accepted;
        let submission = a.submission();
        let audit = a.submit_audit();
        let value = OutboxValue {
            envelope_id: a.envelope_id,
            ledger: a.ledger,
            envelope: self.envelope,
        };
        Ok(match store.offer(&submission, &value, audit)? {
            Offer::Queued(key) => Queue::Queued(Queued {
                envelope_id: a.envelope_id,
                outbox_key: key,
                submission,
            }),
            Offer::Existing(s) => Queue::Existing(s),
            Offer::Conflict => Queue::Conflict,
        })
    }
}

impl Sealed {
    /// A waiting record, now sealed, into the outbox in place of its record
    /// at rest (one transaction); `false` when it was promoted before.
    pub fn promote(self, store: &Store) -> Result<bool, StoreError> {
        let value = OutboxValue {
            envelope_id: self.accepted.envelope_id,
            ledger: self.accepted.ledger,
            envelope: self.envelope,
        };
        Ok(store.promote(&value)?.is_some())
    }
}

/// Durably queued: the gateway answers for it from here on.
pub struct Queued {
    pub envelope_id: [u8; 16],
    /// Its place in acceptance order.
    pub outbox_key: u64,
    pub submission: Submission,
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]
    use super::*;

    const POLICY: &str = "policy p version 1\nledger l\nsuite standard\n\
        record {\n  amount: amount(2)\n}\nroles { regulator }\ndisclose {\n  amount: public\n}\n";

    fn accepted(key: &str, amount: &str) -> Result<Accepted, SealError> {
        let plan = veilgate_policies::compile(POLICY).expect("test policy compiles");
        let record = plan
            .validate_record(&serde_json::json!({ "amount": amount }))
            .expect("valid record");
        Accepted::new("l", "bank-a", Arc::new(plan), record, key, 5)
    }

    #[test]
    fn idempotency_keys_are_1_to_128_printable_ascii_without_space() {
        assert!(accepted("pay-0001", "1.00").is_ok());
        assert!(accepted(&"k".repeat(128), "1.00").is_ok());
        for bad in ["", "has space", "tab\t", "é", &"k".repeat(129)] {
            assert!(
                matches!(accepted(bad, "1.00"), Err(SealError::IdempotencyKey)),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_id_depends_on_the_key_and_the_digest_on_the_record() {
        let (a, b, c) = (
            accepted("k1", "1.00").unwrap(),
            accepted("k2", "1.00").unwrap(),
            accepted("k1", "2.00").unwrap(),
        );
        assert_ne!(a.envelope_id(), b.envelope_id());
        assert_eq!(a.envelope_id(), c.envelope_id());
        assert_eq!(a.digest_hex(), b.digest_hex());
        assert_ne!(a.digest_hex(), c.digest_hex());
    }

    #[test]
    fn queueing_is_once_per_id_and_a_different_record_conflicts() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("g.redb")).unwrap();
        let sealed = |a: Accepted| Sealed {
            accepted: a,
            envelope: vec![2, 0],
        };
        let first = sealed(accepted("k", "1.00").unwrap())
            .queue(&store)
            .unwrap();
        let Queue::Queued(q) = first else {
            panic!("the first offer is queued")
        };
        assert_eq!(q.outbox_key, 0);
        assert!(matches!(
            sealed(accepted("k", "1.00").unwrap()).queue(&store).unwrap(),
            Queue::Existing(s) if s == q.submission
        ));
        assert!(matches!(
            sealed(accepted("k", "2.00").unwrap())
                .queue(&store)
                .unwrap(),
            Queue::Conflict
        ));
        assert_eq!(store.outbox_depth().unwrap(), 1);
        let audit = store.audit_entries().unwrap();
        assert_eq!(audit.len(), 1, "one submit audited, replays not");
        assert_eq!(audit[0].event.action, Action::Submit);
    }
}
