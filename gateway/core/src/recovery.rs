//! Recovery of a lost unwrapping key (docs/recovery.md): the KEM secret is
//! split k-of-n (Shamir over GF(2^8), `vsss-rs`) among recovery custodians
//! the directory names, each share wrapped to its custodian's key; a
//! custodian re-wraps its share to the member's new key; the member
//! combines k shares and checks the result against the lost key's public
//! key. Fewer than k shares say nothing about the secret.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::keys::{kem_public_of, KemAlg, KemDecap, KeyId, MemberKey};
use crate::suite::{RngCoreCrypto, SuiteId};

pub const ESCROW_FORMAT: u32 = 1;
const SHARE_DOMAIN: &[u8] = b"veilgate/escrow-share/v1";
const RELEASE_DOMAIN: &[u8] = b"veilgate/escrow-release/v1";
const HASH_DOMAIN: &[u8] = b"veilgate/escrow-share-hash/v1";

/// Who holds the shares, as the directory names them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecoveryPolicy {
    /// Shares needed to recover (2 ≤ k ≤ n).
    pub threshold: u8,
    pub custodians: Vec<Custodian>,
}

/// A recovery custodian: an institution holding an escrow key offline
/// (`standard` KEM: `x25519` or `p256`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Custodian {
    pub id: String,
    pub kem: String,
    pub kem_public: String,
}

impl RecoveryPolicy {
    /// The policy's rules: 2 ≤ k ≤ n ≤ 16, distinct ids, each key a public
    /// key of its KEM.
    pub fn check(&self) -> Result<(), String> {
        let n = self.custodians.len();
        if n > 16 || self.threshold < 2 || usize::from(self.threshold) > n {
            return Err(format!(
                "`recovery`: threshold {} of {n} custodians; it must be 2 to the number of custodians (at most 16)",
                self.threshold
            ));
        }
        for (i, c) in self.custodians.iter().enumerate() {
            if self.custodians.iter().skip(i + 1).any(|o| o.id == c.id) {
                return Err(format!("`recovery`: custodian `{}` is listed twice", c.id));
            }
            c.key().ok_or_else(|| {
                format!(
                    "`recovery`: custodian `{}`: `kem` must be x25519 or p256 and `kem_public` a public key of it",
                    c.id
                )
            })?;
        }
        Ok(())
    }
}

impl Custodian {
    fn key(&self) -> Option<(KemAlg, Vec<u8>)> {
        let kem = KemAlg::from_name(&self.kem).filter(|k| k.allowed_in(SuiteId::Standard))?;
        let public = hex::decode(&self.kem_public)
            .ok()
            .filter(|p| kem.is_public_key(p))?;
        Some((kem, public))
    }
}

/// One custodian's share in an escrow bundle: encrypted to it, and the
/// hash every share is checked against when it comes back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscrowShare {
    pub index: u8,
    pub custodian: String,
    pub enc: String,
    pub ct: String,
    pub hash: String,
}

/// The escrow of one key version's unwrapping key (ciphertexts only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscrowBundle {
    pub format: u32,
    pub member: String,
    pub key_id: String,
    pub kem: String,
    pub kem_public: String,
    pub threshold: u8,
    pub shares: Vec<EscrowShare>,
}

/// A share a custodian released, re-wrapped to the member's new key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Release {
    pub format: u32,
    pub member: String,
    pub key_id: String,
    pub to_key_id: String,
    pub index: u8,
    pub custodian: String,
    pub enc: String,
    pub ct: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecoveryError {
    #[error("{0}")]
    Policy(String),
    #[error("recovering key {key} of `{member}` needs {needed} shares; {given} given")]
    NotEnoughShares {
        member: String,
        key: String,
        needed: u8,
        given: usize,
    },
    #[error("share {index} is given twice")]
    DuplicateShare { index: u8 },
    #[error("share {index} (custodian `{custodian}`): {why}")]
    ShareMismatch {
        index: u8,
        custodian: String,
        why: String,
    },
    #[error("the shares combine to a key that is not key {key}'s public key; nothing was written")]
    RecoveryMismatch { key: String },
    #[error("{0}")]
    Malformed(String),
}

impl RecoveryError {
    pub fn code(&self) -> &'static str {
        match self {
            RecoveryError::Policy(_) => "recovery_policy",
            RecoveryError::NotEnoughShares { .. } => "not_enough_shares",
            RecoveryError::DuplicateShare { .. } => "duplicate_share",
            RecoveryError::ShareMismatch { .. } => "share_mismatch",
            RecoveryError::RecoveryMismatch { .. } => "recovery_mismatch",
            RecoveryError::Malformed(_) => "malformed",
        }
    }
}

fn lp(m: &mut Vec<u8>, s: &[u8]) {
    m.extend_from_slice(&(s.len().min(usize::from(u16::MAX)) as u16).to_be_bytes());
    m.extend_from_slice(s);
}

fn share_info(member: &str, key: &KeyId, index: u8) -> Vec<u8> {
    let mut m = SHARE_DOMAIN.to_vec();
    lp(&mut m, member.as_bytes());
    m.extend_from_slice(&key.0);
    m.push(index);
    m
}

fn release_info(member: &str, key: &KeyId, to: &KeyId, index: u8) -> Vec<u8> {
    let mut m = RELEASE_DOMAIN.to_vec();
    lp(&mut m, member.as_bytes());
    m.extend_from_slice(&key.0);
    m.extend_from_slice(&to.0);
    m.push(index);
    m
}

/// `SHA-256(HASH_DOMAIN ‖ key id ‖ share)`: the commitment a returned share
/// is checked against (the share has 256 bits of entropy: it reveals nothing).
fn share_hash(key: &KeyId, share: &[u8]) -> String {
    let mut m = HASH_DOMAIN.to_vec();
    m.extend_from_slice(&key.0);
    m.extend_from_slice(share);
    hex::encode(SuiteId::Standard.suite().hash(&m))
}

/// Splits the unwrapping secret of `key` (of `member`) k-of-n and wraps
/// share `i` to custodian `i` of `policy`.
pub fn escrow(
    member: &str,
    key: &MemberKey,
    kem_secret: &[u8],
    policy: &RecoveryPolicy,
    rng: &mut dyn RngCoreCrypto,
) -> Result<EscrowBundle, RecoveryError> {
    policy.check().map_err(RecoveryError::Policy)?;
    if kem_public_of(key.kem, kem_secret).as_deref() != Some(key.kem_public.as_slice()) {
        return Err(RecoveryError::Policy(format!(
            "the secret given is not key {}'s unwrapping key",
            key.id
        )));
    }
    let shares = Zeroizing::new(
        vsss_rs::Gf256::split_array(
            usize::from(policy.threshold),
            policy.custodians.len(),
            kem_secret,
            crate::suite::DynRng(rng),
        )
        .map_err(|e| RecoveryError::Policy(format!("splitting: {e:?}")))?,
    );
    let suite = SuiteId::Standard.suite();
    let mut out = Vec::with_capacity(shares.len());
    for (c, share) in policy.custodians.iter().zip(shares.iter()) {
        let share = Zeroizing::new(share.clone());
        let index = share.first().copied().unwrap_or(0);
        let (kem, public) = c
            .key()
            .ok_or_else(|| RecoveryError::Policy(format!("custodian `{}`: no key", c.id)))?;
        let padded = pad(&share)?;
        let (enc, ct) = suite
            .wrap_key(
                kem,
                &public,
                &share_info(member, &key.id, index),
                c.id.as_bytes(),
                &padded,
                rng,
            )
            .map_err(|_| RecoveryError::Policy(format!("custodian `{}`: wrapping failed", c.id)))?;
        out.push(EscrowShare {
            index,
            custodian: c.id.clone(),
            enc: hex::encode(enc),
            ct: hex::encode(ct),
            hash: share_hash(&key.id, &share),
        });
    }
    Ok(EscrowBundle {
        format: ESCROW_FORMAT,
        member: member.to_owned(),
        key_id: key.id.hex(),
        kem: key.kem.name().to_owned(),
        kem_public: hex::encode(&key.kem_public),
        threshold: policy.threshold,
        shares: out,
    })
}

/// [`escrow`] of a key file's unwrapping key.
pub fn escrow_secrets(
    secrets: &crate::InstitutionSecrets,
    policy: &RecoveryPolicy,
    rng: &mut dyn RngCoreCrypto,
) -> Result<EscrowBundle, RecoveryError> {
    escrow(
        &secrets.id,
        secrets.key(),
        secrets.kem_secret(),
        policy,
        rng,
    )
}

/// A share is 33 bytes (index ‖ 32); the wrap carries 32-byte payloads, so
/// a share travels as two: the index byte is bound in the `info` instead.
fn pad(share: &[u8]) -> Result<Zeroizing<[u8; 32]>, RecoveryError> {
    let body = share
        .get(1..)
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| RecoveryError::Malformed("a share is not 33 bytes".into()))?;
    Ok(Zeroizing::new(body))
}

fn unhex(what: &str, s: &str) -> Result<Vec<u8>, RecoveryError> {
    hex::decode(s).map_err(|_| RecoveryError::Malformed(format!("`{what}` is not hex")))
}

/// A custodian opens its share of `bundle` with its own key, checks it
/// against the bundle's commitment, and re-wraps it to `to`, the member's
/// current key version (from the directory): only that key opens it.
pub fn release(
    bundle: &EscrowBundle,
    custodian: &dyn KemDecap,
    custodian_key: &MemberKey,
    to: &MemberKey,
    rng: &mut dyn RngCoreCrypto,
) -> Result<Release, RecoveryError> {
    let who = custodian.institution();
    let share = bundle
        .shares
        .iter()
        .find(|s| s.custodian == who)
        .ok_or_else(|| RecoveryError::Malformed(format!("the bundle holds no share of `{who}`")))?;
    let key = KeyId::from_hex(&bundle.key_id)
        .ok_or_else(|| RecoveryError::Malformed("`key_id` is not a key id".into()))?;
    let mismatch = |why: &str| RecoveryError::ShareMismatch {
        index: share.index,
        custodian: who.to_owned(),
        why: why.to_owned(),
    };
    let enc = unhex("enc", &share.enc)?;
    let z = custodian
        .dh(&custodian_key.id, &enc)
        .map_err(|_| mismatch("it does not decrypt with this custodian's key"))?;
    let body = SuiteId::Standard
        .suite()
        .unwrap_key(
            custodian_key.kem,
            &z,
            &enc,
            &custodian_key.kem_public,
            &share_info(&bundle.member, &key, share.index),
            who.as_bytes(),
            &unhex("ct", &share.ct)?,
        )
        .map_err(|_| mismatch("it does not decrypt with this custodian's key"))?;
    let mut full = Zeroizing::new(vec![share.index]);
    full.extend_from_slice(body.as_ref());
    if share_hash(&key, &full) != share.hash {
        return Err(mismatch("it does not match the escrow's commitment"));
    }
    let (enc, ct) = to
        .suite
        .suite()
        .wrap_key(
            to.kem,
            &to.kem_public,
            &release_info(&bundle.member, &key, &to.id, share.index),
            bundle.member.as_bytes(),
            &body,
            rng,
        )
        .map_err(|_| RecoveryError::Malformed("re-wrapping the share failed".into()))?;
    Ok(Release {
        format: ESCROW_FORMAT,
        member: bundle.member.clone(),
        key_id: bundle.key_id.clone(),
        to_key_id: to.id.hex(),
        index: share.index,
        custodian: who.to_owned(),
        enc: hex::encode(enc),
        ct: hex::encode(ct),
    })
}

/// The member combines released shares with its new key (`me`): at least
/// the bundle's threshold, distinct, each matching the commitment; the
/// result must be the lost key's unwrapping key. Returns the secret.
pub fn recover(
    bundle: &EscrowBundle,
    releases: &[Release],
    me: &dyn KemDecap,
) -> Result<Zeroizing<Vec<u8>>, RecoveryError> {
    let key = KeyId::from_hex(&bundle.key_id)
        .ok_or_else(|| RecoveryError::Malformed("`key_id` is not a key id".into()))?;
    if releases.len() < usize::from(bundle.threshold) {
        return Err(RecoveryError::NotEnoughShares {
            member: bundle.member.clone(),
            key: bundle.key_id.clone(),
            needed: bundle.threshold,
            given: releases.len(),
        });
    }
    let held = me.keys();
    let mut shares: Vec<Vec<u8>> = Vec::with_capacity(releases.len());
    let mut seen = Vec::new();
    for r in releases {
        if seen.contains(&r.index) {
            return Err(RecoveryError::DuplicateShare { index: r.index });
        }
        seen.push(r.index);
        let mismatch = |why: &str| RecoveryError::ShareMismatch {
            index: r.index,
            custodian: r.custodian.clone(),
            why: why.to_owned(),
        };
        let committed = bundle
            .shares
            .iter()
            .find(|s| s.index == r.index && s.custodian == r.custodian)
            .ok_or_else(|| mismatch("the escrow has no such share"))?;
        if r.member != bundle.member || r.key_id != bundle.key_id {
            return Err(mismatch("it releases another key's share"));
        }
        let to = held
            .iter()
            .find(|k| k.id.hex() == r.to_key_id)
            .ok_or_else(|| mismatch("it is wrapped to a key this member does not hold"))?;
        let enc = unhex("enc", &r.enc)?;
        let z = me
            .dh(&to.id, &enc)
            .map_err(|_| mismatch("it does not decrypt with the member's key"))?;
        let body = to
            .suite
            .suite()
            .unwrap_key(
                to.kem,
                &z,
                &enc,
                &to.kem_public,
                &release_info(&bundle.member, &key, &to.id, r.index),
                bundle.member.as_bytes(),
                &unhex("ct", &r.ct)?,
            )
            .map_err(|_| mismatch("it does not decrypt with the member's key"))?;
        let mut full = vec![r.index];
        full.extend_from_slice(body.as_ref());
        if share_hash(&key, &full) != committed.hash {
            return Err(mismatch("it does not match the escrow's commitment"));
        }
        shares.push(full);
    }
    let secret = Zeroizing::new(
        vsss_rs::Gf256::combine_array(&shares)
            .map_err(|e| RecoveryError::Malformed(format!("combining: {e:?}")))?,
    );
    for s in &mut shares {
        zeroize::Zeroize::zeroize(s);
    }
    let kem = KemAlg::from_name(&bundle.kem)
        .ok_or_else(|| RecoveryError::Malformed("`kem` is not a KEM".into()))?;
    if kem_public_of(kem, &secret).map(hex::encode).as_deref() != Some(bundle.kem_public.as_str()) {
        return Err(RecoveryError::RecoveryMismatch {
            key: bundle.key_id.clone(),
        });
    }
    Ok(secret)
}
