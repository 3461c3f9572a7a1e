//! What a party trusts on one ledger, built once at start and passed to
//! [`crate::seal`] and [`crate::verify`]: the ledger's members and roles
//! (the directory), the policies it accepts (by hash), and the Groth16 keys
//! proofs are made and checked under. Nothing process-global stands in for
//! any of them.

use std::sync::Arc;

use crate::predicates::KeyRing;
use crate::{LedgerDirectory, PolicySet};

#[derive(Clone)]
pub struct Trust {
    pub directory: LedgerDirectory,
    pub policies: PolicySet,
    pub keys: Arc<KeyRing>,
}

impl Trust {
    pub fn new(directory: LedgerDirectory, policies: PolicySet, keys: Arc<KeyRing>) -> Trust {
        Trust {
            directory,
            policies,
            keys,
        }
    }
}
