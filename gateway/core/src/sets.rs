//! Sets on the ledger (`docs/sets.md`): named, versioned sets — sanctions
//! lists, eligible nationalities, approved counterparties — whose members are
//! distributed as a file ([`SetFile`]) and whose Poseidon Merkle root is
//! published on the ledger in a signed entry ([`SetRoot`]) by an institution
//! holding the role the directory names for the set.
//!
//! A [`SetBook`] holds the roots a party has admitted, in ledger order, and
//! the contents it holds for them. Version `v` of a set is **in force** at
//! time `t` when it is the newest admitted version whose `valid_from` is at
//! most `t`. Seal proves a predicate against the version in force at the
//! envelope's time and names it; a peer accepts the proof only if the version
//! it names is the one in force at that time in its own book, built from the
//! entries before the envelope. So an envelope sealed before an update keeps
//! verifying after it, and one sealed after it against the old root fails.
//!
//! Pure: no clock, no files. Callers pass times and bytes.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use veilgate_circuits::merkle::{set_member, to_bytes, SortedSet};
use veilgate_codec::{Reader, Writer};

use crate::keys::{EnvelopeSigner, KeyUseError, LedgerDirectory};
use crate::suite::SuiteId;

/// Depth of every set's tree: up to 2^16 − 2 = 65,534 members (two leaves
/// are the sentinels). One depth keeps one key pair per circuit.
pub const SET_DEPTH: usize = 16;
/// Most members a set holds.
pub const MAX_MEMBERS: usize = (1 << SET_DEPTH) - 2;
pub const SET_ROOT_MAGIC: &[u8; 4] = b"VGSR";
pub const SET_ROOT_FORMAT: u8 = 1;
const SIGNATURE_DOMAIN: &[u8] = b"veilgate/set-root/v1";
const ID_DOMAIN: &[u8] = b"veilgate/set-root-id/v1";
/// How far ahead of the publishing gateway's clock a root may take force.
pub const MAX_CLOCK_SKEW_MS: u64 = 5 * 60 * 1000;
const MAX_NAME: usize = 64;

/// Why a set file, a root entry or a publication is refused. Messages name
/// the set, version and rule; never a member.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SetError {
    #[error("set `{set}` is not one ledger `{ledger}` publishes (its directory names no publisher for it)")]
    UnknownSet { ledger: String, set: String },
    #[error("`{publisher}` does not hold role `{role}`, which publishes set `{set}` on ledger `{ledger}`")]
    NotPublisher {
        ledger: String,
        set: String,
        role: String,
        publisher: String,
    },
    #[error("the root entry of set `{set}` version {version} is not signed by `{publisher}`")]
    BadSignature {
        set: String,
        version: u32,
        publisher: String,
    },
    #[error("set `{set}`: version {found} follows version {last}; the next version is {}", last + 1)]
    Version { set: String, last: u32, found: u32 },
    #[error("set `{set}` version {version} takes force at {valid_from_ms} ms, not after version {previous}'s {previous_from_ms} ms")]
    NotAfter {
        set: String,
        version: u32,
        valid_from_ms: u64,
        previous: u32,
        previous_from_ms: u64,
    },
    #[error("set `{set}` version {version} would take force at {valid_from_ms} ms, in the future of {now_ms} ms (a root takes force when it is published)")]
    Future {
        set: String,
        version: u32,
        valid_from_ms: u64,
        now_ms: u64,
    },
    #[error("the root entry of set `{set}` is for ledger `{found}`, not `{ledger}`")]
    WrongLedger {
        set: String,
        ledger: String,
        found: String,
    },
    #[error(
        "set `{set}` version {version}: the file's members hash to another root than the ledger's"
    )]
    RootMismatch { set: String, version: u32 },
    #[error("set `{set}` version {version} has no root on the ledger")]
    NoRoot { set: String, version: u32 },
    #[error("set file: {0}")]
    File(String),
    #[error("set root entry: {0}")]
    Entry(String),
}

impl SetError {
    /// A stable machine-readable code (API answers, verdicts).
    pub fn code(&self) -> &'static str {
        match self {
            SetError::UnknownSet { .. } => "unknown_set",
            SetError::NotPublisher { .. } => "not_publisher",
            SetError::BadSignature { .. } => "bad_signature",
            SetError::Version { .. } | SetError::NotAfter { .. } => "set_version",
            SetError::Future { .. } => "set_in_future",
            SetError::WrongLedger { .. } => "wrong_ledger",
            SetError::RootMismatch { .. } | SetError::NoRoot { .. } => "set_root",
            SetError::File(_) => "invalid_set_file",
            SetError::Entry(_) => "malformed",
        }
    }
}

/// A set member as it is hashed: trimmed, inner runs of white space as one
/// space, letters upper-cased — so `"  Zhang  min"` and `"ZHANG MIN"` are one
/// member. Record values are normalised the same way before they are proven.
pub fn normalize(member: &str) -> String {
    veilgate_policies::record::normalize_member(member)
}

/// The tree element of a member: [`set_member`] of its normalised UTF-8.
pub fn element(member: &str) -> ark_bn254::Fr {
    set_member(normalize(member).as_bytes())
}

/// Members from a text list: one per line; blank lines and lines starting
/// with `#` are skipped.
pub fn members_from_text(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// A set's contents as members receive them: JSON, anyone recomputes `root`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetFile {
    /// 1.
    pub format: u32,
    pub ledger: String,
    pub set: String,
    pub version: u32,
    /// Normalised, sorted by their tree element, no duplicates.
    pub members: Vec<String>,
    /// Hex of the 32-byte root.
    pub root: String,
}

/// A set file with its tree, ready to prove against.
#[derive(Clone, Debug)]
pub struct SetContents {
    pub file: SetFile,
    pub tree: SortedSet,
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_NAME
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl SetContents {
    /// Builds version `version` of `set` from members in any order (each
    /// normalised; duplicates after normalisation are one member).
    pub fn build(
        ledger: &str,
        set: &str,
        version: u32,
        members: &[String],
    ) -> Result<SetContents, SetError> {
        if !valid_name(set) {
            return Err(SetError::File(format!(
                "set name `{set}` must be 1–{MAX_NAME} letters, digits, `_` or `-`"
            )));
        }
        if version == 0 {
            return Err(SetError::File("versions start at 1".into()));
        }
        let mut by_element: BTreeMap<Vec<u8>, String> = BTreeMap::new();
        for (i, m) in members.iter().enumerate() {
            let n = normalize(m);
            if n.is_empty() {
                return Err(SetError::File(format!("member {} is empty", i + 1)));
            }
            by_element.insert(to_bytes(&element(&n)).to_vec(), n);
        }
        if by_element.len() > MAX_MEMBERS {
            return Err(SetError::File(format!(
                "{} members; a set holds at most {MAX_MEMBERS}",
                by_element.len()
            )));
        }
        let tree = SortedSet::new(SET_DEPTH, by_element.values().map(|m| element(m)).collect())
            .map_err(|e| SetError::File(e.to_string()))?;
        Ok(SetContents {
            file: SetFile {
                format: 1,
                ledger: ledger.to_owned(),
                set: set.to_owned(),
                version,
                members: by_element.into_values().collect(),
                root: hex::encode(to_bytes(&tree.root())),
            },
            tree,
        })
    }

    /// Reads a set file, recomputing its root: a file whose members do not
    /// give its stated root, or that is not in canonical order, is refused.
    pub fn from_json(text: &str) -> Result<SetContents, SetError> {
        let file: SetFile =
            serde_json::from_str(text).map_err(|e| SetError::File(e.to_string()))?;
        if file.format != 1 {
            return Err(SetError::File(format!(
                "format {} is not supported (this build reads 1)",
                file.format
            )));
        }
        let built = SetContents::build(&file.ledger, &file.set, file.version, &file.members)?;
        if built.file.members != file.members {
            return Err(SetError::File(format!(
                "set `{}` version {}: members must be normalised, sorted by element and unique (`veilgate set build` writes them so)",
                file.set, file.version
            )));
        }
        if built.file.root != file.root {
            return Err(SetError::File(format!(
                "set `{}` version {}: the members hash to root {}, the file says {}",
                file.set, file.version, built.file.root, file.root
            )));
        }
        Ok(built)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&self.file).unwrap_or_default() + "\n"
    }

    pub fn root(&self) -> [u8; 32] {
        to_bytes(&self.tree.root())
    }
}

/// A set's root as published on the ledger (`docs/sets.md`, entry layout).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetRoot {
    pub suite: SuiteId,
    pub ledger: String,
    pub set: String,
    pub version: u32,
    pub depth: u8,
    pub root: [u8; 32],
    pub members: u32,
    /// When this version takes force (the publisher's clock at publishing).
    pub valid_from_ms: u64,
    pub publisher: String,
    pub signature: Vec<u8>,
}

impl SetRoot {
    /// An entry for `contents`, signed by `publisher`.
    pub fn sign(
        contents: &SetContents,
        valid_from_ms: u64,
        publisher: &dyn EnvelopeSigner,
    ) -> Result<SetRoot, KeyUseError> {
        let mut root = SetRoot {
            suite: publisher.suite(),
            ledger: contents.file.ledger.clone(),
            set: contents.file.set.clone(),
            version: contents.file.version,
            depth: SET_DEPTH as u8,
            root: contents.root(),
            members: u32::try_from(contents.file.members.len()).unwrap_or(u32::MAX),
            valid_from_ms,
            publisher: publisher.institution().to_owned(),
            signature: Vec::new(),
        };
        root.signature = publisher.sign(&root.signature_input())?;
        Ok(root)
    }

    fn signed_bytes(&self) -> Vec<u8> {
        let mut w = Vec::with_capacity(128);
        w.put(SET_ROOT_MAGIC);
        w.put_u8(SET_ROOT_FORMAT);
        w.put_u8(self.suite as u8);
        w.put_str_u16(&self.ledger);
        w.put_str_u16(&self.set);
        w.put_u32(self.version);
        w.put_u8(self.depth);
        w.put(&self.root);
        w.put_u32(self.members);
        w.put_u64(self.valid_from_ms);
        w.put_str_u16(&self.publisher);
        w
    }

    fn signature_input(&self) -> Vec<u8> {
        let mut m = SIGNATURE_DOMAIN.to_vec();
        m.extend_from_slice(&self.signed_bytes());
        m
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = self.signed_bytes();
        w.put_bytes_u16(&self.signature);
        w
    }

    /// Strict decoder: the bytes are one entry, nothing after it.
    pub fn decode(bytes: &[u8]) -> Result<SetRoot, SetError> {
        let bad = |e: veilgate_codec::CodecError| SetError::Entry(e.to_string());
        let mut r = Reader::new(bytes);
        if r.take("magic", 4).map_err(bad)? != SET_ROOT_MAGIC {
            return Err(SetError::Entry("not a set root entry (magic)".into()));
        }
        let format = r.u8("format").map_err(bad)?;
        if format != SET_ROOT_FORMAT {
            return Err(SetError::Entry(format!("format {format} is not supported")));
        }
        let suite_byte = r.u8("suite").map_err(bad)?;
        let suite = SuiteId::from_byte(suite_byte)
            .ok_or_else(|| SetError::Entry(format!("unknown suite {suite_byte}")))?;
        let text = |r: &mut Reader<'_>, what| -> Result<String, SetError> {
            Ok(r.str_u16(what).map_err(bad)?.to_owned())
        };
        let entry = SetRoot {
            suite,
            ledger: text(&mut r, "ledger")?,
            set: text(&mut r, "set")?,
            version: r.u32("version").map_err(bad)?,
            depth: r.u8("depth").map_err(bad)?,
            root: r.array::<32>("root").map_err(bad)?,
            members: r.u32("member count").map_err(bad)?,
            valid_from_ms: r.u64("valid from").map_err(bad)?,
            publisher: text(&mut r, "publisher")?,
            signature: r.bytes_u16("signature").map_err(bad)?.to_vec(),
        };
        r.finish().map_err(bad)?;
        if !valid_name(&entry.set) {
            return Err(SetError::Entry("set name is not a valid name".into()));
        }
        if usize::from(entry.depth) != SET_DEPTH {
            return Err(SetError::Entry(format!(
                "depth {} (sets have depth {SET_DEPTH})",
                entry.depth
            )));
        }
        if crate::predicates::field_from_canonical(&entry.root).is_none() {
            return Err(SetError::Entry("root is not a BN254 field element".into()));
        }
        Ok(entry)
    }

    /// The ledger entry id: `SHA-256("veilgate/set-root-id/v1" ‖ lp(ledger)
    /// ‖ lp(set) ‖ u32 version)[0..16]`, so a ledger holds one root per version.
    pub fn id(&self) -> [u8; 16] {
        let mut m = ID_DOMAIN.to_vec();
        m.put_str_u16(&self.ledger);
        m.put_str_u16(&self.set);
        m.put_u32(self.version);
        let h = self.suite.suite().hash(&m);
        let mut id = [0u8; 16];
        id.copy_from_slice(h.get(..16).unwrap_or(&[0; 16]));
        id
    }
}

/// The set roots a party has admitted, oldest first per set, and the
/// contents it holds for them (the gateway's, to seal with).
#[derive(Clone, Debug, Default)]
pub struct SetBook {
    roots: BTreeMap<String, Vec<SetRoot>>,
    contents: BTreeMap<(String, u32), Arc<SetContents>>,
}

impl SetBook {
    /// Checks a root entry against the directory and the roots before it,
    /// and admits it: the set is one the ledger publishes, the publisher holds
    /// its role and was admitted when the root takes force, the signature is
    /// the publisher's, the version is the next one and it takes force after
    /// the one before.
    pub fn admit(&mut self, entry: SetRoot, directory: &LedgerDirectory) -> Result<(), SetError> {
        let set = entry.set.clone();
        if entry.ledger != directory.ledger {
            return Err(SetError::WrongLedger {
                set,
                ledger: directory.ledger.clone(),
                found: entry.ledger,
            });
        }
        let rule = directory
            .sets
            .get(&set)
            .ok_or_else(|| SetError::UnknownSet {
                ledger: directory.ledger.clone(),
                set: set.clone(),
            })?;
        let holds_role = directory
            .roles
            .get(&rule.publisher)
            .is_some_and(|h| h.contains(&entry.publisher));
        let member = directory
            .member_at(&entry.publisher, entry.valid_from_ms)
            .filter(|_| holds_role)
            .ok_or_else(|| SetError::NotPublisher {
                ledger: directory.ledger.clone(),
                set: set.clone(),
                role: rule.publisher.clone(),
                publisher: entry.publisher.clone(),
            })?;
        if entry.suite.name() != directory.suite {
            return Err(SetError::Entry(format!(
                "set root of `{set}` version {} uses crypto suite `{}`; ledger `{}` admits only suite `{}`",
                entry.version,
                entry.suite.name(),
                directory.ledger,
                directory.suite
            )));
        }
        // A set root (format 1) does not name its key: any key version of
        // the publisher's may have signed it.
        let signed = member.keys.iter().any(|k| {
            entry
                .suite
                .suite()
                .verify_signature(
                    &k.sign_public,
                    member.signer_id(),
                    &entry.signature_input(),
                    &entry.signature,
                )
                .is_ok()
        });
        if !signed {
            return Err(SetError::BadSignature {
                set,
                version: entry.version,
                publisher: entry.publisher,
            });
        }
        let versions = self.roots.entry(set.clone()).or_default();
        let last = versions.last();
        let next = last.map_or(1, |l| l.version + 1);
        if entry.version != next {
            return Err(SetError::Version {
                set,
                last: next - 1,
                found: entry.version,
            });
        }
        if let Some(l) = last.filter(|l| entry.valid_from_ms <= l.valid_from_ms) {
            return Err(SetError::NotAfter {
                set,
                version: entry.version,
                valid_from_ms: entry.valid_from_ms,
                previous: l.version,
                previous_from_ms: l.valid_from_ms,
            });
        }
        versions.push(entry);
        Ok(())
    }

    /// Adds the contents of an admitted root (the file's members must hash
    /// to the root the ledger holds).
    pub fn add_contents(&mut self, contents: SetContents) -> Result<(), SetError> {
        let (set, version) = (contents.file.set.clone(), contents.file.version);
        let root = self.get(&set, version).ok_or_else(|| SetError::NoRoot {
            set: set.clone(),
            version,
        })?;
        if root.root != contents.root() {
            return Err(SetError::RootMismatch { set, version });
        }
        self.contents.insert((set, version), Arc::new(contents));
        Ok(())
    }

    pub fn get(&self, set: &str, version: u32) -> Option<&SetRoot> {
        self.roots.get(set)?.iter().find(|r| r.version == version)
    }

    /// The version of `set` in force at `time_ms`.
    pub fn in_force(&self, set: &str, time_ms: u64) -> Option<&SetRoot> {
        self.roots
            .get(set)?
            .iter()
            .rev()
            .find(|r| r.valid_from_ms <= time_ms)
    }

    pub fn contents(&self, set: &str, version: u32) -> Option<&SetContents> {
        self.contents
            .get(&(set.to_owned(), version))
            .map(Arc::as_ref)
    }

    /// Every admitted root, by set then version.
    pub fn roots(&self) -> impl Iterator<Item = &SetRoot> {
        self.roots.values().flatten()
    }
}

/// Refuses to publish a root that would take force in the future of `now_ms`
/// (beyond clock skew): a root takes force when it is published.
pub fn check_publish(entry: &SetRoot, now_ms: u64) -> Result<(), SetError> {
    if entry.valid_from_ms > now_ms.saturating_add(MAX_CLOCK_SKEW_MS) {
        return Err(SetError::Future {
            set: entry.set.clone(),
            version: entry.version,
            valid_from_ms: entry.valid_from_ms,
            now_ms,
        });
    }
    Ok(())
}

/// Version 1 of every set `directory` names that has a development list
/// ([`veilgate_policies::SET_LISTS`]), signed by `publisher` and taking force
/// at `valid_from_ms`: the entries (to put on a ledger) and a book holding
/// them with their contents. For development ledgers, tests and the bench.
pub fn development_sets(
    directory: &LedgerDirectory,
    publisher: &dyn EnvelopeSigner,
    valid_from_ms: u64,
) -> Result<(SetBook, Vec<(SetRoot, SetContents)>), SetError> {
    let mut book = SetBook::default();
    let mut published = Vec::new();
    for (set, list) in veilgate_policies::SET_LISTS {
        if !directory.sets.contains_key(*set) {
            continue;
        }
        let contents = SetContents::build(&directory.ledger, set, 1, &members_from_text(list))?;
        let entry = SetRoot::sign(&contents, valid_from_ms, publisher)
            .map_err(|e| SetError::Entry(format!("signing the root of `{set}`: {e}")))?;
        book.admit(entry.clone(), directory)?;
        book.add_contents(contents.clone())?;
        published.push((entry, contents));
    }
    Ok((book, published))
}

/// The set root a ledger entry is, if it is one: its bytes decode as a root
/// entry and its id is that root's id (so a member's entry shaped like a
/// root under another id is judged as an envelope, and fails).
pub fn in_entry(id: &[u8; 16], bytes: &[u8]) -> Option<SetRoot> {
    if !bytes.starts_with(SET_ROOT_MAGIC) {
        return None;
    }
    SetRoot::decode(bytes).ok().filter(|r| r.id() == *id)
}
