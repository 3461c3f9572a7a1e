//! A ledger's `pseudonyms` directory section: who evaluates its oblivious
//! pseudonyms and under which public keys, epoch by epoch
//! (`docs/pseudonyms.md`). No member holds a key: a single service holds
//! each epoch's whole key, or `threshold` of the listed services each hold a
//! Shamir share of it and none can evaluate alone.

use serde::{Deserialize, Serialize};
use veilgate_pseudonym::threshold::{check_public_shares, PublicShare};

/// The ledger's pseudonymisation services and key epochs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PseudonymDirectory {
    /// How many services must answer: 1 when each service holds the whole
    /// key (one service, or replicas of it); `k ≥ 2` for a k-of-n sharing.
    pub threshold: u32,
    /// The services, each run by a member institution, by share index.
    pub services: Vec<PseudonymService>,
    /// Key epochs, ascending; the one in force at `t` is the last whose
    /// `from_ms ≤ t`. Equal values link within an epoch, not across.
    pub epochs: Vec<PseudonymEpoch>,
}

/// One service: the institution that runs it and its share index.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PseudonymService {
    /// The Shamir x-coordinate of its share (1…n); 1 for a single service.
    pub index: u32,
    /// The member institution operating it (its TLS certificate's name).
    pub operator: String,
}

/// One key epoch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PseudonymEpoch {
    pub epoch: u32,
    /// From when envelopes carry pseudonyms of this epoch (ms since 1970).
    pub from_ms: u64,
    /// `k·G` of the epoch's key, ristretto255, hex.
    #[serde(with = "hex32")]
    pub public_key: [u8; 32],
    /// With `threshold ≥ 2`: each service's `kᵢ·G`, by index.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shares: Vec<PublicShareEntry>,
}

/// A service's public share of one epoch's key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicShareEntry {
    pub index: u32,
    #[serde(with = "hex32")]
    pub public_key: [u8; 32],
}

impl PseudonymDirectory {
    /// The epoch in force at `time_ms`, if any.
    pub fn epoch_at(&self, time_ms: u64) -> Option<&PseudonymEpoch> {
        self.epochs.iter().rev().find(|e| e.from_ms <= time_ms)
    }

    /// The epoch numbered `epoch`.
    pub fn epoch(&self, epoch: u32) -> Option<&PseudonymEpoch> {
        self.epochs.iter().find(|e| e.epoch == epoch)
    }

    /// The key a service answers under in `epoch`: the whole key with
    /// threshold 1, else its public share.
    pub fn service_key(&self, epoch: &PseudonymEpoch, index: u32) -> Option<[u8; 32]> {
        if self.threshold == 1 {
            return Some(epoch.public_key);
        }
        epoch
            .shares
            .iter()
            .find(|s| s.index == index)
            .map(|s| s.public_key)
    }

    /// The public shares of `epoch` as the threshold client takes them.
    pub fn public_shares(epoch: &PseudonymEpoch) -> Vec<PublicShare> {
        epoch
            .shares
            .iter()
            .map(|s| PublicShare {
                index: s.index,
                public_key: s.public_key,
            })
            .collect()
    }

    /// Checks the section of ledger `ledger` whose members are `is_member`:
    /// every rule, naming the entry that breaks it.
    pub fn check(&self, ledger: &str, is_member: impl Fn(&str) -> bool) -> Result<(), String> {
        let bad = |what: String| Err(format!("ledger `{ledger}`, pseudonyms: {what}"));
        let n = self.services.len();
        if self.threshold == 0 || self.threshold as usize > n {
            return bad(format!(
                "threshold {} must be between 1 and the number of services ({n})",
                self.threshold
            ));
        }
        for (pos, s) in self.services.iter().enumerate() {
            if s.index == 0 || self.services.iter().take(pos).any(|o| o.index == s.index) {
                return bad(format!(
                    "service index {} must be at least 1 and unique",
                    s.index
                ));
            }
            if !is_member(&s.operator) {
                return bad(format!(
                    "service {} is operated by `{}`, which is not a member of the ledger",
                    s.index, s.operator
                ));
            }
        }
        if self.epochs.is_empty() {
            return bad("lists no epoch".into());
        }
        for (pos, e) in self.epochs.iter().enumerate() {
            if let Some(prev) = pos.checked_sub(1).and_then(|p| self.epochs.get(p)) {
                if e.epoch <= prev.epoch || e.from_ms <= prev.from_ms {
                    return bad(format!(
                        "epoch {} must come after epoch {} in number and in from_ms",
                        e.epoch, prev.epoch
                    ));
                }
            }
            self.check_keys(e)
                .or_else(|why| bad(format!("epoch {}: {why}", e.epoch)))?;
        }
        Ok(())
    }

    /// An epoch's keys are points, and with a threshold its shares are one
    /// per service and lie on one polynomial through the public key.
    fn check_keys(&self, e: &PseudonymEpoch) -> Result<(), String> {
        if !veilgate_pseudonym::valid_public_key(&e.public_key) {
            return Err("public_key is not a ristretto255 point".into());
        }
        if self.threshold == 1 {
            if !e.shares.is_empty() {
                return Err("lists shares, but the threshold is 1".into());
            }
            return Ok(());
        }
        let mut indices: Vec<u32> = e.shares.iter().map(|s| s.index).collect();
        let mut services: Vec<u32> = self.services.iter().map(|s| s.index).collect();
        indices.sort_unstable();
        services.sort_unstable();
        if indices != services {
            return Err("needs exactly one share per service index".into());
        }
        check_public_shares(
            self.threshold as usize,
            &Self::public_shares(e),
            &e.public_key,
        )
        .map_err(|e| e.to_string())
    }
}

/// A new epoch's key from a trusted dealer: the key (it exists only in
/// the caller's memory), each service's secret by index — the whole key's
/// scalar with `threshold` 1, else `services` Shamir shares of which
/// `threshold` evaluate together — and the epoch's directory entry.
pub struct NewEpoch {
    pub key: veilgate_pseudonym::Evaluator,
    pub secrets: Vec<(u32, zeroize::Zeroizing<[u8; 32]>)>,
    pub entry: PseudonymEpoch,
}

impl NewEpoch {
    pub fn generate<R: rand_core::RngCore + rand_core::CryptoRng>(
        epoch: u32,
        from_ms: u64,
        threshold: usize,
        services: usize,
        rng: &mut R,
    ) -> Result<NewEpoch, veilgate_pseudonym::PseudonymError> {
        let key = veilgate_pseudonym::Evaluator::generate(rng)?;
        let (secrets, shares) = if threshold <= 1 {
            (vec![(1u32, key.secret_bytes())], Vec::new())
        } else {
            let dealing = veilgate_pseudonym::threshold::deal(threshold, services, &key, rng)?;
            let shares = dealing
                .shares
                .iter()
                .map(|s| PublicShareEntry {
                    index: s.index(),
                    public_key: s.public().public_key,
                })
                .collect();
            let secrets = dealing
                .shares
                .iter()
                .map(|s| (s.index(), s.secret_bytes()))
                .collect();
            (secrets, shares)
        };
        let entry = PseudonymEpoch {
            epoch,
            from_ms,
            public_key: key.public_key(),
            shares,
        };
        Ok(NewEpoch {
            key,
            secrets,
            entry,
        })
    }
}

/// 32 bytes as 64 lowercase hex digits.
mod hex32 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        let bytes = hex::decode(&text).map_err(serde::de::Error::custom)?;
        bytes
            .try_into()
            .map_err(|_| serde::de::Error::custom("expected 32 bytes (64 hex digits)"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use veilgate_pseudonym::threshold::deal;
    use veilgate_pseudonym::Evaluator;

    fn single(public_key: [u8; 32]) -> PseudonymDirectory {
        PseudonymDirectory {
            threshold: 1,
            services: vec![PseudonymService {
                index: 1,
                operator: "regulator".into(),
            }],
            epochs: vec![PseudonymEpoch {
                epoch: 1,
                from_ms: 0,
                public_key,
                shares: Vec::new(),
            }],
        }
    }

    fn key() -> Evaluator {
        Evaluator::from_seed(&[7; 32], "l", 1).expect("key")
    }

    #[test]
    fn a_single_service_section_checks_and_finds_its_epoch() {
        let mut d = single(key().public_key());
        d.epochs.push(PseudonymEpoch {
            epoch: 2,
            from_ms: 1000,
            public_key: key().public_key(),
            shares: Vec::new(),
        });
        assert_eq!(d.check("l", |m| m == "regulator"), Ok(()));
        assert_eq!(d.epoch_at(999).map(|e| e.epoch), Some(1));
        assert_eq!(d.epoch_at(1000).map(|e| e.epoch), Some(2));
        assert_eq!(d.service_key(&d.epochs[0], 1), Some(key().public_key()));
    }

    #[test]
    fn each_rule_names_what_breaks_it() {
        let good = single(key().public_key());
        let err = |d: &PseudonymDirectory| d.check("l", |m| m == "regulator").unwrap_err();
        assert!(err(&PseudonymDirectory {
            threshold: 2,
            ..good.clone()
        })
        .contains("threshold 2"));
        let mut outsider = good.clone();
        outsider.services[0].operator = "nobody".into();
        assert!(err(&outsider).contains("`nobody`, which is not a member"));
        let mut not_point = good.clone();
        not_point.epochs[0].public_key = [0xff; 32];
        assert!(err(&not_point).contains("epoch 1: public_key is not a ristretto255 point"));
        let mut backwards = good.clone();
        backwards.epochs.push(PseudonymEpoch {
            epoch: 1,
            ..good.epochs[0].clone()
        });
        assert!(err(&backwards).contains("must come after epoch 1"));
    }

    #[test]
    fn threshold_shares_must_lie_on_one_polynomial() {
        let dealing = deal(2, 3, &key(), &mut rand_core::OsRng).expect("deal");
        let shares: Vec<PublicShareEntry> = dealing
            .shares
            .iter()
            .map(|s| PublicShareEntry {
                index: s.index(),
                public_key: s.public().public_key,
            })
            .collect();
        let mut d = single(dealing.public_key);
        d.threshold = 2;
        d.services = (1..=3)
            .map(|index| PseudonymService {
                index,
                operator: "regulator".into(),
            })
            .collect();
        d.epochs[0].shares = shares;
        assert_eq!(d.check("l", |_| true), Ok(()));
        assert_eq!(
            d.service_key(&d.epochs[0], 2),
            Some(dealing.shares[1].public().public_key)
        );
        d.epochs[0].shares[2].public_key = key().public_key();
        assert!(d
            .check("l", |_| true)
            .unwrap_err()
            .contains("epoch 1: public share `3` is not consistent"));
    }
}
