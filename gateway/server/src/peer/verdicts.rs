//! Where a follower keeps its verdicts: a redb file of its own
//! (`follow/<ledger>.redb`), position → verdict (JSON), so a follower runs
//! beside a gateway and resumes after the last verdict it recorded.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::{PeerError, Verdict};

const VERDICTS: TableDefinition<u64, &[u8]> = TableDefinition::new("verdicts");

/// The verdict file. Cloning shares it: readers (the API) do not wait for
/// the follower's writes.
#[derive(Clone)]
pub struct Verdicts {
    db: Arc<Database>,
    path: PathBuf,
}

impl Verdicts {
    pub fn open(path: &Path) -> Result<Verdicts, PeerError> {
        let fail = |e: redb::Error| PeerError::Store {
            path: path.display().to_string(),
            source: e,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| fail(redb::Error::Io(e)))?;
        }
        let db = Database::create(path).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => PeerError::StateInUse {
                path: path.display().to_string(),
            },
            e => fail(e.into()),
        })?;
        let tx = db.begin_write().map_err(|e| fail(e.into()))?;
        tx.open_table(VERDICTS).map_err(|e| fail(e.into()))?;
        tx.commit().map_err(|e| fail(e.into()))?;
        Ok(Verdicts {
            db: Arc::new(db),
            path: path.to_owned(),
        })
    }

    fn fail<E: Into<redb::Error>>(&self) -> impl FnOnce(E) -> PeerError + '_ {
        move |e| PeerError::Store {
            path: self.path.display().to_string(),
            source: e.into(),
        }
    }

    pub fn get(&self, sequence: u64) -> Result<Option<Verdict>, PeerError> {
        let tx = self.db.begin_read().map_err(self.fail())?;
        let t = tx.open_table(VERDICTS).map_err(self.fail())?;
        let found = t.get(sequence).map_err(self.fail())?;
        found
            .map(|v| {
                serde_json::from_slice(v.value())
                    .map_err(|source| PeerError::Corrupt { sequence, source })
            })
            .transpose()
    }

    /// The next ledger position without a verdict.
    pub fn cursor(&self) -> Result<u64, PeerError> {
        let tx = self.db.begin_read().map_err(self.fail())?;
        let t = tx.open_table(VERDICTS).map_err(self.fail())?;
        let last = t.last().map_err(self.fail())?;
        Ok(last.map_or(0, |(k, _)| k.value() + 1))
    }

    /// Records consecutive verdicts in one transaction.
    pub fn record(&self, verdicts: &[Verdict]) -> Result<(), PeerError> {
        let tx = self.db.begin_write().map_err(self.fail())?;
        {
            let mut t = tx.open_table(VERDICTS).map_err(self.fail())?;
            for v in verdicts {
                let bytes = serde_json::to_vec(v).map_err(|source| PeerError::Corrupt {
                    sequence: v.sequence,
                    source,
                })?;
                t.insert(v.sequence, bytes.as_slice())
                    .map_err(self.fail())?;
            }
        }
        tx.commit().map_err(self.fail())
    }
}
