//! What a party trusts on one ledger, built once at start and passed to
//! [`crate::seal`] and [`crate::verify`]: the ledger's members and roles
//! (the directory), the policies it accepts (by hash), the Groth16 keys
//! proofs are made and checked under, and the set roots it has admitted from
//! the ledger (with the contents it seals against). Nothing process-global
//! stands in for any of them.

use std::sync::Arc;

use crate::predicates::KeyRing;
use crate::sets::SetBook;
use crate::{LedgerDirectory, PolicySet};

#[derive(Clone)]
pub struct Trust {
    pub directory: LedgerDirectory,
    pub policies: PolicySet,
    pub keys: Arc<KeyRing>,
    /// Set roots admitted from the ledger, as of the entry being judged
    /// (shared: a gateway swaps in a newer book as roots arrive).
    pub sets: Arc<SetBook>,
}

impl Trust {
    pub fn new(directory: LedgerDirectory, policies: PolicySet, keys: Arc<KeyRing>) -> Trust {
        Trust {
            directory,
            policies,
            keys,
            sets: Arc::default(),
        }
    }

    /// This trust with the key events of `book` laid over its directory
    /// (call once, on a trust whose directory is the file's).
    pub fn with_key_book(mut self, book: &crate::keybook::KeyBook) -> Trust {
        if !book.events().is_empty() {
            self.directory = book.apply(&self.directory);
        }
        self
    }

    /// This trust with `sets` as its set roots and contents.
    pub fn with_sets(mut self, sets: impl Into<Arc<SetBook>>) -> Trust {
        self.sets = sets.into();
        self
    }
}
