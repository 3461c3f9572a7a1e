//! Revocation as certificate authorities do it: by certificate serial and
//! issuer (from `revocations.json` or from X.509 CRLs the consortium CA
//! signs), by certificate fingerprint, and by institution.
//!
//! [`RevocationSet::parse`] is pure: it turns the list's text and the CRL
//! files' bytes into the set in force, or an error naming the entry and the
//! rule. [`Revocations`] is the shell around it: it re-reads the files when
//! their content may have changed, and keeps the previous set whenever the
//! new one cannot be read — a bad edit never empties the list.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde::Deserialize;
use sha2::{Digest, Sha256};
use x509_parser::prelude::{FromDer, SubjectPublicKeyInfo, X509Certificate};
use x509_parser::revocation_list::CertificateRevocationList;

use crate::identity::Caller;

/// `revocations.json` as written. Unknown members are refused, so a typo in
/// a member name is an error rather than an entry silently ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListFile {
    /// SHA-256 of the certificate DER, in any common spelling: hex in
    /// either case, with or without `:` between bytes, with or without
    /// openssl's `sha256 Fingerprint=` prefix.
    #[serde(default)]
    certificates: Vec<String>,
    /// Certificates by issuer and serial number.
    #[serde(default)]
    serials: Vec<SerialEntry>,
    /// Institutions (certificate common names) that may no longer act.
    #[serde(default)]
    institutions: Vec<String>,
    /// X.509 CRL files (DER or PEM), relative to the data directory, each
    /// signed by a CA of a served ledger.
    #[serde(default)]
    crls: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SerialEntry {
    /// The issuer's distinguished name as `openssl x509 -noout -issuer`
    /// prints it (`CN=…, O=…`, in certificate order; spaces around `=` and
    /// `,` do not matter).
    issuer: String,
    /// The serial number in hex (`0x`, `:` and case do not matter).
    serial: String,
}

/// The revocations in force: what a caller is checked against.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RevocationSet {
    pub fingerprints: BTreeSet<[u8; 32]>,
    /// (normalised issuer name, serial without leading zero bytes).
    pub serials: BTreeSet<(String, Vec<u8>)>,
    pub institutions: BTreeSet<String>,
    /// How many of `serials` came from CRLs (the rest from the list).
    pub crl_entries: usize,
    pub crls: usize,
}

/// Why a revocation list was refused; names the entry and the rule.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{path}: {entry}: {rule}")]
pub struct ListError {
    pub path: String,
    pub entry: String,
    pub rule: String,
}

/// The leaf's serial and issuer, normalised the way entries are.
pub fn serial_key(cert: &X509Certificate<'_>) -> (String, Vec<u8>) {
    (
        normalise_name(&cert.issuer().to_string()),
        strip_zeros(cert.raw_serial()),
    )
}

impl RevocationSet {
    /// Parses the list's text; `read_crl` reads a CRL file the list names
    /// (relative path in, bytes out); `cas` are the certificates (DER) of
    /// every CA a CRL may be signed by.
    pub fn parse(
        path: &str,
        text: &str,
        read_crl: &dyn Fn(&str) -> Result<Vec<u8>, String>,
        cas: &[Vec<u8>],
    ) -> Result<RevocationSet, ListError> {
        let fail = |entry: &str, rule: String| ListError {
            path: path.to_owned(),
            entry: entry.to_owned(),
            rule,
        };
        // Strict JSON: two `certificates` members would otherwise keep only
        // the last, and the first list's entries would silently go.
        let value = veilgate_policies::json::parse(text.as_bytes()).map_err(|e| {
            let at = if e.path.is_empty() {
                "the file".to_owned()
            } else {
                e.path.clone()
            };
            fail(&at, e.to_string())
        })?;
        let file: ListFile =
            serde_json::from_value(value).map_err(|e| fail("the file", e.to_string()))?;
        let mut set = RevocationSet::default();
        for (i, f) in file.certificates.iter().enumerate() {
            let fp = parse_fingerprint(f).ok_or_else(|| {
                fail(
                    &format!("certificates[{i}]"),
                    "must be a SHA-256 fingerprint: 64 hex digits, optionally in pairs separated by `:`".into(),
                )
            })?;
            set.fingerprints.insert(fp);
        }
        for (i, s) in file.serials.iter().enumerate() {
            let serial = parse_hex(&s.serial)
                .filter(|b| !b.is_empty() && b.len() <= 20)
                .ok_or_else(|| {
                    fail(
                        &format!("serials[{i}].serial"),
                        "must be a serial number in hex, at most 20 bytes".into(),
                    )
                })?;
            let issuer = normalise_name(&s.issuer);
            if issuer.is_empty() || !issuer.contains('=') {
                return Err(fail(
                    &format!("serials[{i}].issuer"),
                    "must be a distinguished name such as `CN=Consortium CA, O=…`".into(),
                ));
            }
            set.serials.insert((issuer, strip_zeros(&serial)));
        }
        for (i, inst) in file.institutions.iter().enumerate() {
            if inst.trim().is_empty() || inst.trim() != inst {
                return Err(fail(
                    &format!("institutions[{i}]"),
                    "must be an institution id without surrounding white space".into(),
                ));
            }
            set.institutions.insert(inst.clone());
        }
        for (i, crl_path) in file.crls.iter().enumerate() {
            let entry = format!("crls[{i}] ({crl_path})");
            let bytes = read_crl(crl_path).map_err(|e| fail(&entry, e))?;
            let serials = crl_serials(&bytes, cas).map_err(|e| fail(&entry, e))?;
            set.crl_entries += serials.len();
            set.serials.extend(serials);
            set.crls += 1;
        }
        Ok(set)
    }

    pub fn is_revoked(&self, caller: &Caller) -> bool {
        self.institutions.contains(&caller.institution)
            || self.fingerprints.contains(&caller.fingerprint)
            || self.serials.contains(&caller.serial_key)
    }

    /// Entries in force by kind, for the log and metrics.
    pub fn counts(&self) -> [(&'static str, usize); 4] {
        [
            ("certificate", self.fingerprints.len()),
            ("serial", self.serials.len() - self.crl_entries),
            ("crl_entry", self.crl_entries),
            ("institution", self.institutions.len()),
        ]
    }
}

/// The revoked serials of a CRL signed by one of `cas` (DER or PEM).
fn crl_serials(bytes: &[u8], cas: &[Vec<u8>]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let der = if bytes.starts_with(b"-----BEGIN") {
        let (_, pem) = x509_parser::pem::parse_x509_pem(bytes)
            .map_err(|e| format!("is not a PEM CRL: {e}"))?;
        if pem.label != "X509 CRL" {
            return Err(format!("is PEM `{}`, not `X509 CRL`", pem.label));
        }
        pem.contents
    } else {
        bytes.to_vec()
    };
    let (rest, crl) = CertificateRevocationList::from_der(&der)
        .map_err(|e| format!("is not an X.509 CRL: {e}"))?;
    if !rest.is_empty() {
        return Err("has bytes after the CRL".into());
    }
    let issuer = normalise_name(&crl.issuer().to_string());
    let signed_by_ca = cas.iter().any(|ca| {
        X509Certificate::from_der(ca).is_ok_and(|(_, ca)| {
            normalise_name(&ca.subject().to_string()) == issuer && verify_crl(&crl, ca.public_key())
        })
    });
    if !signed_by_ca {
        return Err(format!(
            "is not signed by a CA of a served ledger (issuer `{issuer}`)"
        ));
    }
    Ok(crl
        .iter_revoked_certificates()
        .map(|r| (issuer.clone(), strip_zeros(r.raw_serial())))
        .collect())
}

fn verify_crl(crl: &CertificateRevocationList<'_>, key: &SubjectPublicKeyInfo<'_>) -> bool {
    crl.verify_signature(key).is_ok()
}

/// `AB:CD:…`, `abcd…`, `sha256 Fingerprint=AB:…` → the 32 bytes.
fn parse_fingerprint(s: &str) -> Option<[u8; 32]> {
    let s = s.trim();
    let s = match s.rsplit_once('=') {
        Some((prefix, rest)) if prefix.to_ascii_lowercase().contains("fingerprint") => rest,
        _ => s,
    };
    parse_hex(s)?.try_into().ok()
}

/// Hex in either case, optionally `0x`-prefixed, with optional `:` or
/// white space between byte pairs.
fn parse_hex(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    let s = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    let separated = s.contains(':') || s.contains(' ');
    let digits: String = if separated {
        let mut out = String::new();
        for pair in s.split([':', ' ']).filter(|p| !p.is_empty()) {
            match pair.len() {
                1 => out.push('0'),
                2 => {}
                _ => return None,
            }
            out.push_str(pair);
        }
        out
    } else if s.len() % 2 == 1 {
        format!("0{s}")
    } else {
        s.to_owned()
    };
    hex::decode(digits.to_ascii_lowercase()).ok()
}

fn strip_zeros(b: &[u8]) -> Vec<u8> {
    let first = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    b.get(first..).unwrap_or_default().to_vec()
}

/// `CN = A ,O=B` → `CN=A, O=B`: attribute types upper case, no white space
/// around `=` or `,`. Values keep their case.
pub fn normalise_name(s: &str) -> String {
    let s = s.trim();
    let s = s
        .strip_prefix("issuer=")
        .or_else(|| s.strip_prefix("issuer ="))
        .unwrap_or(s);
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => format!("{}={}", k.trim().to_ascii_uppercase(), v.trim()),
            None => p.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a reload found.
pub enum Reloaded {
    Unchanged,
    Changed(Arc<RevocationSet>),
    /// The files could not be read as a revocation list: the previous set
    /// stays in force.
    Invalid(String),
}

/// How often the files' content is hashed even when their metadata has not
/// moved (coarse-timestamp file systems, edits within one tick).
const CONTENT_CHECK: Duration = Duration::from_secs(1);

/// The revocation list of a running gateway, re-read when the content of
/// the list or of a CRL it names may have changed.
pub struct Revocations {
    path: PathBuf,
    data_dir: PathBuf,
    cas: Vec<Vec<u8>>,
    current: RwLock<Arc<RevocationSet>>,
    seen: Mutex<Seen>,
}

#[derive(Default)]
struct Seen {
    /// Metadata of the list and each CRL at the last read.
    stamps: Vec<Option<Stamp>>,
    /// SHA-256 over the list's and the CRLs' bytes at the last read.
    content: Option<[u8; 32]>,
    checked: Option<Instant>,
    /// The last reload failed: the set in force is older than the files.
    stale: bool,
}

/// What changes when a file is written, whatever tool wrote it: `ctime`
/// moves on every write and cannot be set back (`cp -p`, `rsync -t` and tar
/// restore only `mtime`).
#[derive(Clone, Copy, PartialEq, Eq)]
struct Stamp {
    len: u64,
    ino: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

fn stamp(path: &Path) -> Option<Stamp> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some(Stamp {
        len: m.len(),
        ino: m.ino(),
        mtime: (m.mtime(), m.mtime_nsec()),
        ctime: (m.ctime(), m.ctime_nsec()),
    })
}

impl Revocations {
    /// `cas`: the CA certificates (DER) of every served ledger, the only
    /// issuers whose CRLs are accepted.
    pub fn new(path: PathBuf, data_dir: PathBuf, cas: Vec<Vec<u8>>) -> Self {
        Revocations {
            path,
            data_dir,
            cas,
            current: RwLock::new(Arc::default()),
            seen: Mutex::new(Seen::default()),
        }
    }

    pub fn current(&self) -> Arc<RevocationSet> {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Whether the last reload failed (the alert: the set in force is not
    /// what the files say).
    pub fn stale(&self) -> bool {
        self.seen.lock().map(|s| s.stale).unwrap_or(true)
    }

    /// Re-reads the files when a file's metadata moved, or its content
    /// when [`CONTENT_CHECK`] has passed. At most one caller reads at a
    /// time; the others go on with the set in force.
    pub fn refresh(&self) -> Reloaded {
        let Ok(mut seen) = self.seen.try_lock() else {
            return Reloaded::Unchanged;
        };
        let crl_paths = self.crl_paths();
        let stamps: Vec<Option<Stamp>> = std::iter::once(self.path.clone())
            .chain(crl_paths.iter().map(|p| self.data_dir.join(p)))
            .map(|p| stamp(&p))
            .collect();
        let due = seen.checked.is_none_or(|t| t.elapsed() >= CONTENT_CHECK);
        if stamps == seen.stamps && !due {
            return Reloaded::Unchanged;
        }
        seen.checked = Some(Instant::now());
        seen.stamps = stamps;
        match self.read() {
            Ok((hash, set)) => {
                let was_stale = std::mem::replace(&mut seen.stale, false);
                if seen.content == Some(hash) && !was_stale {
                    return Reloaded::Unchanged;
                }
                seen.content = Some(hash);
                let set = Arc::new(set);
                *self
                    .current
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = set.clone();
                Reloaded::Changed(set)
            }
            Err(e) => {
                let first = !seen.stale;
                seen.stale = true;
                // Reported once per failed state, not on every request.
                if first {
                    Reloaded::Invalid(e)
                } else {
                    Reloaded::Unchanged
                }
            }
        }
    }

    /// The CRL paths the list on disk names (best effort: for stamps only).
    fn crl_paths(&self) -> Vec<String> {
        std::fs::read_to_string(&self.path)
            .ok()
            .and_then(|t| serde_json::from_str::<ListFile>(&t).ok())
            .map(|l| l.crls)
            .unwrap_or_default()
    }

    /// Reads and parses the list and its CRLs; the hash covers every byte read.
    fn read(&self) -> Result<([u8; 32], RevocationSet), String> {
        let shown = self.path.display().to_string();
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            // No file yet: nothing revoked. Once a list was read, a
            // vanished file is an error (the previous list stays), so a
            // failed copy never lifts every revocation.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && self.never_read() => {
                return Ok((Sha256::digest(b"").into(), RevocationSet::default()))
            }
            Err(e) => return Err(format!("{shown}: {e}")),
        };
        let hasher = std::cell::RefCell::new(Sha256::new());
        hasher.borrow_mut().update(text.as_bytes());
        let read_crl = |p: &str| -> Result<Vec<u8>, String> {
            let b = std::fs::read(self.data_dir.join(p)).map_err(|e| e.to_string())?;
            let mut h = hasher.borrow_mut();
            h.update((b.len() as u64).to_be_bytes());
            h.update(&b);
            Ok(b)
        };
        let set =
            RevocationSet::parse(&shown, &text, &read_crl, &self.cas).map_err(|e| e.to_string())?;
        Ok((hasher.into_inner().finalize().into(), set))
    }

    fn never_read(&self) -> bool {
        // Called with `seen` locked by `refresh`: read `current` only.
        *self.current() == RevocationSet::default()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn fingerprints_in_every_common_spelling() {
        let hexs = "ab".repeat(32);
        let colons = vec!["AB"; 32].join(":");
        for s in [
            hexs.clone(),
            hexs.to_uppercase(),
            colons.clone(),
            format!("sha256 Fingerprint={colons}"),
            format!("SHA256 Fingerprint={}", colons.to_lowercase()),
        ] {
            assert_eq!(parse_fingerprint(&s), Some([0xab; 32]), "{s}");
        }
        for bad in ["ab", &"ab".repeat(31), &"zz".repeat(32), "AB:CDE:01"] {
            assert_eq!(parse_fingerprint(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_bad_entry_is_named() {
        let none = |_: &str| -> Result<Vec<u8>, String> { Err("absent".into()) };
        let e = RevocationSet::parse("r.json", r#"{"certificates": ["ab", "cd"]}"#, &none, &[])
            .unwrap_err();
        assert_eq!(e.entry, "certificates[0]");
        let e = RevocationSet::parse("r.json", r#"{"certificate": []}"#, &none, &[]).unwrap_err();
        assert!(e.rule.contains("unknown field"), "{e}");
        let e = RevocationSet::parse(
            "r.json",
            r#"{"serials": [{"issuer": "CN=x", "serial": "0x"}]}"#,
            &none,
            &[],
        )
        .unwrap_err();
        assert_eq!(e.entry, "serials[0].serial");
        let e = RevocationSet::parse("r.json", r#"{"crls": ["c.crl"]}"#, &none, &[]).unwrap_err();
        assert_eq!(
            (e.entry.as_str(), e.rule.as_str()),
            ("crls[0] (c.crl)", "absent")
        );
    }

    #[test]
    fn names_and_serials_normalise() {
        assert_eq!(
            normalise_name("issuer=cn = Consortium CA ,o=Banks"),
            "CN=Consortium CA, O=Banks"
        );
        assert_eq!(parse_hex("0x0A:1b").unwrap(), vec![0x0a, 0x1b]);
        assert_eq!(parse_hex("a1b").unwrap(), vec![0x0a, 0x1b]);
        assert_eq!(strip_zeros(&[0, 0, 5, 0]), vec![5, 0]);
    }
}
