//! What tests, the demo and the bench share to stand up a gateway:
//!
//! - [`material`]: development material — a consortium CA, certificates and
//!   keys for three banks and a regulator, one ledger, policies and a sample
//!   record, written into a data directory (`veilgate serve --dev` uses it
//!   on first start; never for production);
//! - [`process`]: starts the real `veilgate` binary on 127.0.0.1, reads the
//!   address it listens on, and kills it when dropped;
//! - [`data`]: data-directory helpers (configuration edits, the directory
//!   and keys of an institution);
//! - [`pseudonyms`]: a pseudonymisation deployment (services' directories,
//!   keys or shares, the directory section, the gateway's addresses).
#![forbid(unsafe_code)]

pub mod data;
pub mod material;
pub mod process;
pub mod pseudonyms;
