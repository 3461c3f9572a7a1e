//! An outbox value (`docs/formats/outbox.md`):
//! `envelope id (16) ‖ u16 ledger length ‖ ledger (UTF-8) ‖ envelope`
//! — the envelope runs to the end of the value.

use veilgate_codec::{Codec, CodecError, Reader, Writer};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxValue {
    pub envelope_id: [u8; 16],
    pub ledger: String,
    pub envelope: Vec<u8>,
}

impl Codec for OutboxValue {
    fn encode(&self, out: &mut Vec<u8>) {
        out.put(&self.envelope_id);
        out.put_str_u16(&self.ledger);
        out.put(&self.envelope);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        Ok(OutboxValue {
            envelope_id: r.array("envelope id")?,
            ledger: r.str_u16("ledger")?.to_owned(),
            envelope: r.rest().to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn round_trip_and_truncation() {
        let v = OutboxValue {
            envelope_id: [0xab; 16],
            ledger: "interbank-settlement".into(),
            envelope: vec![2, 0, 1],
        };
        let b = v.to_bytes();
        assert_eq!(b.len(), 16 + 2 + 20 + 3);
        assert_eq!(OutboxValue::from_bytes(&b).unwrap(), v);
        for n in 0..18 + 20 {
            assert!(OutboxValue::from_bytes(&b[..n]).is_err(), "prefix {n}");
        }
    }
}
