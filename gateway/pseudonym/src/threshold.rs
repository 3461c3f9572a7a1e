//! A k-of-n OPRF key: Shamir shares of the key scalar over ℤ_ℓ (ℓ the
//! ristretto255 group order), each held by one service that evaluates and
//! proves with its share exactly like a single service ([`Evaluator`]).
//!
//! With `f(x) = key + a₁x + … + a_{k−1}x^{k−1}`, share `i` is `kᵢ = f(i)` and
//! publishes `pkᵢ = kᵢ·G`. For a blinded point `B = r·H(x)` service `i`
//! answers `Eᵢ = kᵢ·B`; for any set `S` of `k` indices,
//! `Σ_{i∈S} λᵢ·Eᵢ = f(0)·B = key·B` with `λᵢ = Π_{j∈S, j≠i} j/(j−i)`. So the
//! client recovers the single-service evaluation, unblinds and finalizes,
//! and the tag equals the single-service VOPRF tag for `key`: the ledger
//! does not depend on the deployment. Fewer than `k` shares are consistent
//! with every key (the tests construct the polynomial).
//!
//! This is 2HashDH with a Shamir-shared key (the TOPPSS construction). The
//! client never combines an answer whose proof against its `pkᵢ` fails.

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::VartimeMultiscalarMul;
use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroizing;

use crate::oprf::{decode_point, finalize_hash, nonzero_scalar, tag_of, verified_outputs};
use crate::{Blinded, Evaluator, PseudonymError as Error};

/// Most shares a dealing has (indices fit a byte in share files).
pub const MAX_SHARES: usize = 255;

/// One service's share: its index (the x-coordinate, ≥ 1) and `kᵢ`, zeroized on drop.
pub struct Share {
    index: u32,
    secret: Zeroizing<Scalar>,
}

impl std::fmt::Debug for Share {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Share({})", self.index)
    }
}

impl Share {
    /// A share read back from its file: index and canonical scalar bytes.
    pub fn from_bytes(index: u32, secret: &[u8; 32]) -> Result<Self, Error> {
        if index == 0 {
            return Err(Error::BadShareIndex { index });
        }
        let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(*secret))
            .ok_or(Error::InvalidKey)?;
        Ok(Self {
            index,
            secret: Zeroizing::new(s),
        })
    }

    /// The share's x-coordinate.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// `kᵢ`'s bytes, for writing the share file; the caller keeps them secret.
    pub fn secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.secret.to_bytes())
    }

    /// The service's evaluator: its proofs verify against [`Self::public`]'s key.
    pub fn evaluator(&self) -> Result<Evaluator, Error> {
        Evaluator::from_key(&self.secret)
    }

    /// `(i, kᵢ·G)`: what the directory lists so clients check each share's proof.
    pub fn public(&self) -> PublicShare {
        PublicShare {
            index: self.index,
            public_key: (RISTRETTO_BASEPOINT_POINT * *self.secret)
                .compress()
                .to_bytes(),
        }
    }
}

/// A share's index and public key `pkᵢ = kᵢ·G`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicShare {
    /// The x-coordinate.
    pub index: u32,
    /// `kᵢ·G`, compressed.
    pub public_key: [u8; 32],
}

/// The outcome of a dealer ceremony: the shares to hand out and the public key.
#[derive(Debug)]
pub struct Dealing {
    /// `key·G`, the same as the dealt evaluator's public key.
    pub public_key: [u8; 32],
    /// Shares `1..=n`.
    pub shares: Vec<Share>,
}

/// Splits `key`'s scalar into `n` shares, any `k` of which evaluate as `key`.
/// The dealer must then erase `key`: while it exists the threshold is moot.
pub fn deal<R: RngCore + CryptoRng>(
    k: usize,
    n: usize,
    key: &Evaluator,
    rng: &mut R,
) -> Result<Dealing, Error> {
    if k < 2 || k > n || n > MAX_SHARES {
        return Err(Error::InvalidThreshold { k, n });
    }
    // f(x) = key + a₁x + … + a_{k−1}x^{k−1}; the coefficients are as secret as the key.
    let mut coefficients = vec![Zeroizing::new(*key.key())];
    coefficients.extend((1..k).map(|_| Zeroizing::new(nonzero_scalar(rng))));
    let shares = (1..=n)
        .map(|i| {
            let index = u32::try_from(i).map_err(|_| Error::InvalidThreshold { k, n })?;
            Ok(Share {
                index,
                secret: Zeroizing::new(horner(&coefficients, Scalar::from(index))),
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(Dealing {
        public_key: key.public_key(),
        shares,
    })
}

fn horner(coefficients: &[Zeroizing<Scalar>], x: Scalar) -> Scalar {
    coefficients
        .iter()
        .rev()
        .fold(Scalar::ZERO, |acc, c| acc * x + **c)
}

/// Lagrange coefficients at `x` for the points with x-coordinates `xs`:
/// `λᵢ = Π_{j≠i} (x − xⱼ)/(xᵢ − xⱼ)` (at 0 this is `Π xⱼ/(xⱼ − xᵢ)`).
/// The indices are public, so nothing here needs to be constant time.
pub(crate) fn lagrange_at(x: Scalar, xs: &[u32]) -> Result<Vec<Scalar>, Error> {
    check_distinct(xs)?;
    Ok(xs
        .iter()
        .map(|&i| {
            let xi = Scalar::from(i);
            let (num, den) = xs.iter().filter(|&&j| j != i).fold(
                (Scalar::ONE, Scalar::ONE),
                |(num, den), &j| {
                    let xj = Scalar::from(j);
                    (num * (x - xj), den * (xi - xj))
                },
            );
            num * den.invert()
        })
        .collect())
}

fn check_distinct(xs: &[u32]) -> Result<(), Error> {
    for (pos, &i) in xs.iter().enumerate() {
        if i == 0 || xs.iter().take(pos).any(|&j| j == i) {
            return Err(Error::BadShareIndex { index: i });
        }
    }
    Ok(())
}

/// Checks that the published shares lie on one polynomial of degree `k − 1`
/// whose value at 0 is `public_key`: interpolates from the first `k` shares
/// at 0 (`Σ λᵢ·pkᵢ = pk`) and at every other share's index.
pub fn check_public_shares(
    k: usize,
    shares: &[PublicShare],
    public_key: &[u8; 32],
) -> Result<(), Error> {
    if k < 2 || shares.len() < k {
        return Err(Error::InvalidThreshold { k, n: shares.len() });
    }
    let (basis, rest) = shares.split_at(k);
    let xs: Vec<u32> = basis.iter().map(|s| s.index).collect();
    let points = basis
        .iter()
        .map(|s| {
            decode_point(&s.public_key).ok_or(Error::PublicSharesInconsistent { index: s.index })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let targets =
        std::iter::once((0u32, *public_key)).chain(rest.iter().map(|s| (s.index, s.public_key)));
    for (index, expected) in targets {
        let at = RistrettoPoint::vartime_multiscalar_mul(
            lagrange_at(Scalar::from(index), &xs)?,
            &points,
        );
        if at.compress().to_bytes() != expected {
            return Err(Error::PublicSharesInconsistent { index });
        }
    }
    Ok(())
}

/// One service's answer to the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The answering share's index.
    pub index: u32,
    /// `kᵢ·Bⱼ` for each blinded element `Bⱼ`.
    pub evaluated: Vec<[u8; 32]>,
    /// The batched DLEQ proof against `pkᵢ`.
    pub proof: [u8; 64],
}

/// The tags, and the answers left out because they did not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Combined {
    /// One tag per blinded input, equal to the single-service tag.
    pub tags: Vec<[u8; 32]>,
    /// Excluded answers and why (for the metric and the audit log).
    pub rejected: Vec<(u32, Error)>,
}

/// Verifies every answer against its public share, then combines the first
/// `k` valid ones at 0, unblinds and finalizes.
pub fn combine(
    state: &Blinded,
    k: usize,
    shares: &[PublicShare],
    answers: &[Answer],
) -> Result<Combined, Error> {
    if k < 2 || k > shares.len() {
        return Err(Error::InvalidThreshold { k, n: shares.len() });
    }
    let mut valid: Vec<(u32, Vec<RistrettoPoint>)> = Vec::new();
    let mut rejected = Vec::new();
    for answer in answers {
        match check_answer(state, shares, answer, &valid) {
            Ok(points) => valid.push((answer.index, points)),
            Err(e) => rejected.push((answer.index, e)),
        }
    }
    if valid.len() < k {
        let rejected = rejected.iter().map(|(i, _)| *i).collect();
        return Err(Error::TooFewValidShares {
            valid: valid.len(),
            needed: k,
            rejected,
        });
    }
    valid.truncate(k);
    Ok(Combined {
        tags: interpolate_and_finalize(state, &valid)?,
        rejected,
    })
}

/// An answer counts only if its index is listed, not yet used, and its proof
/// verifies against that share's `pkᵢ`; returns its decoded points.
fn check_answer(
    state: &Blinded,
    shares: &[PublicShare],
    answer: &Answer,
    valid: &[(u32, Vec<RistrettoPoint>)],
) -> Result<Vec<RistrettoPoint>, Error> {
    let share =
        shares
            .iter()
            .find(|s| s.index == answer.index)
            .ok_or(Error::UnknownShareIndex {
                index: answer.index,
            })?;
    if answer.index == 0 || valid.iter().any(|(i, _)| *i == answer.index) {
        return Err(Error::BadShareIndex {
            index: answer.index,
        });
    }
    let pk = decode_point(&share.public_key).ok_or(Error::InvalidPublicKey)?;
    // The outputs under kᵢ are meaningless; only the proof's verdict matters.
    verified_outputs(state, &answer.evaluated, &answer.proof, pk)?;
    answer
        .evaluated
        .iter()
        .enumerate()
        .map(|(index, e)| decode_point(e).ok_or(Error::InvalidEvaluatedElement { index }))
        .collect()
}

/// `E = Σ λᵢ·Eᵢ` per element, `N = r⁻¹·E`, tag = Finalize(input, N)[..32].
fn interpolate_and_finalize(
    state: &Blinded,
    valid: &[(u32, Vec<RistrettoPoint>)],
) -> Result<Vec<[u8; 32]>, Error> {
    let xs: Vec<u32> = valid.iter().map(|(i, _)| *i).collect();
    let lambdas = lagrange_at(Scalar::ZERO, &xs)?;
    let mut tags = Vec::with_capacity(state.len());
    for (element, (input, blind)) in state.inputs().zip(state.blinds()).enumerate() {
        let points = valid
            .iter()
            .map(|(_, p)| {
                p.get(element)
                    .copied()
                    .ok_or(Error::EvaluationCountMismatch {
                        expected: state.len(),
                        got: p.len(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        // The λᵢ and Eᵢ are public (sent in the clear), so vartime is fine.
        let combined = RistrettoPoint::vartime_multiscalar_mul(&lambdas, &points);
        let inverse = Zeroizing::new(blind.invert());
        let unblinded = combined * *inverse;
        tags.push(tag_of(&finalize_hash(input, &unblinded)?));
    }
    Ok(tags)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn lagrange_interpolates_a_polynomial() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let coefficients: Vec<_> = (0..3)
            .map(|_| Zeroizing::new(Scalar::random(&mut rng)))
            .collect();
        let xs = [2u32, 5, 9];
        let ys: Vec<Scalar> = xs
            .iter()
            .map(|&x| horner(&coefficients, Scalar::from(x)))
            .collect();
        for at in [0u32, 1, 7, 300] {
            let lambdas = lagrange_at(Scalar::from(at), &xs).unwrap();
            let sum: Scalar = lambdas.iter().zip(&ys).map(|(l, y)| l * y).sum();
            assert_eq!(sum, horner(&coefficients, Scalar::from(at)), "at {at}");
        }
        assert_eq!(
            lagrange_at(Scalar::ZERO, &[1, 2, 1]),
            Err(Error::BadShareIndex { index: 1 })
        );
        assert_eq!(
            lagrange_at(Scalar::ZERO, &[0, 2]),
            Err(Error::BadShareIndex { index: 0 })
        );
    }

    #[test]
    fn dealings_outside_the_bounds_are_refused() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let key = Evaluator::from_seed(&[1; 32], "L", 1).unwrap();
        for (k, n) in [(1, 3), (4, 3), (0, 0), (2, 256)] {
            assert_eq!(
                deal(k, n, &key, &mut rng).unwrap_err(),
                Error::InvalidThreshold { k, n }
            );
        }
    }

    #[test]
    fn public_shares_are_checked_against_the_key() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let key = Evaluator::from_seed(&[1; 32], "L", 1).unwrap();
        let dealing = deal(2, 4, &key, &mut rng).unwrap();
        let mut public: Vec<PublicShare> = dealing.shares.iter().map(Share::public).collect();
        assert_eq!(check_public_shares(2, &public, &key.public_key()), Ok(()));
        let other = Evaluator::from_seed(&[2; 32], "L", 1).unwrap();
        assert_eq!(
            check_public_shares(2, &public, &other.public_key()),
            Err(Error::PublicSharesInconsistent { index: 0 })
        );
        // A share off the polynomial (here: another key's point) is named.
        public[3].public_key = other.public_key();
        assert_eq!(
            check_public_shares(2, &public, &key.public_key()),
            Err(Error::PublicSharesInconsistent { index: 4 })
        );
    }

    #[test]
    fn shares_round_trip_through_their_bytes() {
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        let key = Evaluator::from_seed(&[1; 32], "L", 1).unwrap();
        let dealing = deal(3, 5, &key, &mut rng).unwrap();
        for share in &dealing.shares {
            let back = Share::from_bytes(share.index(), &share.secret_bytes()).unwrap();
            assert_eq!(back.public(), share.public());
        }
        assert_eq!(
            Share::from_bytes(0, &[1; 32]).unwrap_err(),
            Error::BadShareIndex { index: 0 }
        );
        assert_eq!(format!("{:?}", dealing.shares[0]), "Share(1)");
    }
}
