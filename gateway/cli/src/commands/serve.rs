//! `veilgate serve`: run the gateway from a data directory (with `--dev`,
//! development material is created first if there is none).

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use veilgate_server::{Gateway, CONFIG_FILE};

pub async fn run(
    data: PathBuf,
    dev: bool,
    listen: Option<String>,
) -> Result<(), Box<dyn std::error::Error>> {
    let first = !data.join(CONFIG_FILE).exists();
    if first && !dev {
        return Err(format!(
            "{} has no {CONFIG_FILE}; write one (docs/configuration.md) or pass --dev to generate development material",
            data.display()
        )
        .into());
    }
    if first {
        veilgate_testkit::material::init(&data)?;
    }
    let state = Arc::new(Gateway::load(&data)?);
    if !dev {
        refuse_development_keys(&state)?;
    }
    let listen = listen.unwrap_or_else(|| state.config.listen.clone());
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    let addr = listener.local_addr()?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "veilgate listening on https://{addr} (data directory {})",
        data.display()
    )?;
    if first {
        let d = data.display();
        writeln!(out, "created development material in {d}: a CA, certificates and keys for bank-a, bank-b, bank-c and regulator")?;
        writeln!(out, "submit the sample payment as bank-a:")?;
        writeln!(
            out,
            "  curl --cacert {d}/ca/ca.pem --cert {d}/institutions/bank-a/client.pem --key {d}/institutions/bank-a/client.key.pem \\\n    -H 'content-type: application/json' https://{addr}/v1/ledgers/interbank-settlement/records \\\n    -d \"{{\\\"policy\\\":\\\"interbank-payment\\\",\\\"idempotency_key\\\":\\\"pay-0001\\\",\\\"record\\\":$(cat {d}/samples/interbank-payment.json)}}\""
        )?;
    }
    out.flush()?;
    drop(out);
    let shutdown = async {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(t) => t,
                    Err(_) => {
                        let _ = ctrl_c.await;
                        return;
                    }
                };
            tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
    };
    veilgate_server::run(state, listener, shutdown).await?;
    Ok(())
}

/// Without `--dev`, a gateway will not prove or verify under development
/// Groth16 keys: anyone can forge proofs under them.
fn refuse_development_keys(gateway: &Gateway) -> Result<(), Box<dyn std::error::Error>> {
    let Some(ls) = gateway.ledgers.values().next() else {
        return Ok(());
    };
    // Every ledger shares the gateway's one key ring.
    let dev = ls.trust.keys.development_circuits()?;
    if dev.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{}: the Groth16 keys for {} are development keys, under which anyone can forge proofs; \
         put a ceremony's keys there (docs/keys.md) or pass --dev for development",
        gateway
            .data_dir
            .join(&gateway.config.groth16_keys)
            .display(),
        dev.join(", ")
    )
    .into())
}
