//! Prometheus metrics in the text exposition format: request counts and
//! latencies by route and status, rejections by reason, outbox depth and
//! ledger delivery lag. Small enough to keep by hand; no global registry.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    requests: BTreeMap<(String, u16), u64>,
    latency: BTreeMap<String, ([u64; BUCKETS.len()], u64, f64)>,
    rejections: BTreeMap<String, u64>,
    refusals: BTreeMap<String, u64>,
    refusals_suppressed: u64,
    revocations: BTreeMap<&'static str, usize>,
    revocations_stale: bool,
    revocation_reload_failures: u64,
    delivered: u64,
    ledger_errors: u64,
    last_lag_seconds: f64,
    verdicts: BTreeMap<(String, String), u64>,
    follow_position: BTreeMap<String, u64>,
}

impl Metrics {
    pub fn request(&self, route: &str, status: u16, seconds: f64) {
        if let Ok(mut m) = self.inner.lock() {
            *m.requests.entry((route.to_owned(), status)).or_default() += 1;
            let h = m
                .latency
                .entry(route.to_owned())
                .or_insert(([0; BUCKETS.len()], 0, 0.0));
            for (i, b) in BUCKETS.iter().enumerate() {
                if seconds <= *b {
                    if let Some(c) = h.0.get_mut(i) {
                        *c += 1;
                    }
                }
            }
            h.1 += 1;
            h.2 += seconds;
        }
    }

    pub fn rejection(&self, code: &str) {
        if let Ok(mut m) = self.inner.lock() {
            *m.rejections.entry(code.to_owned()).or_default() += 1;
        }
    }

    /// A refused handshake, admission or permission (audited within the rate limit).
    pub fn refusal(&self, reason: &str) {
        if let Ok(mut m) = self.inner.lock() {
            *m.refusals.entry(reason.to_owned()).or_default() += 1;
        }
    }

    pub fn refusal_suppressed(&self) {
        if let Ok(mut m) = self.inner.lock() {
            m.refusals_suppressed += 1;
        }
    }

    /// The revocation entries in force, by kind, after a reload.
    pub fn revocations(&self, counts: &[(&'static str, usize)]) {
        if let Ok(mut m) = self.inner.lock() {
            m.revocations = counts.iter().copied().collect();
            m.revocations_stale = false;
        }
    }

    /// A reload of the revocation files failed: the previous list stays.
    pub fn revocations_invalid(&self) {
        if let Ok(mut m) = self.inner.lock() {
            m.revocations_stale = true;
            m.revocation_reload_failures += 1;
        }
    }

    pub fn delivered(&self, lag_seconds: f64) {
        if let Ok(mut m) = self.inner.lock() {
            m.delivered += 1;
            m.last_lag_seconds = lag_seconds;
        }
    }

    pub fn ledger_error(&self) {
        if let Ok(mut m) = self.inner.lock() {
            m.ledger_errors += 1;
        }
    }

    pub fn verdict(&self, ledger: &str, verdict: &str) {
        if let Ok(mut m) = self.inner.lock() {
            *m.verdicts
                .entry((ledger.to_owned(), verdict.to_owned()))
                .or_default() += 1;
        }
    }

    pub fn follow_position(&self, ledger: &str, next: u64) {
        if let Ok(mut m) = self.inner.lock() {
            m.follow_position.insert(ledger.to_owned(), next);
        }
    }

    pub fn render(&self, outbox_depth: u64) -> String {
        let Ok(m) = self.inner.lock() else {
            return String::new();
        };
        let mut o = String::new();
        o.push_str("# HELP veilgate_requests_total HTTP requests by route and status.\n# TYPE veilgate_requests_total counter\n");
        for ((route, status), n) in &m.requests {
            o.push_str(&format!(
                "veilgate_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}\n"
            ));
        }
        o.push_str("# HELP veilgate_request_duration_seconds Request latency by route.\n# TYPE veilgate_request_duration_seconds histogram\n");
        for (route, (counts, n, sum)) in &m.latency {
            for (b, c) in BUCKETS.iter().zip(counts) {
                o.push_str(&format!("veilgate_request_duration_seconds_bucket{{route=\"{route}\",le=\"{b}\"}} {c}\n"));
            }
            o.push_str(&format!(
                "veilgate_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {n}\n"
            ));
            o.push_str(&format!(
                "veilgate_request_duration_seconds_sum{{route=\"{route}\"}} {sum}\n"
            ));
            o.push_str(&format!(
                "veilgate_request_duration_seconds_count{{route=\"{route}\"}} {n}\n"
            ));
        }
        o.push_str("# HELP veilgate_rejections_total Refused requests by reason code.\n# TYPE veilgate_rejections_total counter\n");
        for (code, n) in &m.rejections {
            o.push_str(&format!(
                "veilgate_rejections_total{{reason=\"{code}\"}} {n}\n"
            ));
        }
        o.push_str("# HELP veilgate_refusals_total Refused handshakes, admissions and permissions by reason (each audited within the rate limit).\n# TYPE veilgate_refusals_total counter\n");
        for (code, n) in &m.refusals {
            o.push_str(&format!(
                "veilgate_refusals_total{{reason=\"{code}\"}} {n}\n"
            ));
        }
        o.push_str(&format!("# HELP veilgate_refusals_unaudited_total Refusals the audit rate limit left out (summarised in the log).\n# TYPE veilgate_refusals_unaudited_total counter\nveilgate_refusals_unaudited_total {}\n", m.refusals_suppressed));
        o.push_str("# HELP veilgate_revocations Revocation entries in force by kind.\n# TYPE veilgate_revocations gauge\n");
        for (kind, n) in &m.revocations {
            o.push_str(&format!("veilgate_revocations{{kind=\"{kind}\"}} {n}\n"));
        }
        o.push_str(&format!("# HELP veilgate_revocations_stale 1 when the revocation files could not be read at the last change and an older list is in force (alert on it).\n# TYPE veilgate_revocations_stale gauge\nveilgate_revocations_stale {}\n", u8::from(m.revocations_stale)));
        o.push_str(&format!("# HELP veilgate_revocation_reload_failures_total Failed reloads of the revocation files.\n# TYPE veilgate_revocation_reload_failures_total counter\nveilgate_revocation_reload_failures_total {}\n", m.revocation_reload_failures));
        o.push_str(&format!("# HELP veilgate_outbox_depth Accepted envelopes waiting for the ledger.\n# TYPE veilgate_outbox_depth gauge\nveilgate_outbox_depth {outbox_depth}\n"));
        o.push_str(&format!("# HELP veilgate_delivered_total Envelopes delivered to a ledger.\n# TYPE veilgate_delivered_total counter\nveilgate_delivered_total {}\n", m.delivered));
        o.push_str(&format!("# HELP veilgate_ledger_errors_total Failed ledger appends (retried).\n# TYPE veilgate_ledger_errors_total counter\nveilgate_ledger_errors_total {}\n", m.ledger_errors));
        o.push_str("# HELP veilgate_follow_verdicts_total Ledger entries verified by this gateway's follower, by verdict.\n# TYPE veilgate_follow_verdicts_total counter\n");
        for ((ledger, verdict), n) in &m.verdicts {
            o.push_str(&format!(
                "veilgate_follow_verdicts_total{{ledger=\"{ledger}\",verdict=\"{verdict}\"}} {n}\n"
            ));
        }
        o.push_str("# HELP veilgate_follow_position Next ledger position the follower will verify.\n# TYPE veilgate_follow_position gauge\n");
        for (ledger, next) in &m.follow_position {
            o.push_str(&format!(
                "veilgate_follow_position{{ledger=\"{ledger}\"}} {next}\n"
            ));
        }
        o.push_str(&format!("# HELP veilgate_delivery_lag_seconds Acceptance-to-ledger time of the last delivery.\n# TYPE veilgate_delivery_lag_seconds gauge\nveilgate_delivery_lag_seconds {}\n", m.last_lag_seconds));
        o
    }
}
