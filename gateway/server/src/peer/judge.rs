//! The judge: ledger entries in, verdicts out. Pure: no I/O, no clock; the
//! randomness for batch verification is an argument.

use veilgate_core::time::Skew;
use veilgate_core::Trust;
use veilgate_ledger::Entry;

use super::{PeerError, Verdict, VerdictKind};

/// One entry to judge and what it is.
pub struct Judged<'a> {
    pub entry: &'a Entry,
    pub kind: EntryKind,
}

/// What a ledger entry is, as the follower read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// An envelope (or bytes that claim to be one): verified.
    Envelope,
    /// An audit anchor.
    Anchor,
    /// A set root entry, and whether the follower's book admitted it (it
    /// admits roots in ledger order, each before the entries after it are
    /// judged).
    SetRoot(Result<(), veilgate_core::sets::SetError>),
    /// A key event entry, and whether the follower admitted it (in ledger
    /// order, as set roots).
    KeyEvent(Result<(), veilgate_core::keybook::KeyEventError>),
}

/// The verdicts on consecutive entries, in order. The envelopes among them
/// are verified together (their proofs in one batch); anchors and set roots
/// are recorded as such (a root the book refused, as rejected). A valid
/// envelope whose signed time is outside `skew` of the ledger's time for its
/// entry is rejected (`time_outside_skew`); an entry without a ledger time
/// (written by an older ledger file) is judged on its signature alone.
pub fn judge(
    entries: &[Judged<'_>],
    trust: &Trust,
    skew: &Skew,
    rng: &mut dyn veilgate_core::suite::RngCoreCrypto,
) -> Result<Vec<Verdict>, PeerError> {
    let envelopes: Vec<&[u8]> = entries
        .iter()
        .filter(|j| j.kind == EntryKind::Envelope)
        .map(|j| j.entry.envelope.as_slice())
        .collect();
    let mut results = veilgate_core::verify_batch(&envelopes, trust, rng).into_iter();
    let mut out = Vec::with_capacity(entries.len());
    for j in entries {
        let blank = |verdict| blank(j.entry, verdict);
        match &j.kind {
            EntryKind::Envelope => {}
            EntryKind::Anchor => {
                out.push(blank(VerdictKind::Anchor));
                continue;
            }
            EntryKind::SetRoot(Ok(())) => {
                out.push(blank(VerdictKind::SetRoot));
                continue;
            }
            EntryKind::SetRoot(Err(e)) => {
                out.push(Verdict {
                    code: Some(e.code().to_owned()),
                    reason: Some(e.to_string()),
                    ..blank(VerdictKind::Rejected)
                });
                continue;
            }
            EntryKind::KeyEvent(Ok(())) => {
                out.push(blank(VerdictKind::KeyEvent));
                continue;
            }
            EntryKind::KeyEvent(Err(e)) => {
                out.push(Verdict {
                    code: Some(e.code().to_owned()),
                    reason: Some(e.to_string()),
                    ..blank(VerdictKind::Rejected)
                });
                continue;
            }
        }
        let timed = |signed_ms| match j.entry.appended_ms {
            Some(ledger_ms) => skew.check(signed_ms, ledger_ms),
            None => Ok(()),
        };
        out.push(match results.next() {
            Some(Ok(v)) if timed(v.envelope().timestamp_ms).is_err() => {
                let refusal = timed(v.envelope().timestamp_ms).err();
                Verdict {
                    code: refusal.as_ref().map(|r| r.code().to_owned()),
                    reason: refusal.map(|r| r.to_string()),
                    submitter: Some(v.envelope().submitter.clone()),
                    ..blank(VerdictKind::Rejected)
                }
            }
            Some(Ok(v)) => Verdict {
                policy: Some(format!("{} v{}", v.plan().id, v.plan().version)),
                submitter: Some(v.envelope().submitter.clone()),
                ..blank(VerdictKind::Valid)
            },
            Some(Err(r)) => Verdict {
                code: Some(r.code().to_owned()),
                reason: Some(r.to_string()),
                ..blank(VerdictKind::Rejected)
            },
            None => return Err(PeerError::LostVerdict),
        });
    }
    Ok(out)
}

fn blank(e: &Entry, verdict: VerdictKind) -> Verdict {
    Verdict {
        sequence: e.sequence,
        envelope_id: hex::encode(e.envelope_id),
        verdict,
        code: None,
        reason: None,
        policy: None,
        submitter: None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn entry(sequence: u64, envelope: &[u8]) -> Entry {
        Entry {
            sequence,
            envelope_id: [sequence as u8; 16],
            envelope: envelope.to_vec(),
            entry_hash: [0; 32],
            prev_hash: [0; 32],
            appended_ms: Some(1_796_000_000_000),
        }
    }

    #[test]
    fn anchors_are_named_and_garbage_is_rejected_in_order() {
        let (a, b, c) = (
            entry(0, b"VGAA"),
            entry(1, b"not an envelope"),
            entry(2, b"VGAA"),
        );
        let entries = [
            Judged {
                entry: &a,
                kind: EntryKind::Anchor,
            },
            Judged {
                entry: &b,
                kind: EntryKind::Envelope,
            },
            Judged {
                entry: &c,
                kind: EntryKind::Anchor,
            },
        ];
        let v = judge(
            &entries,
            &Trust::new(
                veilgate_core::LedgerDirectory {
                    ledger: "l".into(),
                    suite: "standard".into(),
                    members: Vec::new(),
                    roles: Default::default(),
                    sees_all: Vec::new(),
                    sets: std::collections::BTreeMap::new(),
                    pseudonyms: None,
                },
                veilgate_core::PolicySet::default(),
                std::sync::Arc::new(veilgate_core::predicates::KeyRing::development()),
            ),
            &Skew::default(),
            &mut rand_core::OsRng,
        )
        .unwrap();
        let kinds: Vec<_> = v.iter().map(|v| (v.sequence, v.verdict)).collect();
        assert_eq!(
            kinds,
            [
                (0, VerdictKind::Anchor),
                (1, VerdictKind::Rejected),
                (2, VerdictKind::Anchor)
            ]
        );
        assert_eq!(v[1].code.as_deref(), Some("malformed"));
        assert!(v[1].policy.is_none() && v[1].submitter.is_none());
    }
}
