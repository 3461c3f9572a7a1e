//! The byte strings that bind ciphertexts, wrapped keys, proofs, pseudonyms and
//! signatures to their ledger, envelope, field and recipient. Seal, verify and
//! open all build them here, so the three can never disagree.

use veilgate_circuits::domain;

use crate::envelope::ENVELOPE_ID_LEN;
use crate::suite::Suite;

fn lp(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len().min(u16::MAX as usize) as u16).to_be_bytes());
    out.extend_from_slice(s);
}

/// Envelope id: the first 16 bytes of `H(ENVELOPE_ID ‖ ledger ‖ submitter ‖ idempotency key)`.
/// The same key from the same submitter names the same envelope, so a ledger
/// that refuses duplicate ids gives exactly-once delivery and replay refusal.
pub fn envelope_id(
    suite: &dyn Suite,
    ledger: &str,
    submitter: &str,
    idempotency_key: &str,
) -> [u8; ENVELOPE_ID_LEN] {
    let mut m = domain::ENVELOPE_ID.to_vec();
    lp(&mut m, ledger.as_bytes());
    lp(&mut m, submitter.as_bytes());
    lp(&mut m, idempotency_key.as_bytes());
    let h = suite.hash(&m);
    let mut id = [0u8; ENVELOPE_ID_LEN];
    id.copy_from_slice(h.get(..ENVELOPE_ID_LEN).unwrap_or(&[0; ENVELOPE_ID_LEN]));
    id
}

/// HPKE `info` for wrapping a data key in this envelope.
pub fn wrap_info(ledger: &str, id: &[u8; ENVELOPE_ID_LEN]) -> Vec<u8> {
    let mut m = domain::KEY_WRAP_INFO.to_vec();
    lp(&mut m, ledger.as_bytes());
    m.extend_from_slice(id);
    m
}

/// AES-GCM associated data of one field's ciphertext for one recipient.
pub fn field_aad(
    ledger: &str,
    id: &[u8; ENVELOPE_ID_LEN],
    field: &str,
    recipient: &str,
) -> Vec<u8> {
    let mut m = domain::FIELD_AAD.to_vec();
    lp(&mut m, ledger.as_bytes());
    m.extend_from_slice(id);
    lp(&mut m, field.as_bytes());
    lp(&mut m, recipient.as_bytes());
    m
}

/// Each recipient's data key is fresh for this envelope and encrypts each
/// field at most once, so the field's index in the plan is a unique nonce.
pub fn field_nonce(field_index: usize) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[8..].copy_from_slice(&(field_index as u32).to_be_bytes());
    n
}

/// Context a range proof is bound to (transcript input).
pub fn proof_context(ledger: &str, id: &[u8; ENVELOPE_ID_LEN], field: &str) -> Vec<u8> {
    let mut m = Vec::with_capacity(64);
    lp(&mut m, ledger.as_bytes());
    m.extend_from_slice(id);
    lp(&mut m, field.as_bytes());
    m
}

/// Context an aggregated range proof (format 3) is bound to: ledger,
/// envelope, the proof's index in the range section, and the names of the
/// fields it covers, in order.
pub fn aggregate_context(
    ledger: &str,
    id: &[u8; ENVELOPE_ID_LEN],
    index: u8,
    fields: &[&str],
) -> Vec<u8> {
    let mut m = Vec::with_capacity(64);
    lp(&mut m, ledger.as_bytes());
    m.extend_from_slice(id);
    m.push(index);
    m.push(u8::try_from(fields.len()).unwrap_or(u8::MAX));
    for f in fields {
        lp(&mut m, f.as_bytes());
    }
    m
}

/// Pseudonym input: ledger and canonical value. The field name is left out on
/// purpose, so one account seen as payer and as payee links within the ledger.
pub fn pseudonym_input(ledger: &str, value: &[u8]) -> Vec<u8> {
    let mut m = domain::PSEUDONYM.to_vec();
    lp(&mut m, ledger.as_bytes());
    m.extend_from_slice(value);
    m
}

/// What the submitter signs.
pub fn signature_input(signed_bytes: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(domain::ENVELOPE_SIGNATURE.len() + signed_bytes.len());
    m.extend_from_slice(domain::ENVELOPE_SIGNATURE);
    m.extend_from_slice(signed_bytes);
    m
}
