//! The set roots and key events of one served ledger, as this gateway knows
//! them: every set-root and key-event entry on the ledger, admitted in
//! ledger order (a key event changes whose keys sign later roots), with the set
//! files (members) kept in `sets/<ledger>/<set>-v<version>.json` of the data
//! directory. Seal reads the book current when it starts; the book is
//! brought up to date from the ledger before a record whose policy proves
//! against a set, and after this gateway publishes a root.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use veilgate_core::keybook::{KeyBook, KeyEvent, KeyEventError};
use veilgate_core::sets::{SetBook, SetContents, SetRoot};
use veilgate_core::LedgerDirectory;
use veilgate_ledger::{Ledger, LedgerError};

struct Inner {
    /// The next ledger position not yet scanned for set roots.
    cursor: u64,
    book: Arc<SetBook>,
    keys: Arc<KeyBook>,
}

pub struct LedgerSets {
    directory: LedgerDirectory,
    files: PathBuf,
    inner: Mutex<Inner>,
}

/// Where ledger `id`'s set files are kept.
pub fn files_dir(data_dir: &Path, ledger: &str) -> PathBuf {
    data_dir.join("sets").join(ledger)
}

/// The file of one set version.
pub fn file_name(set: &str, version: u32) -> String {
    format!("{set}-v{version}.json")
}

impl LedgerSets {
    /// An empty book for `directory`'s ledger whose files live in `files`;
    /// [`LedgerSets::refresh`] reads the ledger.
    pub fn new(directory: LedgerDirectory, files: PathBuf) -> LedgerSets {
        LedgerSets {
            directory,
            files,
            inner: Mutex::new(Inner {
                cursor: 0,
                book: Arc::default(),
                keys: Arc::default(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves a consistent book (admission
        // either pushed a root or did not): keep using it.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The book as of the last refresh.
    pub fn current(&self) -> Arc<SetBook> {
        self.lock().book.clone()
    }

    /// The key events as of the last refresh.
    pub fn keys(&self) -> Arc<KeyBook> {
        self.lock().keys.clone()
    }

    /// Whether key event `e` would be admitted after the events known now.
    pub fn check_key_event(&self, e: &KeyEvent) -> Result<(), KeyEventError> {
        let mut keys = (*self.keys()).clone();
        keys.admit(e.clone(), &self.directory)
    }

    /// Reads the ledger from the last position scanned to its head and admits
    /// every set-root entry in order, with its file when this gateway holds
    /// one. A root the directory does not allow is logged and skipped (peers
    /// reject it the same way). Returns the current book.
    pub fn refresh(&self, ledger: &dyn Ledger) -> Result<Arc<SetBook>, LedgerError> {
        let head = ledger.len()?;
        let mut inner = self.lock();
        if inner.cursor >= head {
            return Ok(inner.book.clone());
        }
        let mut book = (*inner.book).clone();
        let mut keys = (*inner.keys).clone();
        let mut cursor = inner.cursor;
        while cursor < head {
            let Some(entry) = ledger.by_sequence(cursor)? else {
                break;
            };
            cursor += 1;
            if let Some(event) =
                veilgate_core::keybook::in_entry(&entry.envelope_id, &entry.envelope)
            {
                if let Err(e) = keys.admit(event, &self.directory) {
                    tracing::warn!(sequence = entry.sequence, error = %e, "key event entry not admitted");
                }
                continue;
            }
            let Some(root) = veilgate_core::sets::in_entry(&entry.envelope_id, &entry.envelope)
            else {
                continue;
            };
            let (set, version) = (root.set.clone(), root.version);
            if let Err(e) = book.admit(root, &keys.apply(&self.directory)) {
                tracing::warn!(sequence = entry.sequence, error = %e, "set root entry not admitted");
                continue;
            }
            self.load_file(&mut book, &set, version);
        }
        inner.cursor = cursor;
        inner.book = Arc::new(book);
        inner.keys = Arc::new(keys);
        Ok(inner.book.clone())
    }

    /// Adds the file of an admitted root if it is in the data directory.
    fn load_file(&self, book: &mut SetBook, set: &str, version: u32) {
        let path = self.files.join(file_name(set, version));
        let Ok(text) = std::fs::read_to_string(&path) else {
            tracing::warn!(set, version, file = %path.display(), "no file for this set version: records proving against it are refused until it is added");
            return;
        };
        match SetContents::from_json(&text).and_then(|c| book.add_contents(c)) {
            Ok(()) => {}
            Err(e) => tracing::error!(file = %path.display(), error = %e, "set file refused"),
        }
    }

    /// Writes a set file where [`LedgerSets::refresh`] finds it (a temporary
    /// file renamed into place, so a reader never sees half of one).
    pub fn store_file(&self, contents: &SetContents) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(&self.files)?;
        let name = file_name(&contents.file.set, contents.file.version);
        let path = self.files.join(&name);
        let tmp = self.files.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, contents.to_json())?;
        std::fs::rename(&tmp, &path)?;
        Ok(path)
    }

    /// Whether `entry` would be admitted after the roots known now.
    pub fn check(&self, entry: &SetRoot) -> Result<(), veilgate_core::sets::SetError> {
        let mut book = (*self.current()).clone();
        book.admit(entry.clone(), &self.keys().apply(&self.directory))
    }
}
