//! Oblivious pseudonyms in the running system (issue 20): the service that
//! evaluates them ([`service`], run by a consortium role) and the gateway's
//! client of it ([`client`]), which obtains a record's pseudonyms before
//! sealing. The cryptography is `veilgate-pseudonym`'s; the protocol is in
//! `docs/pseudonyms.md`.

pub mod awaiting;
pub mod budget;
pub mod client;
pub mod service;
pub mod wire;
