//! Keys for one Groth16 statement, and everything done with them.
//!
//! - Setup is circuit-specific. [`Keys::setup`] takes its randomness from the
//!   caller; [`Keys::dev_setup`] derives it from the circuit id, so every
//!   development gateway has the same keys — and anyone can forge proofs under
//!   them. `docs/notes-groth16.md` says what production must do instead.
//! - The proving key and the constraint matrices are built once and kept: a
//!   proof synthesises only the witness (no matrices, no inlining), checks it
//!   against the cached matrices, and runs the prover on it. That is where
//!   most of arkworks' per-proof time went for small circuits.
//! - A key is named by its id, `SHA-256(domain ‖ len ‖ circuit id ‖ compressed
//!   verifying key)`; key files carry the id in their name and are checked
//!   against it on load, so a policy can pin the verifying key it expects.
//! - [`Keys::verify_batch`] checks many proofs of one circuit with one
//!   multi-pairing (random linear combination).

use std::fs;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use ark_bn254::{Bn254, Fr, G1Affine, G1Projective};
use ark_ec::pairing::Pairing;
use ark_ec::{CurveGroup, VariableBaseMSM};
use ark_ff::{Field, UniformRand, Zero};
use ark_groth16::{Groth16, PreparedVerifyingKey, Proof, ProvingKey, VerifyingKey};
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, OptimizationGoal, SynthesisMode, R1CS_PREDICATE_LABEL,
};
use ark_relations::utils::matrix::Matrix;
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use ark_snark::SNARK;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};

use crate::domain;

/// A Groth16 statement: a circuit with its public inputs and (when proving) its witness.
pub trait Statement: ConstraintSynthesizer<Fr> + Clone {
    /// Circuit name, shape and version, e.g. `range64-v1`, `membership-d20-v1`.
    /// Part of the key id: two shapes never share keys.
    fn circuit_id(&self) -> String;
    /// The same shape without a witness, for setup.
    fn blank(&self) -> Self;
    /// The public inputs in allocation order (what a verifier supplies).
    fn public_inputs(&self) -> Vec<Fr>;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Groth16Error {
    #[error("circuit setup failed")]
    Setup,
    /// The witness does not satisfy the circuit (the statement is false), or
    /// it is missing: an honest prover refuses rather than emit a bad proof.
    #[error("the statement does not hold for this witness")]
    Unsatisfied,
    #[error("proving failed")]
    Prove,
    #[error("proof does not verify")]
    Rejected,
    #[error("expected {expected} public inputs, got {got}")]
    PublicInputs { expected: usize, got: usize },
    #[error("key file {path}: {reason}")]
    KeyFile { path: String, reason: String },
}

/// The circuit's shape: its R1CS matrices and sizes.
#[derive(Clone)]
struct Shape {
    /// `[A, B, C]`, rows are constraints, columns `[1, inputs…, witnesses…]`.
    matrices: Vec<Matrix<Fr>>,
    num_inputs: usize,
    num_witnesses: usize,
    num_constraints: usize,
}

/// A circuit's rank-1 constraint system, as a ceremony exports it: rows
/// are constraints, columns `[1, public inputs…, witnesses…]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConstraintMatrices {
    pub a: Matrix<Fr>,
    pub b: Matrix<Fr>,
    pub c: Matrix<Fr>,
    /// Instance variables, the constant 1 included.
    pub num_instance: usize,
    pub num_witness: usize,
}

/// The constraint matrices of the circuit of `blank`, exactly as its keys
/// are set up over.
pub fn constraint_matrices<S: Statement>(blank: &S) -> Result<ConstraintMatrices, Groth16Error> {
    let shape = shape_of(blank.blank())?;
    let mut m = shape.matrices.into_iter();
    let (Some(a), Some(b), Some(c)) = (m.next(), m.next(), m.next()) else {
        return Err(Groth16Error::Setup);
    };
    Ok(ConstraintMatrices {
        a,
        b,
        c,
        num_instance: shape.num_inputs,
        num_witness: shape.num_witnesses,
    })
}

fn shape_of<S: Statement>(blank: S) -> Result<Shape, Groth16Error> {
    let cs = ConstraintSystem::<Fr>::new_ref();
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    cs.set_mode(SynthesisMode::Setup);
    blank
        .generate_constraints(cs.clone())
        .map_err(|_| Groth16Error::Setup)?;
    cs.finalize();
    let mut all = cs.to_matrices().map_err(|_| Groth16Error::Setup)?;
    let matrices = all
        .remove(R1CS_PREDICATE_LABEL)
        .ok_or(Groth16Error::Setup)?;
    if matrices.len() != 3 {
        return Err(Groth16Error::Setup);
    }
    Ok(Shape {
        matrices,
        num_inputs: cs.num_instance_variables(),
        num_witnesses: cs.num_witness_variables(),
        num_constraints: cs.num_constraints(),
    })
}

/// `Σ coeff · z[col]` for one matrix row.
fn row_dot(row: &[(Fr, usize)], z: &[Fr]) -> Option<Fr> {
    let mut acc = Fr::zero();
    for (coeff, col) in row {
        acc += *coeff * z.get(*col)?;
    }
    Some(acc)
}

/// Proving key, prepared verifying key and shape of one circuit.
pub struct Keys<S> {
    circuit: String,
    pk: ProvingKey<Bn254>,
    pvk: PreparedVerifyingKey<Bn254>,
    beta_g2: <Bn254 as Pairing>::G2Prepared,
    shape: Shape,
    id: [u8; 32],
    _statement: PhantomData<fn() -> S>,
}

impl<S: Statement> Keys<S> {
    /// Circuit-specific setup with the caller's randomness (toxic waste: whoever
    /// knows it can forge proofs).
    pub fn setup<R: RngCore + CryptoRng>(blank: &S, rng: &mut R) -> Result<Self, Groth16Error> {
        let (pk, _) = Groth16::<Bn254>::circuit_specific_setup(blank.blank(), rng)
            .map_err(|_| Groth16Error::Setup)?;
        Self::from_proving_key(blank, pk)
    }

    /// Deterministic development setup: the randomness is derived from the
    /// circuit id, so the keys are public knowledge. Never for production.
    pub fn dev_setup(blank: &S) -> Result<Self, Groth16Error> {
        let seed: [u8; 32] = Sha256::new()
            .chain_update(domain::GROTH16_DEV_SETUP)
            .chain_update(blank.circuit_id().as_bytes())
            .finalize()
            .into();
        Self::setup(blank, &mut ChaCha20Rng::from_seed(seed))
    }

    /// Keys from a proving key made elsewhere (a ceremony's), checked
    /// against the circuit's shape.
    pub fn from_proving_key(blank: &S, pk: ProvingKey<Bn254>) -> Result<Self, Groth16Error> {
        let shape = shape_of(blank.blank())?;
        // The key must be for this shape: one query entry per variable, one
        // IC point per input, one L point per witness.
        let vars = shape.num_inputs + shape.num_witnesses;
        if pk.a_query.len() != vars
            || pk.b_g2_query.len() != vars
            || pk.vk.gamma_abc_g1.len() != shape.num_inputs
            || pk.l_query.len() != shape.num_witnesses
        {
            return Err(Groth16Error::Setup);
        }
        let pvk = Groth16::<Bn254>::process_vk(&pk.vk).map_err(|_| Groth16Error::Setup)?;
        let circuit = blank.circuit_id();
        let id = key_id(&circuit, &pk.vk)?;
        Ok(Keys {
            circuit,
            beta_g2: pk.vk.beta_g2.into(),
            pk,
            pvk,
            shape,
            id,
            _statement: PhantomData,
        })
    }

    pub fn circuit_id(&self) -> &str {
        &self.circuit
    }

    /// The key id: `SHA-256(domain ‖ u32 len ‖ circuit id ‖ compressed vk)`.
    pub fn id(&self) -> [u8; 32] {
        self.id
    }

    pub fn verifying_key(&self) -> &VerifyingKey<Bn254> {
        &self.pvk.vk
    }

    pub fn num_constraints(&self) -> usize {
        self.shape.num_constraints
    }

    pub fn num_public_inputs(&self) -> usize {
        self.shape.num_inputs - 1
    }

    /// The full assignment `[1, inputs…, witnesses…]` of a statement, checked
    /// against the cached matrices.
    fn assignment(&self, statement: S) -> Result<Vec<Fr>, Groth16Error> {
        let cs = ConstraintSystem::<Fr>::new_ref();
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        cs.set_mode(SynthesisMode::Prove {
            construct_matrices: false,
            generate_lc_assignments: false,
        });
        statement
            .generate_constraints(cs.clone())
            .map_err(|_| Groth16Error::Unsatisfied)?;
        let inputs = cs.instance_assignment().map_err(|_| Groth16Error::Prove)?;
        let witnesses = cs.witness_assignment().map_err(|_| Groth16Error::Prove)?;
        if inputs.len() != self.shape.num_inputs || witnesses.len() != self.shape.num_witnesses {
            return Err(Groth16Error::Prove);
        }
        Ok([inputs, witnesses].concat())
    }

    fn satisfied(&self, z: &[Fr]) -> bool {
        let [a, b, c] = self.shape.matrices.as_slice() else {
            return false;
        };
        a.iter().zip(b).zip(c).all(|((ra, rb), rc)| {
            matches!(
                (row_dot(ra, z), row_dot(rb, z), row_dot(rc, z)),
                (Some(x), Some(y), Some(w)) if x * y == w
            )
        })
    }

    /// Proves the statement; refuses with [`Groth16Error::Unsatisfied`] when it
    /// does not hold.
    pub fn prove<R: RngCore + CryptoRng>(
        &self,
        statement: S,
        rng: &mut R,
    ) -> Result<Proof<Bn254>, Groth16Error> {
        let z = self.assignment(statement)?;
        if !self.satisfied(&z) {
            return Err(Groth16Error::Unsatisfied);
        }
        self.prove_assignment(&z, rng)
    }

    /// The prover without the satisfaction check: what a prover patched to lie
    /// runs. Only for soundness tests — its proofs of false statements must
    /// be rejected by [`Keys::verify`].
    #[doc(hidden)]
    pub fn prove_unchecked<R: RngCore + CryptoRng>(
        &self,
        statement: S,
        rng: &mut R,
    ) -> Result<Proof<Bn254>, Groth16Error> {
        let z = self.assignment(statement)?;
        self.prove_assignment(&z, rng)
    }

    fn prove_assignment<R: RngCore + CryptoRng>(
        &self,
        z: &[Fr],
        rng: &mut R,
    ) -> Result<Proof<Bn254>, Groth16Error> {
        let (r, s) = (Fr::rand(rng), Fr::rand(rng));
        Groth16::<Bn254>::create_proof_with_reduction_and_matrices(
            &self.pk,
            r,
            s,
            &self.shape.matrices,
            self.shape.num_inputs,
            self.shape.num_constraints,
            z,
        )
        .map_err(|_| Groth16Error::Prove)
    }

    fn check_inputs(&self, public: &[Fr]) -> Result<(), Groth16Error> {
        if public.len() != self.num_public_inputs() {
            return Err(Groth16Error::PublicInputs {
                expected: self.num_public_inputs(),
                got: public.len(),
            });
        }
        Ok(())
    }

    pub fn verify(&self, public: &[Fr], proof: &Proof<Bn254>) -> Result<(), Groth16Error> {
        self.check_inputs(public)?;
        match Groth16::<Bn254>::verify_with_processed_vk(&self.pvk, public, proof) {
            Ok(true) => Ok(()),
            _ => Err(Groth16Error::Rejected),
        }
    }

    /// Verifies many proofs of this circuit at once. With random 128-bit `ρᵢ`:
    ///
    /// `Πᵢ e(ρᵢ·Aᵢ, Bᵢ) · e(−Σρᵢ·α, β) · e(−Σρᵢ·ICᵢ, γ) · e(−Σρᵢ·Cᵢ, δ) = 1`
    ///
    /// Each single equation is `e(A, B) = e(α, β) · e(IC, γ) · e(C, δ)`; a batch
    /// with any false one passes with probability at most about `2^-128`. One
    /// Miller loop of `n + 3` pairs and one final exponentiation replace `n`
    /// loops of 3 pairs and `n` exponentiations. On `Err`, verify one by one
    /// to find the culprit.
    pub fn verify_batch<R: RngCore + CryptoRng>(
        &self,
        batch: &[(&[Fr], &Proof<Bn254>)],
        rng: &mut R,
    ) -> Result<(), Groth16Error> {
        for (public, _) in batch {
            self.check_inputs(public)?;
        }
        if batch.is_empty() {
            return Ok(());
        }
        let rho: Vec<Fr> = batch
            .iter()
            .map(|_| Fr::from(u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64())))
            .collect();
        let sum_rho: Fr = rho.iter().sum();
        // Σρᵢ·ICᵢ = Σρᵢ·IC₀ + Σⱼ (Σᵢ ρᵢ·xᵢⱼ)·ICⱼ: one small MSM over the key's points.
        let mut ic_scalars = vec![Fr::zero(); self.shape.num_inputs];
        for ((public, _), r) in batch.iter().zip(&rho) {
            for (acc, x) in ic_scalars.iter_mut().skip(1).zip(public.iter()) {
                *acc += *r * x;
            }
        }
        if let Some(first) = ic_scalars.first_mut() {
            *first = sum_rho;
        }
        let ic = G1Projective::msm(&self.pvk.vk.gamma_abc_g1, &ic_scalars)
            .map_err(|_| Groth16Error::Rejected)?;
        let cs: Vec<G1Affine> = batch.iter().map(|(_, p)| p.c).collect();
        let c = G1Projective::msm(&cs, &rho).map_err(|_| Groth16Error::Rejected)?;
        let alpha = self.pvk.vk.alpha_g1 * (-sum_rho);
        let mut g1: Vec<G1Projective> = batch.iter().zip(&rho).map(|((_, p), r)| p.a * r).collect();
        g1.push(alpha);
        g1.push(ic);
        g1.push(c);
        let g1 = G1Projective::normalize_batch(&g1);
        let mut g2: Vec<<Bn254 as Pairing>::G2Prepared> =
            batch.iter().map(|(_, p)| p.b.into()).collect();
        g2.push(self.beta_g2.clone());
        g2.push(self.pvk.gamma_g2_neg_pc.clone());
        g2.push(self.pvk.delta_g2_neg_pc.clone());
        let ml = Bn254::multi_miller_loop(g1, g2);
        match Bn254::final_exponentiation(ml) {
            Some(out) if out.0 == <Bn254 as Pairing>::TargetField::ONE => Ok(()),
            _ => Err(Groth16Error::Rejected),
        }
    }

    /// The key files' names: `<circuit id>-<key id hex>.{vk,pk}`.
    pub fn file_names(&self) -> (String, String) {
        let stem = format!("{}-{}", self.circuit, hex_lower(&self.id));
        (format!("{stem}.vk"), format!("{stem}.pk"))
    }

    /// Writes the verifying key (compressed, what a policy pins and peers
    /// load) and the proving key (uncompressed, loaded fast) into `dir`.
    pub fn write(&self, dir: &Path) -> Result<(PathBuf, PathBuf), Groth16Error> {
        let (vk_name, pk_name) = self.file_names();
        let (vk_path, pk_path) = (dir.join(vk_name), dir.join(pk_name));
        let mut vk = Vec::new();
        let mut pk = Vec::new();
        self.pvk
            .vk
            .serialize_compressed(&mut vk)
            .map_err(|e| file_error(&vk_path, e))?;
        self.pk
            .serialize_uncompressed(&mut pk)
            .map_err(|e| file_error(&pk_path, e))?;
        write_atomically(&vk_path, &vk)?;
        write_atomically(&pk_path, &pk)?;
        Ok((vk_path, pk_path))
    }

    /// Loads the keys with id `id` for the circuit of `blank` from `dir`,
    /// checking the id against the verifying key and the proving key against
    /// both the verifying key and the circuit's shape.
    pub fn load(dir: &Path, blank: &S, id: [u8; 32]) -> Result<Self, Groth16Error> {
        let stem = format!("{}-{}", blank.circuit_id(), hex_lower(&id));
        let vk_path = dir.join(format!("{stem}.vk"));
        let pk_path = dir.join(format!("{stem}.pk"));
        let vk_bytes = fs::read(&vk_path).map_err(|e| file_error(&vk_path, e))?;
        let vk = VerifyingKey::<Bn254>::deserialize_compressed(vk_bytes.as_slice())
            .map_err(|e| file_error(&vk_path, e))?;
        if key_id(&blank.circuit_id(), &vk)? != id {
            return Err(file_error(&vk_path, "key id does not match its contents"));
        }
        let pk_bytes = fs::read(&pk_path).map_err(|e| file_error(&pk_path, e))?;
        // Unchecked: the proving key only affects our own proofs (a corrupt
        // one makes proofs that fail verification, never a false accept), and
        // subgroup checks on every point would cost seconds per start.
        let pk = ProvingKey::<Bn254>::deserialize_uncompressed_unchecked(pk_bytes.as_slice())
            .map_err(|e| file_error(&pk_path, e))?;
        if pk.vk != vk {
            return Err(file_error(
                &pk_path,
                "not the proving key of this verifying key",
            ));
        }
        Self::from_proving_key(blank, pk)
            .map_err(|_| file_error(&pk_path, "not a key for this circuit"))
    }
}

/// Loads a verifying key alone (a peer has no proving key) and checks its id.
pub fn verifying_key_from_bytes(
    circuit_id: &str,
    bytes: &[u8],
    id: [u8; 32],
) -> Result<PreparedVerifyingKey<Bn254>, Groth16Error> {
    let vk = VerifyingKey::<Bn254>::deserialize_compressed(bytes).map_err(|e| {
        Groth16Error::KeyFile {
            path: circuit_id.to_string(),
            reason: e.to_string(),
        }
    })?;
    if key_id(circuit_id, &vk)? != id {
        return Err(Groth16Error::KeyFile {
            path: circuit_id.to_string(),
            reason: "key id does not match its contents".into(),
        });
    }
    Groth16::<Bn254>::process_vk(&vk).map_err(|_| Groth16Error::Setup)
}

fn key_id(circuit: &str, vk: &VerifyingKey<Bn254>) -> Result<[u8; 32], Groth16Error> {
    let mut bytes = Vec::new();
    vk.serialize_compressed(&mut bytes)
        .map_err(|_| Groth16Error::Setup)?;
    let len = u32::try_from(circuit.len()).map_err(|_| Groth16Error::Setup)?;
    Ok(Sha256::new()
        .chain_update(domain::GROTH16_KEY_ID)
        .chain_update(len.to_be_bytes())
        .chain_update(circuit.as_bytes())
        .chain_update(&bytes)
        .finalize()
        .into())
}

/// A proof as bytes: arkworks compressed, `A ‖ B ‖ C` = 32 + 64 + 32 bytes.
pub fn proof_to_bytes(proof: &Proof<Bn254>) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    // Writing into a Vec cannot fail.
    let _ = proof.serialize_compressed(&mut out);
    out
}

/// Parses a proof, checking that every point is on the curve and in the
/// prime-order subgroup (the verification equation assumes it).
pub fn proof_from_bytes(bytes: &[u8]) -> Result<Proof<Bn254>, Groth16Error> {
    let mut reader = bytes;
    let proof =
        Proof::<Bn254>::deserialize_compressed(&mut reader).map_err(|_| Groth16Error::Rejected)?;
    if !reader.is_empty() {
        return Err(Groth16Error::Rejected);
    }
    Ok(proof)
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn file_error(path: &Path, e: impl std::fmt::Display) -> Groth16Error {
    Groth16Error::KeyFile {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Groth16Error> {
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, bytes).map_err(|e| file_error(&tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| file_error(path, e))
}
