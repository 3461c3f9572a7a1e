//! `veilgate serve`: run the gateway from a data directory (with `--dev`,
//! development material is created first if there is none).

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use veilgate_server::{Gateway, CONFIG_FILE};

/// Addresses given on the command line, each overriding the configuration's.
pub struct Addresses {
    pub api: Option<String>,
    pub sm: Option<String>,
    pub observability: Option<String>,
}

pub async fn run(
    data: PathBuf,
    dev: bool,
    at: Addresses,
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
        crate::progress::stage(
            "creating development material (a CA, certificates and keys for four institutions, development Groth16 keys)",
            || veilgate_testkit::material::init(&data),
        )?;
    }
    let state = Arc::new(Gateway::load(&data)?);
    if !dev {
        refuse_development_keys(&state)?;
    }
    let listen = at.api.unwrap_or_else(|| state.config.listen.clone());
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    let addr = listener.local_addr()?;
    let sm_listener = sm_listener(&state, at.sm).await?;
    let observability = match at.observability.or_else(|| {
        state
            .config
            .observability
            .as_ref()
            .map(|o| o.listen.clone())
    }) {
        Some(a) => Some(
            tokio::net::TcpListener::bind(&a)
                .await
                .map_err(|e| format!("[observability] listen `{a}`: {e}"))?,
        ),
        None => None,
    };
    let mut out = std::io::stdout().lock();
    // One line, which tools read: the first address is the standard
    // listener's, the second (if any) the SM listener's.
    let mut sm_line = match &sm_listener {
        Some(l) => format!("; SM TLS (RFC 8998) on https://{}", l.local_addr()?),
        None => String::new(),
    };
    if let Some(o) = &observability {
        sm_line.push_str(&format!(
            "; health and metrics on http://{}",
            o.local_addr()?
        ));
    }
    writeln!(
        out,
        "veilgate listening on https://{addr} (data directory {}){sm_line}",
        data.display()
    )?;
    if first {
        let d = data.display();
        writeln!(out, "created development material in {d}: a CA, certificates and keys for bank-a, bank-b, bank-c and regulator")?;
        writeln!(out, "submit the sample payment as bank-a:")?;
        writeln!(
            out,
            "  veilgate client profile --data {d} --as bank-a --gateway https://{addr} --out bank-a.toml\n  veilgate client submit --profile bank-a.toml --ledger interbank-settlement --policy interbank-payment \\\n    --idempotency-key pay-0001 {d}/samples/interbank-payment.json --wait 30"
        )?;
    }
    out.flush()?;
    drop(out);
    let shutdown = shutdown_signal();
    let listeners = veilgate_server::Listeners {
        standard: listener,
        sm: sm_listener,
        observability,
    };
    veilgate_server::run_with(state, listeners, shutdown).await?;
    Ok(())
}

/// The `[tls_sm]` listener, bound at `listen_sm` or its configured address.
/// A gateway with a ledger of suite `sm` must have one: that ledger is
/// served over RFC 8998 TLS only.
async fn sm_listener(
    state: &Gateway,
    listen_sm: Option<String>,
) -> Result<Option<tokio::net::TcpListener>, Box<dyn std::error::Error>> {
    let Some(sm) = &state.config.tls_sm else {
        if listen_sm.is_some() {
            return Err(format!("--listen-sm: {CONFIG_FILE} has no [tls_sm] section").into());
        }
        if let Some((id, _)) = state
            .ledgers
            .iter()
            .find(|(_, ls)| ls.trust.directory.suite == "sm")
        {
            return Err(format!(
                "ledger `{id}` is of suite `sm` and is served over RFC 8998 TLS only: add a [tls_sm] section (listen, cert, key) to {CONFIG_FILE} (docs/configuration.md)"
            )
            .into());
        }
        return Ok(None);
    };
    let at = listen_sm.unwrap_or_else(|| sm.listen.clone());
    Ok(Some(
        tokio::net::TcpListener::bind(&at)
            .await
            .map_err(|e| format!("[tls_sm] listen `{at}`: {e}"))?,
    ))
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

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
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
}
