//! `veilgate follow`: a peer that tails a ledger and verifies every entry.
//!
//! It reads the gateway configuration for where the ledger is and who its
//! members are (the directory), takes each envelope in ledger order, and
//! verifies it as a peer does (`veilgate_core::verify_batch`: signature, membership,
//! envelope id, the policy by hash, shape, every range and Groth16 proof).
//! The policy is the one published on the ledger under the hash the envelope
//! names — fetched from the EVM registry, and checked to compile to that hash
//! — or, for an embedded ledger, one of the configured policy files. Each
//! verdict is recorded in `follow/<ledger>.redb` (its own file: a follower
//! runs beside a gateway) and printed as a JSON line; after a restart it
//! resumes after the last recorded verdict.

use std::path::Path;
use std::sync::Arc;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use veilgate_core::{Directory, PolicySet};
use veilgate_ledger::Ledger;

use crate::config::{Config, CONFIG_FILE};

const VERDICTS: TableDefinition<u64, &[u8]> = TableDefinition::new("verdicts");
/// Entries verified together (their proofs in one batch).
pub const BATCH: u64 = 64;

pub fn default_state(data: &Path, ledger_id: &str) -> std::path::PathBuf {
    data.join("follow").join(format!("{ledger_id}.redb"))
}

/// The verdict on one ledger entry. Carries no field value: ids, codes and
/// the rejection's message (which names fields and rules, never values).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub sequence: u64,
    pub envelope_id: String,
    /// `valid`, `rejected`, or `anchor` (an audit-log anchor, not an envelope).
    pub verdict: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submitter: Option<String>,
}

pub struct Follower {
    ledger: Arc<dyn Ledger>,
    directory: veilgate_core::LedgerDirectory,
    policies: PolicySet,
    db: Arc<Database>,
}

/// Reads verdicts while the follower works (redb readers do not wait for
/// its writes).
#[derive(Clone)]
pub struct Verdicts(Arc<Database>);

impl Verdicts {
    pub fn get(&self, sequence: u64) -> Result<Option<Verdict>, String> {
        let tx = self.0.begin_read().map_err(err)?;
        let t = tx.open_table(VERDICTS).map_err(err)?;
        let found = t.get(sequence).map_err(err)?;
        found
            .map(|v| serde_json::from_slice(v.value()).map_err(err))
            .transpose()
    }
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

impl Follower {
    /// A follower built from the gateway configuration in `data`; verdicts in
    /// `state`, or `follow/<ledger>.redb` (the file a gateway that follows the
    /// ledger itself uses: one process at a time).
    pub fn open(data: &Path, ledger_id: &str, state: Option<&Path>) -> Result<Follower, String> {
        let cfg_path = data.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&cfg_path)
            .map_err(|e| format!("{}: {e}", cfg_path.display()))?;
        let config = Config::parse(&text).map_err(|e| format!("{}: {e}", cfg_path.display()))?;
        let lc = config
            .ledgers
            .iter()
            .find(|l| l.id == ledger_id)
            .ok_or_else(|| format!("ledger `{ledger_id}` is not in {}", cfg_path.display()))?;
        let dir_path = data.join(&config.directory);
        let directory = Directory::from_json(
            &std::fs::read_to_string(&dir_path)
                .map_err(|e| format!("{}: {e}", dir_path.display()))?,
        )
        .map_err(err)?
        .ledger(ledger_id)
        .cloned()
        .ok_or_else(|| format!("ledger `{ledger_id}` is not in {}", dir_path.display()))?;
        let (policies, _) = crate::state::load_policies(lc, data).map_err(err)?;
        let ledger = crate::state::ledger_adapters(lc, &data.join("ledgers").join(ledger_id), data)
            .map_err(err)?;
        Follower::new(
            ledger,
            directory,
            policies,
            state.unwrap_or(&default_state(data, ledger_id)),
        )
    }

    /// A follower of `ledger`, its verdicts kept in the redb file `state`.
    pub fn new(
        ledger: Arc<dyn Ledger>,
        directory: veilgate_core::LedgerDirectory,
        policies: PolicySet,
        state: &Path,
    ) -> Result<Follower, String> {
        if let Some(dir) = state.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let db = Database::create(state).map_err(|e| format!("{}: {e}", state.display()))?;
        let tx = db.begin_write().map_err(err)?;
        tx.open_table(VERDICTS).map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(Follower {
            ledger,
            directory,
            policies,
            db: Arc::new(db),
        })
    }

    /// The next ledger position without a verdict.
    pub fn cursor(&self) -> Result<u64, String> {
        let tx = self.db.begin_read().map_err(err)?;
        let t = tx.open_table(VERDICTS).map_err(err)?;
        let next = t.last().map_err(err)?.map_or(0, |(k, _)| k.value() + 1);
        Ok(next)
    }

    pub fn verdicts(&self) -> Verdicts {
        Verdicts(self.db.clone())
    }

    /// The policy an envelope names: configured, or published on the ledger.
    fn learn_policy(&mut self, bytes: &[u8]) -> Result<(), String> {
        let Ok(env) = veilgate_core::Envelope::decode(bytes) else {
            return Ok(()); // `verify` reports it
        };
        let hash = env.policy.hash;
        if self.policies.get(&hash).is_some() {
            return Ok(());
        }
        if let Some(text) = self.ledger.policy_text(&hash).map_err(err)? {
            // The registry's word is checked: the text must compile to the hash.
            if let Ok(plan) = veilgate_policies::compile(&text) {
                if plan.hash() == hash {
                    self.policies.insert(plan);
                }
            }
        }
        Ok(())
    }

    /// Verifies every entry from the cursor to the ledger's confirmed head,
    /// records and returns the verdicts. Entries are verified in batches of
    /// up to [`BATCH`] (`veilgate_core::verify_batch`: the proofs of a batch
    /// checked together), and each batch's verdicts are recorded in one
    /// transaction. A ledger error stops the pass (nothing is recorded for
    /// an entry not read).
    pub fn step(&mut self) -> Result<Vec<Verdict>, String> {
        let mut out = Vec::new();
        let head = self.ledger.len().map_err(err)?;
        let mut next = self.cursor()?;
        while next < head {
            let end = head.min(next + BATCH);
            // Entries up to the first one that cannot be read (or whose
            // policy cannot be fetched): those are judged and recorded, and
            // the pass stops there, to retry that entry next time.
            let mut entries = Vec::new();
            let mut stopped = None;
            for sequence in next..end {
                match self.fetch(sequence) {
                    Ok(entry) => entries.push(entry),
                    Err(e) => {
                        stopped = Some(e);
                        break;
                    }
                }
            }
            if entries.is_empty() {
                return match stopped {
                    Some(e) => Err(e),
                    None => Ok(out),
                };
            }
            let verdicts = self.judge(&entries)?;
            let tx = self.db.begin_write().map_err(err)?;
            {
                let mut t = tx.open_table(VERDICTS).map_err(err)?;
                for v in &verdicts {
                    t.insert(v.sequence, serde_json::to_vec(v).map_err(err)?.as_slice())
                        .map_err(err)?;
                }
            }
            tx.commit().map_err(err)?;
            next += verdicts.len() as u64;
            out.extend(verdicts);
            if let Some(e) = stopped {
                tracing::warn!(error = %e, sequence = next, "following stopped at an entry; will retry");
                return Ok(out);
            }
        }
        Ok(out)
    }

    /// Reads one entry, tells whether it is an audit anchor, and learns
    /// the policy an envelope names.
    fn fetch(&mut self, sequence: u64) -> Result<(veilgate_ledger::Entry, bool), String> {
        let entry = self
            .ledger
            .by_sequence(sequence)
            .map_err(err)?
            .ok_or_else(|| format!("ledger entry {sequence} is not readable yet"))?;
        let anchor = crate::audit::parse_anchor(&entry.envelope).is_some();
        if !anchor {
            self.learn_policy(&entry.envelope)?;
        }
        Ok((entry, anchor))
    }

    /// The verdicts on consecutive entries (each with whether it is an
    /// anchor), in order.
    fn judge(&self, entries: &[(veilgate_ledger::Entry, bool)]) -> Result<Vec<Verdict>, String> {
        let verdict = |e: &veilgate_ledger::Entry, verdict: &str| Verdict {
            sequence: e.sequence,
            envelope_id: hex::encode(e.envelope_id),
            verdict: verdict.into(),
            code: None,
            reason: None,
            policy: None,
            submitter: None,
        };
        let envelopes: Vec<&[u8]> = entries
            .iter()
            .filter(|(_, anchor)| !anchor)
            .map(|(e, _)| e.envelope.as_slice())
            .collect();
        let mut results = veilgate_core::verify_batch(
            &envelopes,
            &self.policies,
            &self.directory,
            &mut rand_core::OsRng,
        )
        .into_iter();
        let mut out = Vec::with_capacity(entries.len());
        for (e, anchor) in entries {
            if *anchor {
                out.push(verdict(e, "anchor"));
                continue;
            }
            out.push(match results.next() {
                Some(Ok(v)) => Verdict {
                    policy: Some(format!("{} v{}", v.plan().id, v.plan().version)),
                    submitter: Some(v.envelope().submitter.clone()),
                    ..verdict(e, "valid")
                },
                Some(Err(r)) => Verdict {
                    code: Some(r.code().to_owned()),
                    reason: Some(r.to_string()),
                    ..verdict(e, "rejected")
                },
                None => return Err("verification lost an envelope".into()),
            });
        }
        Ok(out)
    }
}

/// The gateway's follower task: once a second, verifies what its followed
/// ledgers gained, counting verdicts in the metrics.
pub async fn run(state: Arc<crate::state::AppState>, mut stop: tokio::sync::watch::Receiver<bool>) {
    if state.ledgers.values().all(|l| l.follower.is_none()) {
        return;
    }
    while !*stop.borrow() {
        for (id, ls) in &state.ledgers {
            if ls.follower.is_none() {
                continue;
            }
            let (s, id2) = (state.clone(), id.clone());
            let stepped = tokio::task::spawn_blocking(move || {
                let ls = s.ledgers.get(&id2)?;
                let mut f = ls.follower.as_ref()?.lock().ok()?;
                Some(f.step().and_then(|v| Ok((v, f.cursor()?))))
            })
            .await;
            match stepped {
                Ok(Some(Ok((verdicts, cursor)))) => {
                    for v in &verdicts {
                        if v.verdict == "rejected" {
                            tracing::warn!(ledger = %id, sequence = v.sequence,
                                envelope_id = %v.envelope_id,
                                code = v.code.as_deref().unwrap_or(""), "rejected ledger entry");
                        }
                        state.metrics.verdict(id, &v.verdict);
                    }
                    state.metrics.follow_position(id, cursor);
                }
                Ok(Some(Err(e))) => {
                    tracing::warn!(ledger = %id, error = %e, "following the ledger failed; will retry")
                }
                _ => {}
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_millis(1000)) => {}
            _ = stop.changed() => {}
        }
    }
}
