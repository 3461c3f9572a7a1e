//! The VOPRF of RFC 9497 in mode 0x01, ciphersuite ristretto255-SHA512, as
//! Veilgate uses it: the pseudonym input encoding, the member's side
//! (blind, verify, unblind, finalize) and the service's side (key, batched
//! evaluation with one DLEQ proof).
//!
//! Hash-to-group, blinding, proofs and their verification are the `voprf`
//! crate's; this module fixes encodings, limits and errors. It must never
//! evaluate without a proof, accept an unproven evaluation, or let a blind,
//! key or input outlive its owner unzeroized.

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity;
use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha512};
use voprf::{BlindedElement, EvaluationElement, Mode, Proof, VoprfClient, VoprfServer};
use zeroize::Zeroizing;

use crate::PseudonymError as Error;

/// The ciphersuite: ristretto255 with SHA-512 (RFC 9497 §4.1).
pub(crate) type Suite = voprf::Ristretto255;

/// Domain of a pseudonym input (v1 was the member-key HMAC).
pub const PSEUDONYM_INPUT_DOMAIN: &[u8] = b"veilgate/pseudonym/v2";
/// Domain of the DeriveKeyPair `info` of a per-(ledger, epoch) key.
pub const PSEUDONYM_KEY_DOMAIN: &[u8] = b"veilgate/pseudonym-key/v1";
/// Elements per request: bounds a service's work per call.
pub const MAX_BATCH: usize = 256;
/// A compressed ristretto255 point.
pub const ELEMENT_LEN: usize = 32;
/// A DLEQ proof: `c ‖ s`, two scalars.
pub const PROOF_LEN: usize = 64;
/// The pseudonym: the first half of the 64-byte VOPRF output (128-bit collision resistance).
pub const TAG_LEN: usize = 32;

/// `domain ‖ u16 len(ledger) ‖ ledger ‖ u32 epoch ‖ value`, big-endian.
///
/// Ledger and epoch are in the input although the key is already per
/// (ledger, epoch): a key reused by mistake still does not link ledgers.
pub fn pseudonym_input(ledger: &str, epoch: u32, value: &[u8]) -> Result<Vec<u8>, Error> {
    let mut out = labelled(PSEUDONYM_INPUT_DOMAIN, ledger, epoch)?;
    out.extend_from_slice(value);
    if out.len() > usize::from(u16::MAX) {
        return Err(Error::InputTooLong {
            index: 0,
            len: out.len(),
        });
    }
    Ok(out)
}

/// The RFC 9497 DeriveKeyPair `info` for a ledger and epoch:
/// `"veilgate/pseudonym-key/v1" ‖ u16 len(ledger) ‖ ledger ‖ u32 epoch`.
pub fn pseudonym_key_info(ledger: &str, epoch: u32) -> Result<Vec<u8>, Error> {
    labelled(PSEUDONYM_KEY_DOMAIN, ledger, epoch)
}

fn labelled(domain: &[u8], ledger: &str, epoch: u32) -> Result<Vec<u8>, Error> {
    let len =
        u16::try_from(ledger.len()).map_err(|_| Error::LedgerTooLong { len: ledger.len() })?;
    let mut out = Vec::with_capacity(domain.len() + 2 + ledger.len() + 4);
    out.extend_from_slice(domain);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(ledger.as_bytes());
    out.extend_from_slice(&epoch.to_be_bytes());
    Ok(out)
}

/// The member's state between blinding and finalizing: the inputs and their
/// blinds, zeroized on drop (a blind unblinds, an input is a customer value).
pub struct Blinded {
    inputs: Vec<Zeroizing<Vec<u8>>>,
    blinds: Vec<Zeroizing<Scalar>>,
    clients: Vec<VoprfClient<Suite>>,
}

impl std::fmt::Debug for Blinded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Blinded({} elements)", self.inputs.len())
    }
}

impl Blinded {
    /// Elements in the batch.
    pub fn len(&self) -> usize {
        self.inputs.len()
    }

    /// Never true for a state [`blind_batch`] made (it refuses empty batches).
    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }

    pub(crate) fn inputs(&self) -> impl Iterator<Item = &[u8]> {
        self.inputs.iter().map(|i| i.as_slice())
    }

    pub(crate) fn blinds(&self) -> impl Iterator<Item = &Scalar> {
        self.blinds.iter().map(|b| &**b)
    }
}

/// Blinds each input with a fresh non-zero scalar from `rng`; returns the
/// state to keep and the blinded elements to send to the service(s).
pub fn blind_batch<I, R>(inputs: &[I], rng: &mut R) -> Result<(Blinded, Vec<[u8; 32]>), Error>
where
    I: AsRef<[u8]>,
    R: RngCore + CryptoRng,
{
    check_batch_len(inputs.len())?;
    let mut state = Blinded {
        inputs: Vec::new(),
        blinds: Vec::new(),
        clients: Vec::new(),
    };
    let mut messages = Vec::with_capacity(inputs.len());
    for (index, input) in inputs.iter().enumerate() {
        let input = input.as_ref();
        if input.len() > usize::from(u16::MAX) {
            return Err(Error::InputTooLong {
                index,
                len: input.len(),
            });
        }
        let blind = Zeroizing::new(nonzero_scalar(rng));
        // `danger` only because we choose the blind: we keep it for threshold unblinding.
        let blinded = VoprfClient::<Suite>::deterministic_blind_unchecked(input, *blind)
            .map_err(|_| Error::Oprf)?;
        messages.push(to_array(&blinded.message.serialize()));
        state.inputs.push(Zeroizing::new(input.to_vec()));
        state.blinds.push(blind);
        state.clients.push(blinded.state);
    }
    Ok((state, messages))
}

/// Verifies the service's batched proof against `public_key` and returns one
/// tag per input: the first [`TAG_LEN`] bytes of the RFC 9497 output.
pub fn finalize_batch(
    state: &Blinded,
    evaluated: &[[u8; 32]],
    proof: &[u8; 64],
    public_key: &[u8; 32],
) -> Result<Vec<[u8; 32]>, Error> {
    let pk = decode_point(public_key).ok_or(Error::InvalidPublicKey)?;
    verified_outputs(state, evaluated, proof, pk)?
        .iter()
        .map(|o| Ok(tag_of(o)))
        .collect()
}

/// The RFC 9497 outputs, after the proof verified; the threshold client
/// calls this per share to check each share's proof.
pub(crate) fn verified_outputs(
    state: &Blinded,
    evaluated: &[[u8; 32]],
    proof: &[u8; 64],
    pk: RistrettoPoint,
) -> Result<Vec<[u8; 64]>, Error> {
    if evaluated.len() != state.len() {
        return Err(Error::EvaluationCountMismatch {
            expected: state.len(),
            got: evaluated.len(),
        });
    }
    let messages = evaluated
        .iter()
        .enumerate()
        .map(|(index, e)| {
            EvaluationElement::<Suite>::deserialize(e)
                .map_err(|_| Error::InvalidEvaluatedElement { index })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let proof = Proof::<Suite>::deserialize(proof).map_err(|_| Error::InvalidProof)?;
    let inputs: Vec<&[u8]> = state.inputs().collect();
    // batch_finalize checks the DLEQ proof before it unblinds anything.
    let outputs = VoprfClient::batch_finalize(&inputs, &state.clients, &messages, &proof, pk)
        .map_err(|_| Error::ProofRejected)?;
    outputs
        .map(|o| o.map(|o| to_array(&o)).map_err(|_| Error::Oprf))
        .collect()
}

/// RFC 9497 §3.3.2 Finalize on an already unblinded element `n`:
/// `SHA-512(I2OSP(len(input),2) ‖ input ‖ I2OSP(32,2) ‖ compress(n) ‖ "Finalize")`.
/// The threshold client needs it: `voprf` only finalizes behind a proof
/// for the combined key, which no single service produces.
pub(crate) fn finalize_hash(input: &[u8], n: &RistrettoPoint) -> Result<[u8; 64], Error> {
    let len = u16::try_from(input.len()).map_err(|_| Error::InputTooLong {
        index: 0,
        len: input.len(),
    })?;
    let digest = Sha512::new()
        .chain_update(len.to_be_bytes())
        .chain_update(input)
        .chain_update(32u16.to_be_bytes())
        .chain_update(n.compress().as_bytes())
        .chain_update(b"Finalize")
        .finalize();
    Ok(to_array(&digest))
}

/// The service's side: one OPRF key (per ledger and epoch, or one share).
pub struct Evaluator {
    server: VoprfServer<Suite>,
    key: Zeroizing<Scalar>,
}

impl std::fmt::Debug for Evaluator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Evaluator(public key {:02x?})", self.public_key())
    }
}

impl Evaluator {
    /// The key of `ledger` at `epoch`: RFC 9497 DeriveKeyPair(seed, info)
    /// with info = [`pseudonym_key_info`], so one seed serves every ledger and epoch.
    pub fn from_seed(seed: &[u8; 32], ledger: &str, epoch: u32) -> Result<Self, Error> {
        Self::from_seed_and_info(seed, &pseudonym_key_info(ledger, epoch)?)
    }

    /// RFC 9497 DeriveKeyPair with any `info` (the RFC's vectors use `"test key"`).
    pub fn from_seed_and_info(seed: &[u8; 32], info: &[u8]) -> Result<Self, Error> {
        let key = Zeroizing::new(
            voprf::derive_key::<Suite>(seed, info, Mode::Voprf)
                .map_err(|_| Error::KeyDerivation)?,
        );
        Self::from_key(&key)
    }

    /// A key given as its canonical little-endian scalar encoding (a share file).
    pub fn from_scalar(bytes: &[u8; 32]) -> Result<Self, Error> {
        let key = Zeroizing::new(
            Option::<Scalar>::from(Scalar::from_canonical_bytes(*bytes))
                .ok_or(Error::InvalidKey)?,
        );
        Self::from_key(&key)
    }

    pub(crate) fn from_key(key: &Scalar) -> Result<Self, Error> {
        let bytes = Zeroizing::new(key.to_bytes());
        // new_with_key refuses zero: a zero key maps every input to the identity.
        let server = VoprfServer::new_with_key(&*bytes).map_err(|_| Error::InvalidKey)?;
        Ok(Self {
            server,
            key: Zeroizing::new(*key),
        })
    }

    /// A fresh random key: a service's key for a new epoch.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Result<Self, Error> {
        Self::from_key(&Zeroizing::new(nonzero_scalar(rng)))
    }

    /// The key's canonical scalar encoding, for its key file only (the
    /// service's operator writes it once, mode 0600).
    pub fn secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.key.to_bytes())
    }

    pub(crate) fn key(&self) -> &Scalar {
        &self.key
    }

    /// The pseudonym tag of `input` computed directly with the key, no
    /// blinding: what a holder of the whole key can do offline for any
    /// guess (the single-service operator; a test playing an attacker who
    /// found a key). Members never can.
    pub fn evaluate_tag(&self, input: &[u8]) -> Result<[u8; 32], Error> {
        let output = self.server.evaluate(input).map_err(|_| Error::Oprf)?;
        Ok(tag_of(&to_array(&output)))
    }

    /// `k·G`, compressed: what the directory publishes and proofs verify against.
    pub fn public_key(&self) -> [u8; 32] {
        self.server.get_public_key().compress().to_bytes()
    }

    /// Multiplies each blinded element by the key and proves, in one batched
    /// DLEQ proof, that the same key as [`Self::public_key`] was used.
    pub fn evaluate_batch<R: RngCore + CryptoRng>(
        &self,
        blinded: &[[u8; 32]],
        rng: &mut R,
    ) -> Result<(Vec<[u8; 32]>, [u8; 64]), Error> {
        check_batch_len(blinded.len())?;
        let elements = blinded
            .iter()
            .enumerate()
            .map(|(index, b)| {
                // deserialize refuses non-canonical encodings and the identity.
                BlindedElement::<Suite>::deserialize(b)
                    .map_err(|_| Error::InvalidBlindedElement { index })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let result = self
            .server
            .batch_blind_evaluate(rng, &elements)
            .map_err(|_| Error::Oprf)?;
        let evaluated = result
            .messages
            .iter()
            .map(|m| to_array(&m.serialize()))
            .collect();
        Ok((evaluated, to_array(&result.proof.serialize())))
    }
}

fn check_batch_len(len: usize) -> Result<(), Error> {
    match len {
        0 => Err(Error::EmptyBatch),
        len if len > MAX_BATCH => Err(Error::BatchTooLarge {
            len,
            max: MAX_BATCH,
        }),
        _ => Ok(()),
    }
}

/// A blind of zero would send the identity and make unblinding impossible.
pub(crate) fn nonzero_scalar<R: RngCore + CryptoRng>(rng: &mut R) -> Scalar {
    loop {
        let s = Scalar::random(rng);
        if s != Scalar::ZERO {
            return s;
        }
    }
}

/// Whether `bytes` is a public key (or a public share) a service can prove
/// against: a canonical, non-identity ristretto255 point. Directories check
/// their keys with it when they load.
pub fn valid_public_key(bytes: &[u8; 32]) -> bool {
    decode_point(bytes).is_some()
}

/// A canonical, non-identity point (what the RFC's DeserializeElement accepts).
pub(crate) fn decode_point(bytes: &[u8; 32]) -> Option<RistrettoPoint> {
    CompressedRistretto(*bytes)
        .decompress()
        .filter(|p| *p != RistrettoPoint::identity())
}

pub(crate) fn tag_of(output: &[u8; 64]) -> [u8; 32] {
    let mut tag = [0u8; 32];
    if let Some(head) = output.first_chunk::<32>() {
        tag = *head;
    }
    tag
}

/// Copies a fixed-size array out of a `GenericArray` of the same length
/// (the lengths are the suite's constants, checked by the type of `N`).
fn to_array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(head) = bytes.first_chunk::<N>() {
        out = *head;
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    fn rng() -> ChaCha20Rng {
        ChaCha20Rng::seed_from_u64(9497)
    }

    #[test]
    fn input_layout_is_domain_ledger_epoch_value() {
        let input = pseudonym_input("L1", 0x0102_0304, b"\x05acct").unwrap();
        let mut expected = b"veilgate/pseudonym/v2".to_vec();
        expected.extend_from_slice(&[0, 2, b'L', b'1', 1, 2, 3, 4, 5, b'a', b'c', b'c', b't']);
        assert_eq!(input, expected);
        // Ledger and epoch are in the input: moving either changes it.
        assert_ne!(
            input,
            pseudonym_input("L2", 0x0102_0304, b"\x05acct").unwrap()
        );
        assert_ne!(
            input,
            pseudonym_input("L1", 0x0102_0305, b"\x05acct").unwrap()
        );
        let info = pseudonym_key_info("L1", 7).unwrap();
        assert_eq!(
            info,
            [
                b"veilgate/pseudonym-key/v1".as_slice(),
                &[0, 2, b'L', b'1', 0, 0, 0, 7]
            ]
            .concat()
        );
    }

    #[test]
    fn over_long_inputs_and_ledgers_are_refused() {
        let long = "x".repeat(65_536);
        assert_eq!(
            pseudonym_input(&long, 1, b""),
            Err(Error::LedgerTooLong { len: 65_536 })
        );
        let value = vec![0u8; 65_535];
        assert!(matches!(
            pseudonym_input("L", 1, &value),
            Err(Error::InputTooLong { .. })
        ));
        let inputs = [vec![1u8], vec![0u8; 65_536]];
        assert_eq!(
            blind_batch(&inputs, &mut rng()).unwrap_err(),
            Error::InputTooLong {
                index: 1,
                len: 65_536
            }
        );
    }

    #[test]
    fn our_finalize_hash_is_the_crates() {
        let server = Evaluator::from_seed(&[7; 32], "L", 1).unwrap();
        let input = pseudonym_input("L", 1, b"value").unwrap();
        let point = voprf_hash_to_group(&input) * server.key();
        let ours = finalize_hash(&input, &point).unwrap();
        assert_eq!(
            ours.as_slice(),
            server.server.evaluate(&input).unwrap().as_slice()
        );
    }

    /// H(x) recovered through the crate: blinding with 1 gives H(x) itself.
    fn voprf_hash_to_group(input: &[u8]) -> RistrettoPoint {
        let blinded =
            VoprfClient::<Suite>::deterministic_blind_unchecked(input, Scalar::ONE).unwrap();
        decode_point(&to_array(&blinded.message.serialize())).unwrap()
    }

    #[test]
    fn round_trip_gives_the_crates_evaluation() {
        let server = Evaluator::from_seed(&[3; 32], "L", 2).unwrap();
        let inputs: Vec<Vec<u8>> = (0..5u8)
            .map(|i| pseudonym_input("L", 2, &[i; 9]).unwrap())
            .collect();
        let (state, blinded) = blind_batch(&inputs, &mut rng()).unwrap();
        let (evaluated, proof) = server.evaluate_batch(&blinded, &mut rng()).unwrap();
        let tags = finalize_batch(&state, &evaluated, &proof, &server.public_key()).unwrap();
        for (input, tag) in inputs.iter().zip(&tags) {
            assert_eq!(
                tag.as_slice(),
                &server.server.evaluate(input).unwrap()[..32]
            );
        }
    }

    #[test]
    fn batch_limits() {
        let server = Evaluator::from_seed(&[3; 32], "L", 2).unwrap();
        let none: [[u8; 32]; 0] = [];
        assert_eq!(
            server.evaluate_batch(&none, &mut rng()).unwrap_err(),
            Error::EmptyBatch
        );
        let many = vec![[0u8; 32]; MAX_BATCH + 1];
        assert_eq!(
            server.evaluate_batch(&many, &mut rng()).unwrap_err(),
            Error::BatchTooLarge { len: 257, max: 256 }
        );
        let inputs = vec![vec![1u8]; MAX_BATCH];
        assert_eq!(blind_batch(&inputs, &mut rng()).unwrap().1.len(), MAX_BATCH);
        let inputs = vec![vec![1u8]; MAX_BATCH + 1];
        assert!(matches!(
            blind_batch(&inputs, &mut rng()),
            Err(Error::BatchTooLarge { .. })
        ));
    }

    #[test]
    fn answers_of_the_wrong_shape_are_refused() {
        let server = Evaluator::from_seed(&[3; 32], "L", 2).unwrap();
        let (state, blinded) = blind_batch(&[b"a", b"b"], &mut rng()).unwrap();
        let (evaluated, proof) = server.evaluate_batch(&blinded, &mut rng()).unwrap();
        let pk = server.public_key();
        let short = evaluated.get(..1).unwrap();
        assert_eq!(
            finalize_batch(&state, short, &proof, &pk),
            Err(Error::EvaluationCountMismatch {
                expected: 2,
                got: 1
            })
        );
        let mut identity = evaluated.clone();
        identity[1] = [0; 32];
        assert_eq!(
            finalize_batch(&state, &identity, &proof, &pk),
            Err(Error::InvalidEvaluatedElement { index: 1 })
        );
        assert_eq!(
            finalize_batch(&state, &evaluated, &[0xff; 64], &pk),
            Err(Error::InvalidProof)
        );
        assert_eq!(
            finalize_batch(&state, &evaluated, &proof, &[0; 32]),
            Err(Error::InvalidPublicKey)
        );
        let mut swapped = evaluated.clone();
        swapped.swap(0, 1);
        assert_eq!(
            finalize_batch(&state, &swapped, &proof, &pk),
            Err(Error::ProofRejected)
        );
    }

    #[test]
    fn keys_must_be_canonical_and_non_zero() {
        assert_eq!(
            Evaluator::from_scalar(&[0; 32]).unwrap_err(),
            Error::InvalidKey
        );
        assert_eq!(
            Evaluator::from_scalar(&[0xff; 32]).unwrap_err(),
            Error::InvalidKey
        );
        let seeded = Evaluator::from_seed(&[1; 32], "L", 1).unwrap();
        let again = Evaluator::from_scalar(&seeded.key().to_bytes()).unwrap();
        assert_eq!(seeded.public_key(), again.public_key());
        // Each (ledger, epoch) gets its own key from one seed.
        assert_ne!(
            seeded.public_key(),
            Evaluator::from_seed(&[1; 32], "L", 2).unwrap().public_key()
        );
        assert_ne!(
            seeded.public_key(),
            Evaluator::from_seed(&[1; 32], "M", 1).unwrap().public_key()
        );
    }

    #[test]
    fn debug_output_shows_no_secret() {
        let (state, _) = blind_batch(&[b"secret-account"], &mut rng()).unwrap();
        assert_eq!(format!("{state:?}"), "Blinded(1 elements)");
        let server = Evaluator::from_seed(&[1; 32], "L", 1).unwrap();
        let shown = format!("{server:?}");
        assert!(!shown.contains(&format!("{:02x?}", server.key().to_bytes())));
    }
}
