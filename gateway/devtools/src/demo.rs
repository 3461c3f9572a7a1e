//! `veilgate demo`: the whole flow in one process, over real HTTPS with mTLS
//! against the embedded ledger, printed side by side: what the submitter sent,
//! what a peer (and anyone reading the ledger) sees, and what each recipient opens.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use veilgate_client::{policy_set, Client, Tls};
use veilgate_core::{Envelope, FieldBody, InstitutionSecrets, OpenError, SuiteId};

use veilgate_server::Gateway;
use veilgate_testkit::material::{DEV_INSTITUTIONS, DEV_LEDGER, DEV_SM_LEDGER};

const CELL: usize = 24;

/// A fixed-width column with one space of gutter; long values end in `…`.
fn cell(s: &str) -> String {
    let width = CELL - 1;
    let mut out: String = s.chars().take(width).collect();
    if s.chars().count() > width {
        out = out.chars().take(width - 1).collect();
        out.push('…');
    }
    format!("{out:<width$} ")
}

/// The demo on the development ledger of `suite`: `sm` runs it on the SM
/// ledger, over RFC 8998 TLS with SM2 certificates, sealed with SM2, SM3
/// and SM4.
pub async fn run(data_dir: &Path, suite: SuiteId) -> Result<(), Box<dyn std::error::Error>> {
    if !data_dir.join(veilgate_server::CONFIG_FILE).exists() {
        // On standard error: the table below is the demo's output.
        let started = std::time::Instant::now();
        eprintln!("… creating development material (a CA, certificates and keys for four institutions, development Groth16 keys)");
        veilgate_testkit::material::init(data_dir)?;
        eprintln!("  done in {:.1} s", started.elapsed().as_secs_f64());
    }
    let state = Arc::new(Gateway::load(data_dir)?);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let sm_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let (ledger, tls, listening, secrets_file) = match suite {
        SuiteId::Sm => (DEV_SM_LEDGER, Tls::Sm, &sm_listener, "secrets.sm.json"),
        _ => (DEV_LEDGER, Tls::Standard, &listener, "secrets.json"),
    };
    let base = format!("https://127.0.0.1:{}", listening.local_addr()?.port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let listeners = veilgate_server::Listeners {
        standard: listener,
        sm: Some(sm_listener),
        observability: None,
    };
    let server = tokio::spawn(veilgate_server::run_with(state, listeners, async {
        let _ = stopped.await;
    }));

    let record: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(
        data_dir.join("samples/interbank-payment.json"),
    )?)?;
    let bank_a = Client::from_data_dir_over(data_dir, "bank-a", &base, tls)?;
    let key = format!(
        "demo-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis()
    );
    let receipt = bank_a
        .submit(ledger, "interbank-payment", &key, &record)
        .await?;
    let receipt = bank_a
        .wait_on_ledger(
            ledger,
            &receipt.envelope_id,
            std::time::Duration::from_secs(30),
        )
        .await?;
    match suite {
        SuiteId::Sm => println!("bank-a submitted a payment to ledger `{ledger}` (suite sm: SM2 signature, SM2-ECDH/SM3/SM4-GCM key wrap, SM4-GCM fields, SM3 ids) over RFC 8998 TLS (TLS_SM4_GCM_SM3, SM2 client certificate) to {base}"),
        _ => println!("bank-a submitted a payment to ledger `{ledger}` over HTTPS (mTLS) to {base}"),
    }
    println!(
        "  envelope {} at ledger position {} (entry hash {}…)\n",
        receipt.envelope_id,
        receipt
            .sequence
            .map_or("pending".to_owned(), |s| s.to_string()),
        receipt
            .entry_hash
            .as_deref()
            .and_then(|h| h.get(..16))
            .unwrap_or("-")
    );

    // A peer (bank-c) fetches, fetches the policies, and verifies with no plaintext.
    let peer = Client::from_data_dir_over(data_dir, "bank-c", &base, tls)?;
    let fetched = peer.envelope(ledger, &receipt.envelope_id).await?;
    let policies = policy_set(&peer.policies(ledger).await?)?;
    let trust = veilgate_testkit::data::trust(data_dir, ledger, policies)?;
    let verified = veilgate_core::verify(&fetched.bytes, &trust, &mut rand_core::OsRng)?;
    println!(
        "peer bank-c verified it: signature, policy hash, shape and range proof ({} bytes)\n",
        fetched.bytes.len()
    );

    let env: &Envelope = verified.envelope();
    let mut opened: BTreeMap<&str, Option<BTreeMap<String, String>>> = BTreeMap::new();
    for id in DEV_INSTITUTIONS {
        let secrets = InstitutionSecrets::from_json(&std::fs::read_to_string(
            data_dir.join("institutions").join(id).join(secrets_file),
        )?)?;
        match veilgate_core::open(&verified, &secrets, None) {
            Ok(fields) => {
                opened.insert(
                    id,
                    Some(
                        fields
                            .into_iter()
                            .map(|f| (f.name, f.value.display()))
                            .collect(),
                    ),
                );
            }
            Err(OpenError::NotARecipient(_)) => {
                opened.insert(id, None);
            }
            Err(e) => return Err(e.into()),
        }
    }

    let cols = ["bank-a", "bank-b", "regulator"];
    print!(
        "{}{}{}",
        cell("field"),
        cell("submitted by bank-a"),
        cell("on the ledger (peers)")
    );
    for c in cols {
        print!("{}", cell(&format!("{c} opens")));
    }
    println!();
    println!("{}", "─".repeat(CELL * (3 + cols.len())));
    for f in &verified.plan().fields {
        let input = record
            .get(&f.name)
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .unwrap_or_default();
        let on_ledger = match env
            .fields
            .iter()
            .find(|s| s.name == f.name)
            .map(|s| &s.body)
        {
            None => "(dropped: never sent)".to_owned(),
            Some(FieldBody::Public(_)) => input.clone(),
            Some(FieldBody::Pseudonym(p)) => format!("pseudonym {}", hex::encode(&p[..6])),
            Some(FieldBody::Oblivious { epoch, tag }) => {
                format!("pseudonym {} (epoch {epoch})", hex::encode(&tag[..6]))
            }
            Some(FieldBody::Committed { commitment, proof }) => {
                format!(
                    "commit {}…{}",
                    hex::encode(&commitment[..4]),
                    if proof.is_some() { " range✓" } else { "" }
                )
            }
            Some(FieldBody::Encrypted) => "ciphertext".to_owned(),
            Some(FieldBody::Derived(_)) => "(masked or generalized)".to_owned(),
            Some(FieldBody::Bn254Committed(c)) => {
                format!("commit {}… (BN254)", hex::encode(&c[..4]))
            }
        };
        print!("{}{}{}", cell(&f.name), cell(&input), cell(&on_ledger));
        for c in cols {
            let shown = match opened.get(c) {
                Some(Some(view)) => view.get(&f.name).cloned().unwrap_or_else(|| "·".into()),
                _ => "·".into(),
            };
            print!("{}", cell(&shown));
        }
        println!();
    }
    if opened.get("bank-c").is_some_and(Option::is_none) {
        println!("\nbank-c is a peer, not a recipient: it sees only the ledger column, and could verify it all.");
    }
    println!("· = not visible to that party.");
    let _ = stop.send(());
    let _ = server.await;
    Ok(())
}
