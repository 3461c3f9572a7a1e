//! open: a verified envelope + one institution's secrets → exactly the fields
//! addressed to it (and the public ones), each checked against its commitment
//! or pseudonym where the ledger carries one.

use veilgate_circuits::Opening;
use veilgate_policies::{Disclosure, Value};

use crate::bind;
use crate::envelope::FieldBody;
use crate::envelope::Recipient;
use crate::keys::{KemDecap, MemberKey, PseudonymKey};
use crate::suite::DataKey;
use crate::verify::VerifiedEnvelope;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    #[error("`{0}` is not a recipient of this envelope")]
    NotARecipient(String),
    #[error("the data key wrapped to `{0}` does not open with this key")]
    KeyUnwrap(String),
    /// The envelope wraps the data key to a key version of the recipient
    /// that is not held here (another store, or a key lost and not recovered).
    #[error("the data key is wrapped to key {key} of `{institution}`, which is not held here")]
    KeyNotHeld { institution: String, key: String },
    /// The key store failed (a token error).
    #[error("the key store of `{institution}` failed: {why}")]
    KeyStore { institution: String, why: String },
    #[error("field `{0}` does not decrypt")]
    Decrypt(String),
    #[error("field `{0}` decrypts to a value that is not of its type")]
    Value(String),
    #[error("field `{0}` does not match its commitment")]
    Commitment(String),
    #[error("field `{0}` does not match its pseudonym")]
    Pseudonym(String),
    /// A padded plaintext that is not the one padding of a value (under
    /// the policy's `pad` line): wrong class, length past the end, a
    /// non-zero padding byte, or a class larger than needed.
    #[error("field `{0}` is not padded as its policy says")]
    Padding(String),
}

/// How the caller came to see a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// In clear on the ledger.
    Public,
    /// Decrypted with the caller's data key.
    Decrypted,
    /// Decrypted opening, checked against the on-ledger commitment.
    CommitmentOpened,
    /// A masked or generalized value, in clear on the ledger.
    Derived,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenedField {
    pub name: String,
    pub value: Value,
    pub access: Access,
}

/// Opens what `me` may read. A pseudonym is checked when the caller holds the
/// ledger's pseudonym key (gateways of the ledger do; others pass `None`).
pub fn open(
    verified: &VerifiedEnvelope,
    me: &dyn KemDecap,
    pseudonym_key: Option<&PseudonymKey>,
) -> Result<Vec<OpenedField>, OpenError> {
    let data_key = unwrap_data_key(verified, me)?;
    open_with_data_key(verified, me.institution(), &data_key, pseudonym_key)
}

/// The data key of `me` in this envelope, unwrapped through its key store.
pub fn unwrap_data_key(
    verified: &VerifiedEnvelope,
    me: &dyn KemDecap,
) -> Result<DataKey, OpenError> {
    let env = verified.envelope();
    let who = me.institution();
    let r = env
        .recipients
        .iter()
        .find(|r| r.institution == who)
        .ok_or_else(|| OpenError::NotARecipient(who.to_owned()))?;
    let key =
        wrap_key_of(r, env.timestamp_ms, &me.keys()).ok_or_else(|| OpenError::KeyNotHeld {
            institution: who.to_owned(),
            key: r.key.map_or_else(
                || "in force at the envelope's time".to_owned(),
                |k| k.id.hex(),
            ),
        })?;
    let dh = me.dh(&key.id, &r.enc).map_err(|e| match e {
        crate::keys::KeyUseError::Device(why) => OpenError::KeyStore {
            institution: who.to_owned(),
            why,
        },
        _ => OpenError::KeyUnwrap(who.to_owned()),
    })?;
    env.suite
        .suite()
        .unwrap_key(
            key.kem,
            &dh,
            &r.enc,
            &key.kem_public,
            &bind::wrap_info(&env.ledger, &env.id),
            who.as_bytes(),
            &r.wrapped_key,
        )
        .map_err(|_| OpenError::KeyUnwrap(who.to_owned()))
}

/// The held key a recipient's data key is wrapped to: the one a format-4
/// envelope names, or (formats 1–3) the held key in force at its time.
fn wrap_key_of(r: &Recipient, timestamp_ms: u64, held: &[MemberKey]) -> Option<MemberKey> {
    match r.key {
        Some(w) => held
            .iter()
            .find(|k| k.id == w.id && k.kem == w.kem)
            .cloned(),
        None => held
            .iter()
            .filter(|k| k.from_ms.is_none_or(|f| f <= timestamp_ms))
            .max_by_key(|k| k.from_ms)
            .cloned(),
    }
}

/// Opens what `institution` may read, given its data key for this envelope
/// (unwrapped by [`unwrap_data_key`], or re-wrapped after a recovery).
pub fn open_with_data_key(
    verified: &VerifiedEnvelope,
    institution: &str,
    data_key: &DataKey,
    pseudonym_key: Option<&PseudonymKey>,
) -> Result<Vec<OpenedField>, OpenError> {
    let env = verified.envelope();
    let plan = verified.plan();
    let suite = env.suite.suite();
    let my_index = env
        .recipients
        .iter()
        .position(|r| r.institution == institution)
        .ok_or_else(|| OpenError::NotARecipient(institution.to_owned()))?;
    let mut out = Vec::new();
    // verify matched envelope fields to non-dropped plan fields one to one, in order.
    let planned = plan
        .fields
        .iter()
        .enumerate()
        .filter(|(_, f)| f.disclosure != Disclosure::Drop);
    for ((index, f), sealed) in planned.zip(&env.fields) {
        let name = &f.name;
        if let FieldBody::Public(bytes) = &sealed.body {
            let value =
                Value::decode(&f.ty, bytes).ok_or_else(|| OpenError::Value(name.clone()))?;
            out.push(OpenedField {
                name: name.clone(),
                value,
                access: Access::Public,
            });
            continue;
        }
        let Some(ct) = sealed
            .ciphertexts
            .iter()
            .find(|c| usize::from(c.recipient) == my_index)
        else {
            if let FieldBody::Derived(bytes) = &sealed.body {
                // Not a recipient of the full value: the derived form is what it sees.
                let shown = decode_derived(&f.disclosure, &f.ty, bytes)
                    .ok_or_else(|| OpenError::Value(name.clone()))?;
                out.push(OpenedField {
                    name: name.clone(),
                    value: shown,
                    access: Access::Derived,
                });
            }
            continue;
        };
        let dk = data_key;
        let aad = bind::field_aad(&env.ledger, &env.id, name, institution);
        let pt = zeroize::Zeroizing::new(
            suite
                .open_field(dk, bind::field_nonce(index), &aad, &ct.ciphertext)
                .map_err(|_| OpenError::Decrypt(name.clone()))?,
        );
        let set_field = crate::predicates::set_fields(plan).contains(name.as_str());
        let pt = match plan.padding {
            Some(p) if crate::seal::carries_value(&sealed.body, set_field) => {
                zeroize::Zeroizing::new(
                    p.unpad(&pt)
                        .map_err(|_| OpenError::Padding(name.clone()))?
                        .to_vec(),
                )
            }
            _ => pt,
        };
        let (value, access) = match &sealed.body {
            FieldBody::Committed { commitment, .. } => {
                let opening =
                    Opening::from_bytes(&pt).ok_or_else(|| OpenError::Value(name.clone()))?;
                if opening.commit().0 != *commitment {
                    return Err(OpenError::Commitment(name.clone()));
                }
                let value = match f.ty {
                    veilgate_policies::FieldType::Amount { scale } => Value::Amount {
                        minor: opening.value,
                        scale,
                    },
                    veilgate_policies::FieldType::Date => Value::Date(
                        veilgate_policies::record::civil_from_days(opening.value)
                            .ok_or_else(|| OpenError::Value(name.clone()))?,
                    ),
                    _ => Value::Int(opening.value),
                };
                (value, Access::CommitmentOpened)
            }
            FieldBody::Bn254Committed(commitment)
                if crate::predicates::set_fields(plan).contains(name.as_str()) =>
            {
                let opening = crate::predicates::SetOpening::from_bytes(&f.ty, &pt)
                    .ok_or_else(|| OpenError::Value(name.clone()))?;
                if veilgate_circuits::merkle::to_bytes(&opening.commitment()) != *commitment {
                    return Err(OpenError::Commitment(name.clone()));
                }
                (opening.value, Access::CommitmentOpened)
            }
            FieldBody::Bn254Committed(commitment) => {
                let opening = crate::predicates::Bn254Opening::from_bytes(&pt)
                    .ok_or_else(|| OpenError::Value(name.clone()))?;
                if veilgate_circuits::merkle::to_bytes(&opening.commitment()) != *commitment {
                    return Err(OpenError::Commitment(name.clone()));
                }
                let value = crate::predicates::value_from_bn254(&f.ty, opening.value)
                    .ok_or_else(|| OpenError::Value(name.clone()))?;
                (value, Access::CommitmentOpened)
            }
            FieldBody::Pseudonym(tag) => {
                let value =
                    Value::decode(&f.ty, &pt).ok_or_else(|| OpenError::Value(name.clone()))?;
                if let Some(k) = pseudonym_key {
                    if suite.pseudonym(&k.0, &bind::pseudonym_input(&env.ledger, &pt)) != *tag {
                        return Err(OpenError::Pseudonym(name.clone()));
                    }
                }
                (value, Access::Decrypted)
            }
            _ => (
                Value::decode(&f.ty, &pt).ok_or_else(|| OpenError::Value(name.clone()))?,
                Access::Decrypted,
            ),
        };
        out.push(OpenedField {
            name: name.clone(),
            value,
            access,
        });
    }
    Ok(out)
}

/// Decodes a derived value with the type its disclosure publishes.
fn decode_derived(
    d: &Disclosure,
    ty: &veilgate_policies::FieldType,
    bytes: &[u8],
) -> Option<Value> {
    Value::decode(&d.derived_type(ty), bytes)
}
