//! A JSON rendering of an envelope for people and APIs: exactly what the
//! ledger holds, nothing more. Public values are shown decoded by their tag;
//! everything else as hex or base64.

use base64::Engine as _;
use serde_json::{json, Value as Json};

use crate::envelope::{Envelope, FieldBody};

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// Decodes a public value's canonical bytes by its type tag (see `docs/envelope.md`).
fn public_value(bytes: &[u8]) -> Json {
    let Some((&tag, body)) = bytes.split_first() else {
        return Json::Null;
    };
    match tag {
        1 | 4 | 5 | 7 => std::str::from_utf8(body).map_or(Json::Null, Json::from),
        2 | 6 => {
            <[u8; 8]>::try_from(body).map_or(Json::Null, |b| Json::from(i64::from_be_bytes(b)))
        }
        3 => Json::from(body == [1]),
        _ => Json::Null,
    }
}

pub fn envelope_json(env: &Envelope) -> Json {
    let fields: Vec<Json> = env
        .fields
        .iter()
        .map(|f| {
            let mut o = serde_json::Map::new();
            o.insert("name".into(), Json::from(f.name.as_str()));
            o.insert("kind".into(), Json::from(f.body.kind()));
            match &f.body {
                FieldBody::Public(v) => {
                    o.insert("value".into(), public_value(v));
                }
                FieldBody::Pseudonym(p) => {
                    o.insert("pseudonym".into(), Json::from(hex::encode(p)));
                }
                FieldBody::Oblivious { epoch, tag } => {
                    o.insert("pseudonym".into(), Json::from(hex::encode(tag)));
                    o.insert("epoch".into(), Json::from(*epoch));
                }
                FieldBody::Committed { commitment, proof } => {
                    o.insert("commitment".into(), Json::from(hex::encode(commitment)));
                    if let Some(p) = proof {
                        o.insert("range_proof".into(), Json::from(b64(p)));
                    }
                }
                FieldBody::Derived(v) => {
                    o.insert("value".into(), public_value(v));
                }
                FieldBody::Encrypted => {}
                FieldBody::Bn254Committed(c) => {
                    o.insert("commitment".into(), Json::from(hex::encode(c)));
                }
            }
            if !f.ciphertexts.is_empty() {
                let cts: Vec<Json> = f
                    .ciphertexts
                    .iter()
                    .map(|c| {
                        let to = env
                            .recipients
                            .get(usize::from(c.recipient))
                            .map(|r| r.institution.as_str());
                        json!({ "to": to, "ciphertext": b64(&c.ciphertext) })
                    })
                    .collect();
                o.insert("ciphertexts".into(), Json::from(cts));
            }
            Json::Object(o)
        })
        .collect();
    json!({
        "format": env.format_version(),
        "suite": env.suite.name(),
        "ledger": env.ledger,
        "envelope_id": hex::encode(env.id),
        "policy": { "id": env.policy.id, "version": env.policy.version, "hash": hex::encode(env.policy.hash) },
        "submitter": env.submitter,
        "timestamp_ms": env.timestamp_ms,
        "idempotency_key": env.idempotency_key,
        "recipients": env.recipients.iter().map(|r| json!({
            "institution": r.institution, "enc": hex::encode(&r.enc), "wrapped_key": b64(&r.wrapped_key)
        })).collect::<Vec<_>>(),
        "fields": fields,
        "predicates": env.predicates.iter().map(|p| json!({
            "circuit": match p.circuit { 1 => "compare", 2 => "linear-sum", 3 => "date-threshold", _ => "unknown" },
            "key_id": hex::encode(p.key_id),
            "proofs": p.proofs.iter().map(|b| b64(b)).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "conditions": env.conditions,
        "range_proofs": env.range_proofs.iter().map(|b| b64(b)).collect::<Vec<_>>(),
        "signature": hex::encode(&env.signature),
    })
}
