//! The in-process stages: each primitive a template's seal is made of, the
//! seal itself on one and on all cores, peer verification one at a time and
//! in batches, opening, and durable appends to the embedded ledger.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use veilgate_circuits::range::AggregateRange;
use veilgate_circuits::Opening;
use veilgate_core::predicates::{self, Bn254Opening, SetOpening};
use veilgate_core::{
    bind, ranges, Envelope, FieldBody, InstitutionSecrets, PolicySet, PseudonymKey, SealRequest,
    SuiteId, Trust,
};
use veilgate_ledger::{EmbeddedLedger, Ledger};
use veilgate_policies::{Disclosure, Plan, Record};

/// Everything needed to seal, verify and open one template's records.
pub struct Fixture {
    pub template: String,
    pub plan: Plan,
    pub record_json: serde_json::Value,
    record: Record,
    /// The institution that files the sample (its submitter field's, else bank-a).
    pub submitter_id: String,
    /// The dev ledger's directory, this template's policy and the data
    /// directory's Groth16 keys.
    trust: Trust,
    submitter: InstitutionSecrets,
    recipient: InstitutionSecrets,
    pseudonym_key: PseudonymKey,
}

/// When the in-process fixtures' set roots take force (before their records).
const SETS_FROM_MS: u64 = 1_795_500_000_000;

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

impl Fixture {
    /// Reads the development material of `data` (keys, directory, pseudonym
    /// key); `policy` and `sample` are the template's texts.
    pub fn load(
        data: &Path,
        template: &str,
        policy: &str,
        sample: &str,
    ) -> Result<Fixture, String> {
        Fixture::load_on(data, template, policy, sample, SuiteId::Standard)
    }

    /// As [`Fixture::load`] on the development ledger of `suite`: for `sm`
    /// the SM ledger, its members' SM2 keys, the policy moved onto it.
    pub fn load_on(
        data: &Path,
        template: &str,
        policy: &str,
        sample: &str,
        suite: SuiteId,
    ) -> Result<Fixture, String> {
        let (ledger, secrets_of, policy): (
            _,
            fn(&Path, &str) -> Result<InstitutionSecrets, String>,
            _,
        ) = match suite {
            SuiteId::Sm => {
                let ledger = veilgate_testkit::material::DEV_SM_LEDGER;
                (
                    ledger,
                    veilgate_testkit::data::sm_secrets,
                    veilgate_policies::moved_onto(policy, ledger, "sm"),
                )
            }
            _ => (
                veilgate_testkit::material::DEV_LEDGER,
                veilgate_testkit::data::secrets,
                policy.to_owned(),
            ),
        };
        let policy = policy.as_str();
        let plan = veilgate_policies::compile(policy).map_err(|e| format!("{template}: {e}"))?;
        let record_json: serde_json::Value =
            serde_json::from_str(sample).map_err(|e| format!("{template} sample: {e}"))?;
        let record = plan
            .validate_record(&record_json)
            .map_err(|e| format!("{template} sample: {e}"))?;
        let trust = veilgate_testkit::data::trust(data, ledger, PolicySet::new([plan.clone()]))?;
        // The template sets' development lists, as the served stage publishes them.
        let (sets, _) = veilgate_core::sets::development_sets(
            &trust.directory,
            &secrets_of(data, "regulator")?,
            SETS_FROM_MS,
        )
        .map_err(|e| e.to_string())?;
        let trust = trust.with_sets(sets);
        let secrets = |id: &str| secrets_of(data, id);
        let submitter_id = plan.submitter_in(&record).unwrap_or("bank-a").to_owned();
        let key: [u8; 32] =
            hex::decode(read(&data.join("ledgers").join(ledger).join("pseudonym.key"))?.trim())
                .ok()
                .and_then(|k| k.try_into().ok())
                .ok_or("pseudonym.key must be 32 bytes of hex")?;
        Ok(Fixture {
            template: template.to_owned(),
            plan,
            record_json,
            trust,
            submitter: secrets(&submitter_id)?,
            record,
            submitter_id,
            recipient: secrets("regulator")?,
            pseudonym_key: PseudonymKey(zeroize::Zeroizing::new(key)),
        })
    }

    pub fn seal(&self, key: &str) -> Result<Envelope, String> {
        self.seal_with(&self.trust, &self.submitter, key)
    }

    /// The submitter's key file (the file backend).
    pub fn submitter(&self) -> &InstitutionSecrets {
        &self.submitter
    }

    pub fn trust(&self) -> &Trust {
        &self.trust
    }

    /// Seals with `signer` under `trust` (the fixture's, with the signer's
    /// key listed for the submitter).
    pub fn seal_with(
        &self,
        trust: &Trust,
        signer: &dyn veilgate_core::EnvelopeSigner,
        key: &str,
    ) -> Result<Envelope, String> {
        veilgate_core::seal(
            &SealRequest {
                trust,
                plan: &self.plan,
                record: &self.record,
                submitter: signer,
                pseudonyms: (&self.pseudonym_key).into(),
                idempotency_key: key,
                timestamp_ms: 1_795_600_000_000,
            },
            &mut rand_core::OsRng,
        )
        .map_err(|e| format!("{}: {e}", self.template))
    }
}

/// Mean seconds per call of `f`, over at least `min` calls and `budget`.
pub fn per_call(min: usize, budget: Duration, mut f: impl FnMut()) -> f64 {
    f(); // warm caches and lazily built keys
    let start = Instant::now();
    let mut n = 0usize;
    while n < min || start.elapsed() < budget {
        f();
        n += 1;
    }
    start.elapsed().as_secs_f64() / n as f64
}

/// A pool of `threads` threads, so arkworks' parallel loops stay inside it.
pub fn pool(threads: usize) -> Result<rayon::ThreadPool, String> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| e.to_string())
}

#[derive(Clone, Debug, Serialize)]
pub struct Primitive {
    pub name: String,
    pub count: usize,
    pub unit_us: f64,
    pub total_us: f64,
}

/// One operation of the crypto suites, timed under each on one thread.
#[derive(Clone, Debug, Serialize)]
pub struct SuiteRow {
    pub operation: String,
    pub standard_us: f64,
    pub sm_us: f64,
}

/// Each suite's primitives side by side, on one thread: signing and
/// verifying a 1 KiB message, wrapping and unwrapping a data key, field
/// encryption and hashing per KiB.
pub fn suite_rows(budget: Duration) -> Vec<SuiteRow> {
    let suites = [SuiteId::Standard, SuiteId::Sm];
    let msg = vec![0x5au8; 1024];
    let time = |f: &mut dyn FnMut(SuiteId)| -> [f64; 2] {
        suites.map(|id| per_call(100, budget / 10, || f(id)) * 1e6)
    };
    let mut rows = Vec::new();
    let mut row = |operation: &str, t: [f64; 2]| {
        rows.push(SuiteRow {
            operation: operation.to_owned(),
            standard_us: t[0],
            sm_us: t[1],
        })
    };
    // A valid secret of either suite: the SM2 one from its key derivation.
    let keys = suites.map(|id| {
        let (secret, public) = id.suite().kem_keypair(&[3; 32]);
        let secret: [u8; 32] = secret.as_slice().try_into().unwrap_or([3; 32]);
        (secret, public)
    });
    let sign_public = [0, 1].map(|i| suites[i].suite().sign_public(&keys[i].0));
    let signatures = [0, 1].map(|i| suites[i].suite().sign(&keys[i].0, DEFAULT_SIGNER, &msg));
    row(
        "sign (1 KiB message)",
        time(&mut |id| {
            let i = usize::from(id == SuiteId::Sm);
            std::hint::black_box(id.suite().sign(&keys[i].0, DEFAULT_SIGNER, &msg));
        }),
    );
    row(
        "verify (1 KiB message)",
        time(&mut |id| {
            let i = usize::from(id == SuiteId::Sm);
            let _ = std::hint::black_box(id.suite().verify_signature(
                &sign_public[i],
                DEFAULT_SIGNER,
                &msg,
                &signatures[i],
            ));
        }),
    );
    let mut rng = rand_core::OsRng;
    let data_key = [7u8; 32];
    let kems = suites.map(veilgate_core::KemAlg::default_for);
    let wrapped = [0, 1].map(|i| {
        suites[i]
            .suite()
            .wrap_key(kems[i], &keys[i].1, b"info", b"aad", &data_key, &mut rng)
            .unwrap_or_default()
    });
    row(
        "wrap a data key",
        time(&mut |id| {
            let i = usize::from(id == SuiteId::Sm);
            let _ = std::hint::black_box(
                id.suite()
                    .wrap_key(kems[i], &keys[i].1, b"info", b"aad", &data_key, &mut rng),
            );
        }),
    );
    row(
        "unwrap a data key",
        time(&mut |id| {
            let i = usize::from(id == SuiteId::Sm);
            // The whole unwrap a recipient does: the DH step, then the KEM's rest.
            let z = veilgate_core::keys::software_dh(kems[i], &keys[i].0, &wrapped[i].0)
                .unwrap_or_default();
            let _ = std::hint::black_box(id.suite().unwrap_key(
                kems[i],
                &z,
                &wrapped[i].0,
                &keys[i].1,
                b"info",
                b"aad",
                &wrapped[i].1,
            ));
        }),
    );
    row(
        "field encryption, per KiB",
        time(&mut |id| {
            let _ = std::hint::black_box(id.suite().seal_field(&data_key, [1; 12], b"aad", &msg));
        }),
    );
    row(
        "hash, per KiB",
        time(&mut |id| {
            std::hint::black_box(id.suite().hash(&msg));
        }),
    );
    rows
}

/// The distinguishing id the suite rows sign under (SM2's default).
const DEFAULT_SIGNER: &str = veilgate_core::suite::sm::DEFAULT_DISTID;

/// How each suite's primitives are named in the report.
struct PrimitiveNames {
    sign: &'static str,
    wrap: &'static str,
    aead: &'static str,
    pseudonym: &'static str,
}

impl PrimitiveNames {
    fn of(suite: veilgate_core::SuiteId) -> Self {
        match suite {
            veilgate_core::SuiteId::Sm => PrimitiveNames {
                sign: "SM2 sign",
                wrap: "SM2 wrap (per recipient)",
                aead: "SM4-GCM (per ciphertext)",
                pseudonym: "HMAC-SM3 pseudonym",
            },
            _ => PrimitiveNames {
                sign: "Ed25519 sign",
                wrap: "HPKE wrap (per recipient)",
                aead: "AES-256-GCM (per ciphertext)",
                pseudonym: "HMAC-SHA256 pseudonym",
            },
        }
    }
}

/// Times, on one thread, each primitive the template's seal performs, as
/// many times as one seal performs it (counted on a sealed envelope).
pub fn primitives(fx: &Fixture, budget: Duration) -> Result<Vec<Primitive>, String> {
    let env = fx.seal("bench-primitives")?;
    let suite = env.suite.suite();
    let ledger = fx.trust.directory.ledger.as_str();
    let mut rng = rand_core::OsRng;
    let mut out = Vec::new();
    let mut push = |name: &str, count: usize, unit: f64| {
        if count > 0 {
            out.push(Primitive {
                name: name.to_owned(),
                count,
                unit_us: unit * 1e6,
                total_us: unit * 1e6 * count as f64,
            });
        }
    };

    let names = PrimitiveNames::of(env.suite);
    // Signature over the envelope's signed bytes (any key costs the same).
    let msg = bind::signature_input(&env.signed_bytes());
    let sk = [9u8; 32];
    let signer = fx.submitter.signer_id();
    push(
        names.sign,
        1,
        per_call(200, budget / 2, || {
            std::hint::black_box(suite.sign(&sk, signer, &msg));
        }),
    );

    // HPKE: one data key wrapped per recipient.
    let key = fx
        .trust
        .directory
        .member(&fx.recipient.id)
        .and_then(|m| m.latest())
        .ok_or("the regulator has no KEM key")?;
    let (kem, pk) = (key.kem, key.kem_public.clone());
    let info = bind::wrap_info(ledger, &env.id);
    let dk = [7u8; 32];
    push(
        names.wrap,
        env.recipients.len(),
        per_call(200, budget, || {
            let _ = std::hint::black_box(suite.wrap_key(kem, &pk, &info, b"bank-b", &dk, &mut rng));
        }),
    );

    // AES-GCM: every ciphertext, at its plaintext length.
    let lens: Vec<usize> = env
        .fields
        .iter()
        .flat_map(|f| f.ciphertexts.iter())
        .map(|c| c.ciphertext.len().saturating_sub(suite.aead_tag_len()))
        .collect();
    if !lens.is_empty() {
        let aad = bind::field_aad(ledger, &env.id, "amount", "bank-b");
        let pass = per_call(100, budget, || {
            for (i, n) in lens.iter().enumerate() {
                let pt = vec![0u8; *n];
                let _ =
                    std::hint::black_box(suite.seal_field(&dk, bind::field_nonce(i), &aad, &pt));
            }
        });
        push(names.aead, lens.len(), pass / lens.len() as f64);
    }

    // Pseudonyms.
    let pseudonyms = env
        .fields
        .iter()
        .filter(|f| matches!(f.body, FieldBody::Pseudonym(_)))
        .count();
    let input = bind::pseudonym_input(ledger, &[1u8; 40]);
    push(
        names.pseudonym,
        pseudonyms,
        per_call(500, budget / 2, || {
            std::hint::black_box(suite.pseudonym(&fx.pseudonym_key.0, &input));
        }),
    );

    // Commitments field by field; then the envelope's aggregated range
    // proofs over its facts (ranges cut by condition outcomes), as seal makes them.
    let bn254 = predicates::bn254_fields(&fx.plan);
    let set_fields = predicates::set_fields(&fx.plan);
    let mut set_openings = BTreeMap::new();
    let mut pedersen = (0usize, 0.0f64);
    let mut poseidon = (0usize, 0.0f64);
    let mut openings = BTreeMap::new();
    let mut pedersen_openings = BTreeMap::new();
    for (f, v) in fx.plan.fields.iter().zip(&fx.record.values) {
        let Disclosure::Commit { .. } = &f.disclosure else {
            continue;
        };
        if set_fields.contains(f.name.as_str()) {
            poseidon.0 += 1;
            poseidon.1 += per_call(100, budget / 2, || {
                std::hint::black_box(SetOpening::random(v.clone(), &mut rng).commitment());
            });
            set_openings.insert(f.name.clone(), SetOpening::random(v.clone(), &mut rng));
            continue;
        }
        if bn254.contains(f.name.as_str()) {
            let x = predicates::bn254_integer(v).ok_or("a BN254 field without an integer")?;
            poseidon.0 += 1;
            poseidon.1 += per_call(100, budget / 2, || {
                std::hint::black_box(Bn254Opening::random(x, &mut rng).commitment());
            });
            openings.insert(f.name.clone(), Bn254Opening::random(x, &mut rng));
            continue;
        }
        let x = v
            .committed_integer()
            .ok_or("a committed field without an integer")?;
        pedersen.0 += 1;
        pedersen.1 += per_call(100, budget / 2, || {
            std::hint::black_box(Opening::random(x, &mut rng).commit());
        });
        pedersen_openings.insert(f.name.as_str(), Opening::random(x, &mut rng));
    }
    push(
        "Pedersen commitment",
        pedersen.0,
        pedersen.1 / pedersen.0.max(1) as f64,
    );
    let facts = ranges::facts(&fx.plan, &env.conditions)
        .map_err(|f| format!("{}: no range fact for `{f}`", fx.template))?;
    for (k, group) in ranges::groups(&facts).enumerate() {
        let (intervals, names) = ranges::statement(group);
        let ctx = bind::aggregate_context(ledger, &env.id, k as u8, &names);
        let group_openings: Vec<Opening> = names
            .iter()
            .filter_map(|n| pedersen_openings.get(n).cloned())
            .collect();
        let st = AggregateRange {
            ranges: &intervals,
            context: &ctx,
        };
        push(
            &format!("Bulletproofs range, {} field(s)", names.len()),
            1,
            per_call(10, budget, || {
                let _ = std::hint::black_box(st.prove(&group_openings, &mut rng));
            }),
        );
    }
    push(
        "Poseidon commitment (BN254)",
        poseidon.0,
        poseidon.1 / poseidon.0.max(1) as f64,
    );

    // Groth16: every predicate's proofs, as seal makes them.
    let proofs: usize = env.predicates.iter().map(|p| p.proofs.len()).sum();
    if proofs > 0 {
        let ring = &fx.trust.keys;
        let public_value = |name: &str| {
            fx.plan
                .fields
                .iter()
                .position(|f| f.name == name && f.disclosure == Disclosure::Public)
                .and_then(|i| fx.record.values.get(i).cloned())
        };
        let witness = predicates::prove::Witness {
            openings: &openings,
            set_openings: &set_openings,
            public_value: &public_value,
            sets: &fx.trust.sets,
            time_ms: env.timestamp_ms,
        };
        let all = per_call(5, budget, || {
            let _ = std::hint::black_box(predicates::prove_all(&fx.plan, &witness, ring, &mut rng));
        });
        push("Groth16 prove (BN254)", proofs, all / proofs as f64);
    }
    Ok(out)
}

/// Seals per second with `threads` workers each sealing one record after
/// another for about `budget` — each in its own one-thread pool, as the
/// gateway's compute pool runs them.
/// The fixture's trust with `key` as its submitter's only key: for sealing
/// with a key held elsewhere (a token).
pub fn trust_with_submitter_key(fx: &Fixture, key: veilgate_core::MemberKey) -> Trust {
    let mut trust = fx.trust.clone();
    if let Some(m) = trust
        .directory
        .members
        .iter_mut()
        .find(|m| m.id == fx.submitter_id)
    {
        m.keys = vec![key];
    }
    trust
}

/// Seals per second on one thread with `signer` (one round of `budget`).
pub fn seal_rate_with(
    fx: &Fixture,
    trust: &Trust,
    signer: &dyn veilgate_core::EnvelopeSigner,
    budget: Duration,
) -> Result<f64, String> {
    let p = pool(1)?;
    p.install(|| {
        fx.seal_with(trust, signer, "bench-warm")?;
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed() < budget {
            std::hint::black_box(
                fx.seal_with(trust, signer, &format!("bench-key-{n}"))?
                    .encode(),
            );
            n += 1;
        }
        Ok(n as f64 / start.elapsed().as_secs_f64())
    })
}

/// Microseconds per signature by `signer` over a 1 KiB message, on one thread.
pub fn sign_us(signer: &dyn veilgate_core::EnvelopeSigner, budget: Duration) -> f64 {
    let msg = vec![0x5a; 1024];
    per_call(50, budget, || {
        let _ = std::hint::black_box(signer.sign(&msg));
    }) * 1e6
}

pub fn seal_rate(fx: &Fixture, threads: usize, budget: Duration) -> Result<f64, String> {
    fx.seal("bench-warm")?;
    let done = AtomicUsize::new(0);
    let failed = AtomicUsize::new(0);
    let start = Instant::now();
    std::thread::scope(|s| -> Result<(), String> {
        for t in 0..threads {
            let (done, failed) = (&done, &failed);
            let p = pool(1)?;
            s.spawn(move || {
                p.install(|| {
                    let mut i = 0;
                    while start.elapsed() < budget {
                        match fx.seal(&format!("bench-{t}-{i}")) {
                            Ok(env) => {
                                std::hint::black_box(env.encode());
                                done.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(_) => {
                                failed.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        i += 1;
                    }
                })
            });
        }
        Ok(())
    })?;
    let secs = start.elapsed().as_secs_f64();
    if failed.load(Ordering::Relaxed) > 0 {
        return Err(format!("{}: a seal failed", fx.template));
    }
    Ok(done.load(Ordering::Relaxed) as f64 / secs)
}

#[derive(Clone, Debug, Serialize)]
pub struct VerifyFigures {
    pub envelopes: usize,
    pub single_per_s: f64,
    pub batch_per_s: f64,
    pub batch_speedup: f64,
    pub open_per_s: f64,
}

/// Peer verification of `n` envelopes one by one and as one batch, and
/// opening as the regulator, on one thread; `rounds` interleaved rounds,
/// the best of each kept.
pub fn verify_and_open(
    fx: &Fixture,
    n: usize,
    budget: Duration,
    rounds: u32,
) -> Result<VerifyFigures, String> {
    let p = pool(num_cores())?;
    let envs: Vec<Vec<u8>> = p.install(|| {
        use rayon::prelude::*;
        (0..n)
            .into_par_iter()
            .map(|i| fx.seal(&format!("bench-verify-{i}")).map(|e| e.encode()))
            .collect::<Result<_, _>>()
    })?;
    let refs: Vec<&[u8]> = envs.iter().map(Vec::as_slice).collect();
    let one = pool(1)?;
    let mut rng = rand_core::OsRng;
    let mut bad = 0usize;
    let (mut single, mut batch) = (f64::MAX, f64::MAX);
    for _ in 0..rounds.max(1) {
        single = single.min(
            one.install(|| {
                per_call(1, budget, || {
                    for b in &refs {
                        bad += usize::from(veilgate_core::verify(b, &fx.trust, &mut rng).is_err());
                    }
                })
            }) / n as f64,
        );
        batch = batch.min(
            one.install(|| {
                per_call(1, budget, || {
                    let r = veilgate_core::verify_batch(&refs, &fx.trust, &mut rng);
                    bad += r.iter().filter(|v| v.is_err()).count();
                })
            }) / n as f64,
        );
    }
    if bad > 0 {
        return Err(format!("{}: {bad} verifications failed", fx.template));
    }
    let verified: Vec<_> = refs
        .iter()
        .map(|b| veilgate_core::verify(b, &fx.trust, &mut rng))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let mut open_failed = false;
    let open = one.install(|| {
        per_call(1, budget, || {
            for v in &verified {
                open_failed |= veilgate_core::open(v, &fx.recipient, Some(&fx.pseudonym_key))
                    .map(|f| f.is_empty())
                    .unwrap_or(true);
            }
        })
    }) / n as f64;
    if open_failed {
        return Err(format!("{}: the regulator could not open", fx.template));
    }
    Ok(VerifyFigures {
        envelopes: n,
        single_per_s: 1.0 / single,
        batch_per_s: 1.0 / batch,
        batch_speedup: single / batch,
        open_per_s: 1.0 / open,
    })
}

pub fn num_cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

#[derive(Clone, Debug, Serialize)]
pub struct LedgerFigures {
    pub envelope_bytes: usize,
    /// One appender, each append its own fsynced transaction.
    pub sequential_per_s: f64,
    /// `appenders` threads at once: appends share transactions (group commit).
    pub appenders: usize,
    pub group_commit_per_s: f64,
    /// The delivery worker's way: batches of 64 in one call.
    pub batch64_per_s: f64,
}

/// Durable appends to an embedded ledger in `dir`.
pub fn ledger(dir: &Path, appenders: usize, budget: Duration) -> Result<LedgerFigures, String> {
    const BYTES: usize = 2048;
    let e = |x: veilgate_ledger::LedgerError| x.to_string();
    // Envelope ids are hashes: they land all over the id index, as real ones do.
    let id = |t: usize, i: usize| {
        use sha2::Digest as _;
        let h = sha2::Sha256::digest([(t as u64).to_be_bytes(), (i as u64).to_be_bytes()].concat());
        let mut id = [0u8; 16];
        id.copy_from_slice(h.get(..16).unwrap_or(&[0u8; 16]));
        id
    };
    let body = vec![0x5au8; BYTES];

    let l = EmbeddedLedger::open(&dir.join("sequential.redb")).map_err(e)?;
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed() < budget {
        l.append(id(0, n), &body).map_err(e)?;
        n += 1;
    }
    let sequential = n as f64 / start.elapsed().as_secs_f64();

    let l = EmbeddedLedger::open(&dir.join("group.redb")).map_err(e)?;
    let done = AtomicUsize::new(0);
    let failed = AtomicUsize::new(0);
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..appenders {
            let (l, done, failed, body) = (&l, &done, &failed, &body);
            s.spawn(move || {
                let mut i = 0;
                while start.elapsed() < budget {
                    match l.append(id(t + 1, i), body) {
                        Ok(_) => done.fetch_add(1, Ordering::Relaxed),
                        Err(_) => failed.fetch_add(1, Ordering::Relaxed),
                    };
                    i += 1;
                }
            });
        }
    });
    let group = done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64();
    if failed.load(Ordering::Relaxed) > 0 {
        return Err("a ledger append failed".into());
    }
    let total = l.verify_chain().map_err(e)?;
    if total as usize != done.load(Ordering::Relaxed) {
        return Err(format!(
            "{total} entries on the ledger, {} appended",
            done.load(Ordering::Relaxed)
        ));
    }

    let l = EmbeddedLedger::open(&dir.join("batch.redb")).map_err(e)?;
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed() < budget {
        let batch: Vec<_> = (0..64).map(|i| (id(0, n + i), body.clone())).collect();
        l.append_batch(&batch).map_err(e)?;
        n += 64;
    }
    let batch64 = n as f64 / start.elapsed().as_secs_f64();
    Ok(LedgerFigures {
        envelope_bytes: BYTES,
        sequential_per_s: sequential,
        appenders,
        group_commit_per_s: group,
        batch64_per_s: batch64,
    })
}
