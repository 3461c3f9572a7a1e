//! Every stored and hashed format against its known answers in
//! `docs/formats/vectors/`. The audit, outbox and ledger-entry vectors were
//! computed from the documents alone (`independent.py`), so these tests
//! check the code against the docs; the record-digest, plan-hash and
//! verdict vectors were made once by this code and frozen. The awaiting
//! values were computed from `awaiting.md`'s table by a one-off script;
//! their records at rest were sealed once by this code (sealing draws fresh
//! randomness, so only opening can be checked) and frozen. Tests only read
//! the files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use serde_json::Value;
use veilgate_codec::Codec;
use veilgate_server::audit::anchor::Anchor;
use veilgate_server::audit::{verify_chain, Action, AuditEntry, AuditEvent};
use veilgate_server::store::awaiting::{decode_values, encode_values, AwaitingValue};
use veilgate_server::store::OutboxValue;

fn vectors(name: &str) -> Value {
    let path = format!(
        "{}/../../docs/formats/vectors/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).expect(&path)).unwrap()
}

fn hex16(v: &Value) -> Option<[u8; 16]> {
    v.as_str()
        .map(|s| hex::decode(s).unwrap().try_into().unwrap())
}

fn hex32(v: &Value) -> [u8; 32] {
    hex::decode(v.as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap()
}

fn action(name: &str) -> Action {
    Action::ALL
        .into_iter()
        .find(|a| a.as_str() == name)
        .unwrap()
}

#[test]
fn audit_entries_hash_and_store_as_documented() {
    let v = vectors("audit-v1.json");
    let mut log: Vec<AuditEntry> = Vec::new();
    for e in v["entries"].as_array().unwrap() {
        let event = AuditEvent {
            actor: e["actor"].as_str().unwrap().into(),
            action: action(e["action"].as_str().unwrap()),
            ledger: e["ledger"].as_str().map(str::to_owned),
            envelope_id: hex16(&e["envelope_id"]),
            detail: e["detail"].as_str().map(str::to_owned),
        };
        let entry = AuditEntry::chain(log.last(), e["time_ms"].as_u64().unwrap(), event);
        assert_eq!(entry.seq, e["seq"].as_u64().unwrap());
        assert_eq!(hex::encode(entry.prev), e["prev"].as_str().unwrap());
        assert_eq!(hex::encode(entry.hash), e["hash"].as_str().unwrap());
        let stored = hex::decode(e["stored"].as_str().unwrap()).unwrap();
        assert_eq!(entry.to_bytes(), stored);
        assert_eq!(AuditEntry::from_bytes(&stored).unwrap(), entry);
        log.push(entry);
    }
    assert_eq!(verify_chain(&log).unwrap(), 5);

    let a = &v["anchor"];
    let head = log.last().unwrap();
    let anchor = Anchor::of(head);
    assert_eq!(anchor.seq, a["seq"].as_u64().unwrap());
    assert_eq!(hex::encode(anchor.to_bytes()), a["bytes"].as_str().unwrap());
    assert_eq!(hex::encode(anchor.id()), a["id"].as_str().unwrap());
    assert_eq!(
        veilgate_server::audit::anchor::parse(&anchor.to_bytes()),
        Some(anchor)
    );
}

#[test]
fn outbox_values_are_as_documented() {
    for c in vectors("outbox-v1.json")["values"].as_array().unwrap() {
        let value = OutboxValue {
            envelope_id: hex16(&c["envelope_id"]).unwrap(),
            ledger: c["ledger"].as_str().unwrap().into(),
            envelope: hex::decode(c["envelope"].as_str().unwrap()).unwrap(),
        };
        let bytes = hex::decode(c["value"].as_str().unwrap()).unwrap();
        assert_eq!(value.to_bytes(), bytes);
        assert_eq!(OutboxValue::from_bytes(&bytes).unwrap(), value);
    }
}

#[test]
fn ledger_entry_hashes_are_as_documented() {
    for e in vectors("ledger-entry-v1.json")["entries"]
        .as_array()
        .unwrap()
    {
        let h = veilgate_ledger::entry_hash(
            e["sequence"].as_u64().unwrap(),
            &hex32(&e["prev_hash"]),
            &hex16(&e["id"]).unwrap(),
            &hex::decode(e["bytes"].as_str().unwrap()).unwrap(),
        );
        assert_eq!(hex::encode(h), e["entry_hash"].as_str().unwrap());
    }
}

#[test]
fn template_plan_hashes_are_the_known_answers() {
    let v = vectors("plan-hash-v1.json");
    let want = v["plans"].as_array().unwrap();
    assert_eq!(want.len(), veilgate_policies::TEMPLATES.len());
    for p in want {
        let name = p["policy"].as_str().unwrap();
        let (_, text) = veilgate_policies::TEMPLATES
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap();
        let plan = veilgate_policies::compile(text).unwrap();
        assert_eq!(
            hex::encode(plan.hash()),
            p["plan_hash"].as_str().unwrap(),
            "{name}"
        );
    }
}

#[test]
fn record_digests_are_the_known_answers() {
    for r in vectors("record-digest-v1.json")["records"]
        .as_array()
        .unwrap()
    {
        let name = r["policy"].as_str().unwrap();
        let (_, text) = veilgate_policies::TEMPLATES
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap();
        let plan = veilgate_policies::compile(text).unwrap();
        assert_eq!(hex::encode(plan.hash()), r["plan_hash"].as_str().unwrap());
        let record = plan.validate_record(&r["record"]).unwrap();
        let digest = veilgate_server::store::record_digest(&plan.hash(), &record);
        assert_eq!(hex::encode(digest), r["digest"].as_str().unwrap(), "{name}");
    }
}

#[test]
fn verdicts_are_stored_as_the_documented_json() {
    use veilgate_server::peer::Verdict;
    for text in vectors("verdict-v1.json")["verdicts"].as_array().unwrap() {
        let text = text.as_str().unwrap();
        let v: Verdict = serde_json::from_str(text).unwrap();
        assert_eq!(serde_json::to_string(&v).unwrap(), text);
    }
}

#[test]
fn awaiting_values_are_as_documented() {
    for c in vectors("awaiting-v1.json")["values"].as_array().unwrap() {
        let value = AwaitingValue {
            ledger: c["ledger"].as_str().unwrap().into(),
            submitter: c["submitter"].as_str().unwrap().into(),
            policy: c["policy"].as_str().unwrap().into(),
            version: u32::try_from(c["version"].as_u64().unwrap()).unwrap(),
            policy_hash: hex32(&c["policy_hash"]),
            idempotency_key: c["idempotency_key"].as_str().unwrap().into(),
            accepted_ms: c["accepted_ms"].as_u64().unwrap(),
            record_at_rest: hex::decode(c["record_at_rest"].as_str().unwrap()).unwrap(),
        };
        let bytes = hex::decode(c["value"].as_str().unwrap()).unwrap();
        assert_eq!(value.to_bytes(), bytes);
        assert_eq!(AwaitingValue::from_bytes(&bytes).unwrap(), value);
    }
}

/// A record at rest opens, with the documented key, to the documented
/// values — and only for its own envelope id.
#[test]
fn records_at_rest_open_to_the_documented_values() {
    use veilgate_core::at_rest::{open_at_rest, AtRestError};
    use veilgate_core::{InstitutionSecrets, SuiteId};
    for r in vectors("awaiting-v1.json")["records_at_rest"]
        .as_array()
        .unwrap()
    {
        let suite = SuiteId::from_name(r["suite"].as_str().unwrap()).unwrap();
        let me = InstitutionSecrets::from_json(&r["secrets"].to_string()).unwrap();
        assert_eq!(hex::encode(me.key().id.0), r["key_id"].as_str().unwrap());
        assert_eq!(me.key().kem as u64, r["kem"].as_u64().unwrap());
        let id = hex16(&r["envelope_id"]).unwrap();
        let sealed = hex::decode(r["record_at_rest"].as_str().unwrap()).unwrap();
        let plain = hex::decode(r["plaintext"].as_str().unwrap()).unwrap();
        let values: Vec<Vec<u8>> = r["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| hex::decode(v.as_str().unwrap()).unwrap())
            .collect();
        assert_eq!(
            open_at_rest(suite, &me, &id, &sealed).unwrap().as_slice(),
            plain.as_slice()
        );
        assert_eq!(decode_values(&plain).unwrap(), values);
        assert_eq!(encode_values(&values), plain);
        let mut other = id;
        other[0] ^= 1;
        assert_eq!(
            open_at_rest(suite, &me, &other, &sealed),
            Err(AtRestError::Crypto)
        );
    }
}
