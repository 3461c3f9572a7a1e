//! The follower: reads a ledger from its cursor, learns the policies the
//! envelopes name, has the judge rule on each batch and records verdicts.

use std::path::Path;
use std::sync::{Arc, Mutex};

use veilgate_core::Trust;
use veilgate_ledger::{Entry, Ledger};

use super::judge::{judge, EntryKind, Judged};
use super::{PeerError, Verdict, VerdictKind, Verdicts};
use crate::metrics::Metrics;

/// Entries verified together (their proofs in one batch).
pub const BATCH: u64 = 64;

/// Where a follower of `ledger_id` keeps its verdicts by default.
pub fn default_state(data: &Path, ledger_id: &str) -> std::path::PathBuf {
    data.join("follow").join(format!("{ledger_id}.redb"))
}

pub struct Follower {
    ledger: Arc<dyn Ledger>,
    /// Policies learned from the ledger's registry join its policies; its
    /// directory is `directory` with the key events admitted so far.
    trust: Trust,
    /// The directory as configured (the file's).
    directory: veilgate_core::LedgerDirectory,
    keys: veilgate_core::keybook::KeyBook,
    verdicts: Verdicts,
    skew: veilgate_core::time::Skew,
}

impl Follower {
    /// A follower of `ledger`, its verdicts kept in the redb file `state`.
    pub fn new(ledger: Arc<dyn Ledger>, trust: Trust, state: &Path) -> Result<Follower, PeerError> {
        let mut f = Follower {
            ledger,
            directory: trust.directory.clone(),
            keys: Default::default(),
            trust,
            verdicts: Verdicts::open(state)?,
            skew: veilgate_core::time::Skew::default(),
        };
        f.admit_sets_before_cursor()?;
        Ok(f)
    }

    /// Judges signed times with `skew` (the data directory's `[time]`).
    pub fn with_skew(mut self, skew: veilgate_core::time::Skew) -> Follower {
        self.skew = skew;
        self
    }

    /// Rebuilds the set book and the key events from the entries before the
    /// cursor (already judged in an earlier run), in ledger order, as they
    /// were admitted then.
    fn admit_sets_before_cursor(&mut self) -> Result<(), PeerError> {
        let cursor = self.cursor()?;
        for sequence in 0..cursor {
            let Some(entry) = self.ledger.by_sequence(sequence)? else {
                break;
            };
            // One refused then is refused again; its verdict is recorded.
            let _ = self.admit_key_event(&entry);
            if let Some(root) = veilgate_core::sets::in_entry(&entry.envelope_id, &entry.envelope) {
                let directory = self.trust.directory.clone();
                let _ = std::sync::Arc::make_mut(&mut self.trust.sets).admit(root, &directory);
            }
        }
        Ok(())
    }

    /// Admits the key event `entry` is, if it is one: `None` if it is not.
    fn admit_key_event(
        &mut self,
        entry: &Entry,
    ) -> Option<Result<(), veilgate_core::keybook::KeyEventError>> {
        let event = veilgate_core::keybook::in_entry(&entry.envelope_id, &entry.envelope)?;
        let admitted = self.keys.admit(event, &self.directory);
        if admitted.is_ok() {
            self.trust.directory = self.keys.apply(&self.directory);
        }
        Some(admitted)
    }

    /// The next ledger position without a verdict.
    pub fn cursor(&self) -> Result<u64, PeerError> {
        self.verdicts.cursor()
    }

    pub fn verdicts(&self) -> Verdicts {
        self.verdicts.clone()
    }

    /// Verifies every entry from the cursor to the ledger's confirmed head,
    /// records and returns the verdicts. Entries are judged in batches of up
    /// to [`BATCH`], and each batch's verdicts are recorded in one
    /// transaction. An entry that cannot be read (or whose policy cannot be
    /// fetched) ends the pass after the entries before it are recorded, to
    /// be retried next time.
    pub fn step(&mut self) -> Result<Vec<Verdict>, PeerError> {
        let mut out = Vec::new();
        let head = self.ledger.len()?;
        let mut next = self.cursor()?;
        while next < head {
            let end = head.min(next + BATCH);
            let (entries, stopped) = self.fetch_run(next, end);
            if entries.is_empty() {
                return match stopped {
                    Some(e) => Err(e),
                    None => Ok(out),
                };
            }
            let judged: Vec<Judged<'_>> = entries
                .iter()
                .map(|(entry, kind)| Judged {
                    entry,
                    kind: kind.clone(),
                })
                .collect();
            let verdicts = judge(&judged, &self.trust, &self.skew, &mut rand_core::OsRng)?;
            self.verdicts.record(&verdicts)?;
            next += verdicts.len() as u64;
            out.extend(verdicts);
            if let Some(e) = stopped {
                tracing::warn!(error = %e, sequence = next, "following stopped at an entry; will retry");
                return Ok(out);
            }
        }
        Ok(out)
    }

    /// Entries `next..end` up to the first that cannot be fetched, and why
    /// that one could not. A set root ends the run: the entries before it
    /// are judged with the roots before them, and it is admitted (and judged
    /// alone) when it opens a run.
    fn fetch_run(&mut self, next: u64, end: u64) -> (Vec<(Entry, EntryKind)>, Option<PeerError>) {
        let mut entries = Vec::new();
        for sequence in next..end {
            match self.fetch(sequence, entries.is_empty()) {
                Ok(Some(entry)) => {
                    let root = matches!(entry.1, EntryKind::SetRoot(_) | EntryKind::KeyEvent(_));
                    entries.push(entry);
                    if root {
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => return (entries, Some(e)),
            }
        }
        (entries, None)
    }

    /// Reads one entry and tells what it is; learns the policy an envelope
    /// names; admits a set root into the follower's book when `first` in its
    /// run (else `None`: it opens the next run).
    fn fetch(
        &mut self,
        sequence: u64,
        first: bool,
    ) -> Result<Option<(Entry, EntryKind)>, PeerError> {
        let entry = self
            .ledger
            .by_sequence(sequence)?
            .ok_or(PeerError::NotReadable(sequence))?;
        if crate::audit::anchor::in_entry(&entry.envelope_id, &entry.envelope).is_some() {
            return Ok(Some((entry, EntryKind::Anchor)));
        }
        if entry
            .envelope
            .starts_with(veilgate_core::keybook::KEY_EVENT_MAGIC)
            && veilgate_core::keybook::in_entry(&entry.envelope_id, &entry.envelope).is_some()
        {
            if !first {
                return Ok(None);
            }
            let admitted = self.admit_key_event(&entry).unwrap_or(Ok(()));
            return Ok(Some((entry, EntryKind::KeyEvent(admitted))));
        }
        if let Some(root) = veilgate_core::sets::in_entry(&entry.envelope_id, &entry.envelope) {
            if !first {
                return Ok(None);
            }
            let directory = self.trust.directory.clone();
            let admitted = std::sync::Arc::make_mut(&mut self.trust.sets).admit(root, &directory);
            return Ok(Some((entry, EntryKind::SetRoot(admitted))));
        }
        self.learn_policy(&entry.envelope)?;
        Ok(Some((entry, EntryKind::Envelope)))
    }

    /// The policy an envelope names: configured, or published on the ledger.
    fn learn_policy(&mut self, bytes: &[u8]) -> Result<(), PeerError> {
        let Ok(env) = veilgate_core::Envelope::decode(bytes) else {
            return Ok(()); // the judge rejects it as malformed
        };
        let hash = env.policy.hash;
        if self.trust.policies.get(&hash).is_some() {
            return Ok(());
        }
        if let Some(text) = self.ledger.policy_text(&hash)? {
            // The registry's word is checked: the text must compile to the hash.
            match veilgate_policies::compile(&text) {
                Ok(plan) if plan.hash() == hash => self.trust.policies.insert(plan),
                // The envelope is then judged `unknown_policy`; say why here.
                Ok(_) => {
                    tracing::warn!(policy = %hex::encode(hash), "the ledger's policy text compiles to another hash; not trusted")
                }
                Err(e) => {
                    tracing::warn!(policy = %hex::encode(hash), error = %e, "the ledger's policy text does not compile; not trusted")
                }
            }
        }
        Ok(())
    }
}

/// The gateway's follower task: once a second, verifies what its followed
/// ledgers gained, counting verdicts in the metrics.
pub async fn run(
    followers: Vec<(String, Arc<Mutex<Follower>>)>,
    metrics: Arc<Metrics>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    if followers.is_empty() {
        return;
    }
    while !*stop.borrow() {
        for (id, follower) in &followers {
            let f = follower.clone();
            let stepped = tokio::task::spawn_blocking(move || {
                // A step that panicked left nothing half-done: verdicts are
                // recorded batch by batch in one transaction each, so the
                // follower carries on from its cursor.
                let mut f = f.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                let verdicts = f.step()?;
                Ok::<_, PeerError>((verdicts, f.cursor()?))
            })
            .await;
            match stepped {
                Ok(Ok((verdicts, cursor))) => {
                    for v in &verdicts {
                        if v.verdict == VerdictKind::Rejected {
                            tracing::warn!(ledger = %id, sequence = v.sequence,
                                envelope_id = %v.envelope_id,
                                code = v.code.as_deref().unwrap_or(""), "rejected ledger entry");
                        }
                        metrics.verdict(id, v.verdict.as_str());
                    }
                    metrics.follow_position(id, cursor);
                }
                Ok(Err(e)) => {
                    tracing::warn!(ledger = %id, error = %e, "following the ledger failed; will retry")
                }
                // A panicked step: the next pass retries from the cursor.
                Err(e) => {
                    tracing::error!(ledger = %id, error = %e, "following the ledger panicked; will retry")
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_millis(1000)) => {}
            _ = stop.changed() => {}
        }
    }
}
