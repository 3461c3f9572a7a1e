//! A record waiting for its pseudonyms (`docs/formats/awaiting.md`):
//! `u8 format (1) ‖ u16 len ‖ ledger ‖ u16 len ‖ submitter ‖ u16 len ‖
//! policy id ‖ u32 policy version ‖ policy hash (32) ‖ u16 len ‖
//! idempotency key ‖ u64 accepted_ms ‖ record at rest` — the record at
//! rest (`veilgate_core::at_rest`) runs to the end of the value; it holds
//! `u16 count ‖ count × (u32 len ‖ canonical value)` in schema order,
//! encrypted to the submitter's own key.

use veilgate_codec::{Codec, CodecError, Reader, Writer};

/// The only format this build writes and reads.
pub const AWAITING_FORMAT: u8 = 1;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwaitingValue {
    pub ledger: String,
    pub submitter: String,
    pub policy: String,
    pub version: u32,
    pub policy_hash: [u8; 32],
    pub idempotency_key: String,
    pub accepted_ms: u64,
    pub record_at_rest: Vec<u8>,
}

impl Codec for AwaitingValue {
    fn encode(&self, out: &mut Vec<u8>) {
        out.put_u8(AWAITING_FORMAT);
        out.put_str_u16(&self.ledger);
        out.put_str_u16(&self.submitter);
        out.put_str_u16(&self.policy);
        out.put_u32(self.version);
        out.put(&self.policy_hash);
        out.put_str_u16(&self.idempotency_key);
        out.put_u64(self.accepted_ms);
        out.put(&self.record_at_rest);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        let at = r.offset();
        if r.u8("format")? != AWAITING_FORMAT {
            return Err(CodecError::Invalid {
                what: "format",
                offset: at,
                reason: "not format 1",
            });
        }
        Ok(AwaitingValue {
            ledger: r.str_u16("ledger")?.to_owned(),
            submitter: r.str_u16("submitter")?.to_owned(),
            policy: r.str_u16("policy id")?.to_owned(),
            version: r.u32("policy version")?,
            policy_hash: r.array("policy hash")?,
            idempotency_key: r.str_u16("idempotency key")?.to_owned(),
            accepted_ms: r.u64("accepted_ms")?,
            record_at_rest: r.rest().to_vec(),
        })
    }
}

/// A record's canonical values as the record at rest holds them.
pub fn encode_values(values: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    out.put_u16(u16::try_from(values.len()).unwrap_or(u16::MAX));
    for v in values {
        out.put_bytes_u32(v);
    }
    out
}

/// The canonical values back, one per schema field.
pub fn decode_values(bytes: &[u8]) -> Result<Vec<Vec<u8>>, CodecError> {
    let mut r = Reader::new(bytes);
    let n = r.u16("value count")?;
    let values = (0..n)
        .map(|_| r.bytes_u32("value").map(<[u8]>::to_vec))
        .collect::<Result<Vec<_>, _>>()?;
    r.finish()?;
    Ok(values)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn round_trip_refuses_truncation_and_other_formats() {
        let v = AwaitingValue {
            ledger: "interbank-settlement".into(),
            submitter: "bank-a".into(),
            policy: "interbank-payment".into(),
            version: 3,
            policy_hash: [9; 32],
            idempotency_key: "pay-1".into(),
            accepted_ms: 1_765_000_000_000,
            record_at_rest: vec![1, 2, 3],
        };
        let b = v.to_bytes();
        assert_eq!(b.len(), 1 + 22 + 8 + 19 + 4 + 32 + 7 + 8 + 3);
        assert_eq!(AwaitingValue::from_bytes(&b).unwrap(), v);
        for n in 0..b.len() - 3 {
            assert!(AwaitingValue::from_bytes(&b[..n]).is_err(), "prefix {n}");
        }
        let mut other = b.clone();
        other[0] = 2;
        assert!(AwaitingValue::from_bytes(&other).is_err());
        let values = vec![b"a".to_vec(), Vec::new(), vec![0xff; 300]];
        assert_eq!(decode_values(&encode_values(&values)).unwrap(), values);
        let enc = encode_values(&values);
        assert!(decode_values(&enc[..enc.len() - 1]).is_err());
    }
}
