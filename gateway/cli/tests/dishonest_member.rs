//! A dishonest member against another bank's pseudonyms, offline.
//!
//! bank-c is neither party to bank-a's interbank payment, so it is not a
//! recipient of the payer's account number; all it sees of that field on the
//! ledger is a pseudonym. It does hold everything a member's gateway holds:
//! the whole data directory (every hosted institution's `secrets.json`, the
//! TLS keys, `veilgate.toml`, `consortium.json`, the policies, the ledger and
//! the store). It knows the account's 13-digit prefix, so a dictionary of
//! 100,000 guesses covers the account, and it tries every 32-byte key it can
//! find in those files against the pseudonyms on the ledger.
//!
//! - On a legacy ledger (member-key HMAC pseudonyms) the attack recovers the
//!   payer's account: the key is `ledgers/<id>/pseudonym.key` on every
//!   member's gateway. This is the control: it shows the attack works and
//!   this test can fail.
//! - On a ledger using a pseudonymisation service (RFC 9497 VOPRF), the same
//!   attack over the same kind of directory recovers nothing, and no key
//!   found in it gives the ledger's tag even of the true account: the
//!   gateway holds no pseudonym key.
//! - Given the service's directory as well (what its operator, the
//!   regulator, holds), the same scan finds the key and the account: the
//!   scan would have found a key on the gateway had there been one.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use veilgate_core::FieldBody;
use veilgate_ledger::Ledger as _;
use veilgate_pseudonym::Evaluator;
use veilgate_testkit::material::DEV_LEDGER;

/// bank-a's payer account in the interbank-payment sample.
const PAYER_ACCOUNT: &str = "6222020200112233445";
/// What bank-c knows of it: the bank's account prefix.
const PREFIX: &str = "6222020200112";
/// The dictionary's suffixes: 100,000 of them, the true one among them.
const SUFFIXES: std::ops::Range<u32> = 200_000..300_000;
/// Files below this size that are not UTF-8 text are tried at every offset.
const WINDOW_FILES_BELOW: usize = 64 * 1024;
/// The epoch `deploy` gives the service's key.
const EPOCH: u32 = 1;

#[tokio::test(flavor = "multi_thread")]
async fn a_dishonest_member_reverses_member_key_pseudonyms_but_not_oblivious_ones() {
    let started = Instant::now();
    let dictionary = dictionary();
    assert_eq!(dictionary.len(), 100_000);
    assert!(dictionary.iter().any(|(v, _)| v == PAYER_ACCOUNT));

    // A: a legacy ledger, pseudonyms under the ledger's member key.
    let root_a = tempfile::tempdir().unwrap();
    let data_a = veilgate_testkit::data::dev_data_dir(root_a.path(), &[]).unwrap();
    submit_payment(root_a.path(), &data_a).await;
    let ledger_a = ledger_file(&data_a);
    assert_eq!(payer_account_kinds(&ledger_a), vec!["member-key pseudonym"]);
    let a = attack(&data_a, &[], &ledger_a, &dictionary);
    eprintln!("legacy ledger: {a:#?}");
    assert!(
        a.member_key_tags > 0,
        "the legacy ledger carries no member-key pseudonyms"
    );
    assert!(
        a.hmac.iter().any(|f| f.value == PAYER_ACCOUNT),
        "the attack did not recover the payer account from a legacy ledger: {a:#?}"
    );
    // With the ledger's key, as every member's gateway holds it.
    let legacy_key = data_a.join(format!("ledgers/{DEV_LEDGER}/pseudonym.key"));
    assert!(
        a.hmac
            .iter()
            .all(|f| f.origin.starts_with(&*legacy_key.to_string_lossy())),
        "{a:#?}"
    );

    // B: the ledger's pseudonyms from a pseudonymisation service, run by the
    // regulator from its own directory beside (not inside) the gateway's.
    let root_b = tempfile::tempdir().unwrap();
    let data_b = veilgate_testkit::data::dev_data_dir(root_b.path(), &[]).unwrap();
    let (services, _key) =
        veilgate_testkit::pseudonyms::deploy(&data_b, DEV_LEDGER, 1, &["regulator"], 100_000)
            .unwrap();
    assert!(!services[0].dir.starts_with(&data_b));
    let service = veilgate_testkit::process::start_pseudonym_service(
        env!("CARGO_BIN_EXE_veilgate"),
        &services[0].dir,
        "127.0.0.1:0",
        &root_b.path().join("service.log"),
    )
    .unwrap();
    veilgate_testkit::pseudonyms::set_addresses(&data_b, DEV_LEDGER, &[(1, &service.base)], 5000)
        .unwrap();
    submit_payment(root_b.path(), &data_b).await;
    drop(service);
    assert!(!data_b
        .join(format!("ledgers/{DEV_LEDGER}/pseudonym.key"))
        .exists());
    let ledger_b = ledger_file(&data_b);
    assert_eq!(
        payer_account_kinds(&ledger_b),
        vec!["oblivious pseudonym"],
        "the payer account is not an oblivious pseudonym on the ledger"
    );

    let b = attack(&data_b, &[], &ledger_b, &dictionary);
    eprintln!("oblivious ledger, the member's gateway: {b:#?}");
    assert_eq!(b.member_key_tags, 0);
    assert!(b.oblivious_tags > 0);
    assert!(
        b.candidates > 0 && b.scalars > 0,
        "the scan found nothing to try: {b:#?}"
    );
    assert!(
        b.hmac.is_empty() && b.voprf.is_empty() && b.public_key.is_empty(),
        "a key on the member's gateway reverses oblivious pseudonyms: {b:#?}"
    );
    assert!(b.recovered.is_empty(), "{b:#?}");

    // The positive control for B: the same scan, also given the service's
    // directory, finds its key and through it the account.
    let c = attack(&data_b, &[&services[0].dir], &ledger_b, &dictionary);
    eprintln!("oblivious ledger, with the service's directory: {c:#?}");
    let key_file = services[0].dir.join("keys/epoch-1.key");
    assert!(
        c.voprf
            .iter()
            .any(|f| f.origin.starts_with(&*key_file.to_string_lossy())),
        "the scan missed the service's key: {c:#?}"
    );
    assert!(
        c.public_key
            .iter()
            .any(|f| f.starts_with(&*key_file.to_string_lossy())),
        "{c:#?}"
    );
    assert!(
        c.recovered.iter().any(|f| f.value == PAYER_ACCOUNT),
        "the service's key did not recover the account: {c:#?}"
    );
    eprintln!("took {:?}", started.elapsed());
}

/// Starts the gateway of `data`, has bank-a submit the interbank-payment
/// sample, and stops it (so its ledger file can be read).
async fn submit_payment(root: &Path, data: &Path) {
    let mut o = veilgate_testkit::process::Options::new(
        env!("CARGO_BIN_EXE_veilgate"),
        data.to_owned(),
        root.join("server.log"),
    );
    // Development Groth16 keys: this test is about pseudonyms, not proofs.
    o.dev = true;
    let mut gw = veilgate_testkit::process::Process::start(&o).unwrap_or_else(|e| {
        let log = std::fs::read_to_string(root.join("server.log")).unwrap_or_default();
        panic!("{e}\n{log}")
    });
    let bank_a = veilgate_client::Client::from_data_dir_over(
        data,
        "bank-a",
        &gw.base,
        veilgate_client::Tls::Standard,
    )
    .unwrap();
    let record: serde_json::Value = serde_json::from_str(include_str!(
        "../../../policies/templates/interbank-payment.sample.json"
    ))
    .unwrap();
    assert_eq!(record["payer_account"], PAYER_ACCOUNT);
    assert_eq!(record["payee_bank"], "bank-b");
    let receipt = bank_a
        .submit(DEV_LEDGER, "interbank-payment", "payment-1", &record)
        .await
        .unwrap();
    assert_eq!(receipt.status, 201);
    gw.kill();
}

fn ledger_file(data: &Path) -> PathBuf {
    data.join(format!("ledgers/{DEV_LEDGER}/ledger.redb"))
}

/// Every envelope on the ledger.
fn envelopes(ledger_file: &Path) -> Vec<veilgate_core::Envelope> {
    let ledger = veilgate_ledger::EmbeddedLedger::open_read_only(ledger_file).unwrap();
    (0..ledger.len().unwrap())
        .filter_map(|seq| {
            veilgate_core::Envelope::decode(&ledger.by_sequence(seq).unwrap().unwrap().envelope)
                .ok()
        })
        .collect()
}

/// What the ledger shows of each `payer_account` field.
fn payer_account_kinds(ledger_file: &Path) -> Vec<&'static str> {
    envelopes(ledger_file)
        .iter()
        .flat_map(|e| e.fields.iter())
        .filter(|f| f.name == "payer_account")
        .map(|f| match f.body {
            FieldBody::Pseudonym(_) => "member-key pseudonym",
            FieldBody::Oblivious { .. } => "oblivious pseudonym",
            _ => "other",
        })
        .collect()
}

/// The guesses with their canonical encodings.
fn dictionary() -> Vec<(String, Vec<u8>)> {
    SUFFIXES
        .map(|s| {
            let v = format!("{PREFIX}{s:06}");
            let encoded = veilgate_policies::Value::Str(v.clone()).encode();
            (v, encoded)
        })
        .collect()
}

#[derive(Debug)]
struct Finding {
    /// The file (and where in it) the key came from.
    origin: String,
    value: String,
}

/// What the attack tried and found.
#[derive(Debug, Default)]
struct Report {
    files: usize,
    /// Distinct 32-byte candidate keys.
    candidates: usize,
    /// Of them, runs of 64 hex digits.
    hex_candidates: usize,
    /// The small binary files tried at every offset.
    windowed: Vec<String>,
    /// Of them, canonical ristretto255 scalars (possible VOPRF keys).
    scalars: usize,
    member_key_tags: usize,
    oblivious_tags: usize,
    /// HMAC-SHA256 (the v1 pseudonym) under a candidate gave a ledger tag.
    hmac: Vec<Finding>,
    /// A candidate's VOPRF tag of the true account is on the ledger.
    voprf: Vec<Finding>,
    /// Candidates whose public key is the epoch's, as the directory publishes it.
    public_key: Vec<String>,
    /// Values the dictionary gave under a VOPRF key found either way.
    recovered: Vec<Finding>,
}

/// bank-c's attack: every key it can find in `data` (and `extra`) against
/// the pseudonyms on `ledger_file`.
fn attack(
    data: &Path,
    extra: &[&Path],
    ledger_file: &Path,
    dictionary: &[(String, Vec<u8>)],
) -> Report {
    let mut report = Report::default();
    let mut files = Vec::new();
    for dir in std::iter::once(data).chain(extra.iter().copied()) {
        walk(dir, &mut files);
    }
    report.files = files.len();
    let (candidates, windowed) = candidates(&files);
    report.candidates = candidates.len();
    report.hex_candidates = candidates.iter().filter(|c| c.hex).count();
    report.windowed = windowed;

    let (mut member_key, mut oblivious) = (HashSet::new(), HashSet::new());
    for env in envelopes(ledger_file) {
        for f in env.fields {
            match f.body {
                FieldBody::Pseudonym(tag) => {
                    member_key.insert(tag);
                }
                FieldBody::Oblivious { epoch, tag } if epoch == EPOCH => {
                    oblivious.insert(tag);
                }
                _ => {}
            }
        }
    }
    report.member_key_tags = member_key.len();
    report.oblivious_tags = oblivious.len();

    // (a) Member-key pseudonyms. A key written as hex (how the gateway
    // writes every key file) over the whole dictionary; a window of a binary
    // file on the true account only: thousands of windows times the
    // dictionary would take minutes, and for a negative result the true
    // value is the strongest guess.
    let inputs: Vec<(&String, Vec<u8>)> = dictionary
        .iter()
        .map(|(value, v)| (value, veilgate_core::bind::pseudonym_input(DEV_LEDGER, v)))
        .collect();
    let truth_v1 = inputs
        .iter()
        .filter(|(value, _)| *value == PAYER_ACCOUNT)
        .collect::<Vec<_>>();
    let suite = veilgate_core::SuiteId::Standard.suite();
    report.hmac = parallel(&candidates, |c| {
        let guesses = if c.hex {
            inputs.iter().collect()
        } else {
            truth_v1.clone()
        };
        guesses
            .into_iter()
            .filter(|(_, input)| member_key.contains(&suite.pseudonym(&c.key, input)))
            .map(|(value, _)| Finding {
                origin: c.origin.clone(),
                value: (*value).clone(),
            })
            .collect()
    });

    // (b) Oblivious pseudonyms: each candidate that is a scalar, on the true
    // account only (a full dictionary per candidate would take minutes; for
    // a negative result the true value is the strongest guess), and against
    // the epoch's public key in the directory.
    let published = veilgate_testkit::data::ledger_directory(data, DEV_LEDGER)
        .unwrap()
        .pseudonyms
        .and_then(|p| {
            p.epochs
                .iter()
                .find(|e| e.epoch == EPOCH)
                .map(|e| e.public_key)
        });
    let truth = veilgate_pseudonym::pseudonym_input(
        DEV_LEDGER,
        EPOCH,
        &veilgate_policies::Value::Str(PAYER_ACCOUNT.into()).encode(),
    )
    .unwrap();
    let scalars: Vec<(Evaluator, String)> = candidates
        .iter()
        .filter_map(|c| Some((Evaluator::from_scalar(&c.key).ok()?, c.origin.clone())))
        .collect();
    report.scalars = scalars.len();
    let mut keys = Vec::new();
    for (evaluator, origin) in &scalars {
        let mut hit = false;
        if oblivious.contains(&evaluator.evaluate_tag(&truth).unwrap()) {
            report.voprf.push(Finding {
                origin: origin.clone(),
                value: PAYER_ACCOUNT.into(),
            });
            hit = true;
        }
        if Some(evaluator.public_key()) == published {
            report.public_key.push(origin.clone());
            hit = true;
        }
        if hit {
            keys.push((evaluator, origin));
        }
    }
    // A key found: reverse the ledger's tags with the dictionary.
    for (evaluator, origin) in keys {
        report.recovered.extend(parallel(dictionary, |(value, v)| {
            let input = veilgate_pseudonym::pseudonym_input(DEV_LEDGER, EPOCH, v).unwrap();
            if oblivious.contains(&evaluator.evaluate_tag(&input).unwrap()) {
                vec![Finding {
                    origin: origin.clone(),
                    value: value.clone(),
                }]
            } else {
                Vec::new()
            }
        }));
    }
    report
}

/// Every file under `dir`, with its contents.
fn walk(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, out);
        } else if path.is_file() {
            // A file the gateway holds open may still be read.
            out.push((path.clone(), std::fs::read(&path).unwrap()));
        }
    }
}

/// A 32-byte key found in a file.
struct Candidate {
    key: [u8; 32],
    /// The file, and the hex run or offset in it.
    origin: String,
    /// Written as 64 hex digits, the way the gateway writes its key files.
    hex: bool,
}

/// Every distinct 32-byte key the files hold: each run of exactly 64 hex
/// digits, and each 32-byte window of a small file that is not text (the
/// files it windowed, for the report).
fn candidates(files: &[(PathBuf, Vec<u8>)]) -> (Vec<Candidate>, Vec<String>) {
    let mut seen = HashSet::new();
    let (mut out, mut windowed) = (Vec::new(), Vec::new());
    let mut add = |key: [u8; 32], origin: String, hex: bool| {
        if seen.insert(key) {
            out.push(Candidate { key, origin, hex });
        }
    };
    for (path, bytes) in files {
        let name = path.display();
        for (n, run) in bytes
            .split(|b| !b.is_ascii_hexdigit())
            .filter(|r| r.len() == 64)
            .enumerate()
        {
            let key: [u8; 32] = hex::decode(run).unwrap().try_into().unwrap();
            add(key, format!("{name} (hex run {n})"), true);
        }
        if bytes.len() < WINDOW_FILES_BELOW && std::str::from_utf8(bytes).is_err() {
            windowed.push(format!("{name} ({} bytes)", bytes.len()));
            for (offset, w) in bytes.windows(32).enumerate() {
                add(
                    w.try_into().unwrap(),
                    format!("{name} (offset {offset})"),
                    false,
                );
            }
        }
    }
    (out, windowed)
}

/// `f` over `items` on every core, the results concatenated.
fn parallel<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> Vec<R> + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = items.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| s.spawn(|| part.iter().flat_map(&f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    })
}
