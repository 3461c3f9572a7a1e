//! Key versions on a running gateway (file keys): a rotation under load, and
//! a freeze. Records submitted before, during and after a rotation all
//! verify and open, and each is signed with the key in force at its time; a
//! follower rejects an envelope signed with a frozen key after the freeze
//! and keeps one signed before; the gateway wraps nothing to a frozen key
//! and opens nothing with it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use veilgate_testkit::process::{Options, Process};

const LEDGER: &str = "interbank-settlement";

fn veilgate(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_veilgate"))
        .args(args)
        .env_remove("VEILGATE_PROFILE")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn client(profile: &Path, args: &[&str]) -> Result<serde_json::Value, String> {
    let mut all = vec!["client"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--profile", profile.to_str().unwrap()]);
    let (ok, out, err) = veilgate(&all);
    if !ok {
        return Err(format!("{out}{err}"));
    }
    Ok(serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}):\n{out}")))
}

struct Running {
    gw: Process,
    data: PathBuf,
    root: tempfile::TempDir,
}

impl Running {
    fn start() -> Running {
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("data");
        let mut o = Options::new(
            env!("CARGO_BIN_EXE_veilgate"),
            &data,
            root.path().join("log"),
        );
        o.dev = true;
        let gw = Process::start(&o).unwrap();
        Running { gw, data, root }
    }

    fn profile(&self, who: &str) -> PathBuf {
        let p = self.root.path().join(format!("{who}.toml"));
        let (ok, out, err) = veilgate(&[
            "client",
            "profile",
            "--data",
            self.data.to_str().unwrap(),
            "--as",
            who,
            "--gateway",
            &self.gw.base,
            "--out",
            p.to_str().unwrap(),
        ]);
        assert!(ok, "{out}{err}");
        p
    }

    fn submit(&self, profile: &Path, key: &str, wait: bool) -> Result<serde_json::Value, String> {
        let sample = self.data.join("samples/interbank-payment.json");
        let mut args = vec![
            "submit",
            "--ledger",
            LEDGER,
            "--policy",
            "interbank-payment",
            "--idempotency-key",
            key,
            sample.to_str().unwrap(),
        ];
        if wait {
            args.extend_from_slice(&["--wait", "30"]);
        }
        client(profile, &args)
    }

    /// Stops the gateway and has a follower judge the whole ledger.
    fn follow(self) -> (Vec<serde_json::Value>, PathBuf, tempfile::TempDir) {
        drop(self.gw);
        let state = self.root.path().join("follow.redb");
        let (ok, out, err) = veilgate(&[
            "follow",
            "--data",
            self.data.to_str().unwrap(),
            "--ledger",
            LEDGER,
            "--once",
            "--state",
            state.to_str().unwrap(),
        ]);
        assert!(ok, "{out}{err}");
        let verdicts = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        (verdicts, self.data, self.root)
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Every envelope on the ledger file, decoded (the gateway stopped).
fn envelopes(data: &Path) -> Vec<veilgate_core::Envelope> {
    let path = data.join("ledgers").join(LEDGER).join("ledger.redb");
    let ledger = veilgate_ledger::EmbeddedLedger::open(&path).unwrap();
    use veilgate_ledger::Ledger as _;
    (0..ledger.len().unwrap())
        .filter_map(|i| ledger.by_sequence(i).unwrap())
        .filter_map(|e| veilgate_core::Envelope::decode(&e.envelope).ok())
        .collect()
}

#[test]
fn records_before_during_and_after_a_rotation_verify_open_and_name_the_key_in_force() {
    let run = Running::start();
    let bank_a = run.profile("bank-a");
    let bank_b = run.profile("bank-b");
    let old = veilgate_testkit::data::secrets(&run.data, "bank-a")
        .unwrap()
        .key()
        .id;
    let valid_from = now_ms() + 1_500;
    // Three clients submit while bank-a rotates, its new key in force 1.5 s on.
    let submitted: Vec<String> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..3)
            .map(|t| {
                let (run, bank_a) = (&run, &bank_a);
                s.spawn(move || {
                    let mut ids = Vec::new();
                    // A deliberate load window, not a wait: it ends 2 s past
                    // `valid_from` so that records are sealed on both sides.
                    let until = std::time::Instant::now() + std::time::Duration::from_millis(3_500);
                    let mut n = 0;
                    while std::time::Instant::now() < until {
                        let r = run.submit(bank_a, &format!("rot-{t}-{n}"), false).unwrap();
                        ids.push(r["envelope_id"].as_str().unwrap().to_owned());
                        n += 1;
                    }
                    ids
                })
            })
            .collect();
        let rotated = client(
            &bank_a,
            &[
                "rotate-key",
                "--ledger",
                LEDGER,
                "--valid-from-ms",
                &valid_from.to_string(),
            ],
        )
        .unwrap();
        assert_eq!(rotated["previous_key_id"], old.hex(), "{rotated}");
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    let after = run.submit(&bank_a, "rot-after", true).unwrap();
    assert_eq!(after["state"], "on_ledger", "{after}");
    // Every record is on the ledger: delivery keeps acceptance order, and
    // `after`, accepted last, is there. The payee opens each.
    for id in &submitted {
        let s = client(&bank_a, &["get", "--ledger", LEDGER, id]).unwrap();
        assert_eq!(s["state"], "on_ledger", "{s}");
    }
    for id in submitted
        .iter()
        .chain([after["envelope_id"].as_str().unwrap().to_owned()].iter())
    {
        let opened = client(&bank_b, &["open", "--ledger", LEDGER, id])
            .unwrap_or_else(|e| panic!("bank-b opens {id}: {e}"))
            .to_string();
        assert!(opened.contains("Invoice 2026-1187"), "{opened}");
    }
    let total = submitted.len() + 1;
    let (verdicts, data, _root) = run.follow();
    // The follower judges every record valid, and the rotation a key event.
    let valid = verdicts.iter().filter(|v| v["verdict"] == "valid").count();
    assert_eq!(valid, total, "{verdicts:?}");
    assert_eq!(
        verdicts
            .iter()
            .filter(|v| v["verdict"] == "key_event")
            .count(),
        1
    );
    assert!(
        verdicts.iter().all(|v| v["verdict"] != "rejected"),
        "{verdicts:?}"
    );
    // None is signed with a key outside its window.
    let dir = veilgate_testkit::data::ledger_directory(&data, LEDGER).unwrap();
    let keys = &dir.member("bank-a").unwrap().keys;
    assert_eq!(keys.len(), 2, "the directory file lists the new key");
    let new = keys[1].id;
    assert_eq!(keys[1].from_ms, Some(valid_from));
    let (mut before, mut since) = (0, 0);
    for env in envelopes(&data).iter().filter(|e| e.submitter == "bank-a") {
        let want = if env.timestamp_ms < valid_from {
            old
        } else {
            new
        };
        assert_eq!(
            env.signing_key,
            Some(want),
            "envelope at {} ms",
            env.timestamp_ms
        );
        if want == old {
            before += 1
        } else {
            since += 1
        }
    }
    assert!(
        before > 0 && since > 0,
        "records on both sides of the rotation: {before} before, {since} after"
    );
}

#[test]
fn a_frozen_key_signs_nothing_after_its_freeze_gets_nothing_and_opens_nothing() {
    let run = Running::start();
    let (bank_a, bank_b) = (run.profile("bank-a"), run.profile("bank-b"));
    let before = run.submit(&bank_a, "frz-before", true).unwrap();
    assert_eq!(before["state"], "on_ledger", "{before}");
    let thief = veilgate_testkit::data::secrets(&run.data, "bank-a").unwrap();
    let key = thief.key().id.hex();

    // A freeze in the future or of an unknown key is refused, naming why.
    let err = client(
        &bank_a,
        &[
            "freeze-key",
            "--ledger",
            LEDGER,
            "--key-id",
            &key,
            "--reason",
            "compromised",
            "--from-ms",
            &(now_ms() + 3_600_000).to_string(),
        ],
    )
    .unwrap_err();
    assert!(
        err.contains("key_event_time") || err.contains("future"),
        "{err}"
    );
    let err = client(
        &bank_a,
        &[
            "freeze-key",
            "--ledger",
            LEDGER,
            "--key-id",
            &"0".repeat(32),
            "--reason",
            "lost",
        ],
    )
    .unwrap_err();
    assert!(
        err.contains("unknown_member_key") || err.contains("has no key"),
        "{err}"
    );

    let frozen = client(
        &bank_a,
        &[
            "freeze-key",
            "--ledger",
            LEDGER,
            "--key-id",
            &key,
            "--reason",
            "compromised",
        ],
    )
    .unwrap();
    assert_eq!(frozen["key_id"], key.as_str(), "{frozen}");
    let err = client(
        &bank_a,
        &[
            "freeze-key",
            "--ledger",
            LEDGER,
            "--key-id",
            &key,
            "--reason",
            "lost",
        ],
    )
    .unwrap_err();
    assert!(err.contains("already_frozen"), "{err}");
    // The gateway signs nothing with it, wraps nothing to it, opens nothing with it.
    let err = run.submit(&bank_a, "frz-after", false).unwrap_err();
    assert!(err.contains("key_frozen"), "{err}");
    // bank-b pays bank-a: bank-a's data key would be wrapped to the frozen key.
    let sample = run.data.join("samples/interbank-payment.json");
    let swapped = run.root.path().join("b-to-a.json");
    std::fs::write(
        &swapped,
        std::fs::read_to_string(&sample)
            .unwrap()
            .replace("\"bank-a\"", "\"bank-x\"")
            .replace("\"bank-b\"", "\"bank-a\"")
            .replace("\"bank-x\"", "\"bank-b\""),
    )
    .unwrap();
    let err = client(
        &bank_b,
        &[
            "submit",
            "--ledger",
            LEDGER,
            "--policy",
            "interbank-payment",
            "--idempotency-key",
            "frz-to-a",
            swapped.to_str().unwrap(),
        ],
    )
    .unwrap_err();
    assert!(err.contains("recipient_key_frozen"), "{err}");
    let id = before["envelope_id"].as_str().unwrap();
    let err = client(&bank_a, &["open", "--ledger", LEDGER, id]).unwrap_err();
    assert!(err.contains("key_frozen"), "{err}");
    // The payee still opens with its own key.
    assert!(client(&bank_b, &["open", "--ledger", LEDGER, id]).is_ok());

    // The thief, holding a copy of the key, seals after the freeze and
    // writes the envelope onto the ledger itself.
    drop(run.gw);
    let data = run.data.clone();
    let plan = veilgate_policies::compile(
        &std::fs::read_to_string(data.join("policies/interbank-payment.policy")).unwrap(),
    )
    .unwrap();
    let trust =
        veilgate_testkit::data::trust(&data, LEDGER, veilgate_core::PolicySet::new([plan.clone()]))
            .unwrap();
    let sample: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(data.join("samples/interbank-payment.json")).unwrap(),
    )
    .unwrap();
    let record = plan.validate_record(&sample).unwrap();
    let env = veilgate_core::seal(
        &veilgate_core::SealRequest {
            trust: &trust,
            plan: &plan,
            record: &record,
            submitter: &thief,
            pseudonyms: (&veilgate_testkit::data::pseudonym_key(&data, LEDGER).unwrap()).into(),
            idempotency_key: "thief-0001",
            timestamp_ms: now_ms(),
        },
        &mut rand_core::OsRng,
    )
    .unwrap();
    {
        let path = data.join("ledgers").join(LEDGER).join("ledger.redb");
        let ledger = veilgate_ledger::EmbeddedLedger::open(&path).unwrap();
        use veilgate_ledger::Ledger as _;
        ledger.append(env.id, &env.encode()).unwrap();
    }
    let state = run.root.path().join("follow.redb");
    let (ok, out, err) = veilgate(&[
        "follow",
        "--data",
        data.to_str().unwrap(),
        "--ledger",
        LEDGER,
        "--once",
        "--state",
        state.to_str().unwrap(),
    ]);
    assert!(ok, "{out}{err}");
    let verdicts: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let of = |id: &str| {
        verdicts
            .iter()
            .find(|v| v["envelope_id"] == id)
            .unwrap_or_else(|| panic!("{id}: {verdicts:?}"))
            .clone()
    };
    assert_eq!(of(id)["verdict"], "valid", "signed before the freeze");
    assert_eq!(of(&hex::encode(env.id))["verdict"], "rejected");
    assert_eq!(
        of(&hex::encode(env.id))["code"],
        "key_frozen",
        "{verdicts:?}"
    );
    assert_eq!(
        verdicts
            .iter()
            .filter(|v| v["verdict"] == "key_event")
            .count(),
        1,
        "{verdicts:?}"
    );
}
