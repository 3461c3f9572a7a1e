//! A circuit as an iden3 `.r1cs` file (`docs/research/snarkjs-formats.md`
//! §5), so snarkjs and circom tools read the very constraint system our
//! keys are set up over: container `r1cs` v1; section 1 the header
//! (`n8`, the BN254 scalar field prime, wire, input and constraint counts);
//! section 2 the constraints (A, B, C per row, each `u32 nTerms` then
//! `u32 wire ‖ coefficient`, coefficients canonical little-endian, terms by
//! wire); section 3 the wire-to-label map (identity). Wires are `[1,
//! public inputs…, witnesses…]`: arkworks' order is iden3's.

use ark_bn254::Fr;
use ark_ff::{BigInteger, PrimeField};

use super::binfile;
use crate::groth16::ConstraintMatrices;

pub const MAGIC: &[u8; 4] = b"r1cs";

fn put_lc(out: &mut Vec<u8>, row: &[(Fr, usize)]) {
    let mut terms: Vec<&(Fr, usize)> = row.iter().collect();
    terms.sort_by_key(|(_, wire)| *wire);
    out.extend_from_slice(&(terms.len() as u32).to_le_bytes());
    for (coeff, wire) in terms {
        out.extend_from_slice(&(*wire as u32).to_le_bytes());
        out.extend_from_slice(&coeff.into_bigint().to_bytes_le());
    }
}

/// The `.r1cs` bytes of a circuit's constraint matrices.
pub fn write(m: &ConstraintMatrices) -> Vec<u8> {
    let wires = (m.num_instance + m.num_witness) as u32;
    let mut header = Vec::with_capacity(64);
    header.extend_from_slice(&32u32.to_le_bytes());
    header.extend_from_slice(&Fr::MODULUS.to_bytes_le());
    header.extend_from_slice(&wires.to_le_bytes());
    header.extend_from_slice(&0u32.to_le_bytes()); // public outputs
    header.extend_from_slice(&(m.num_instance.saturating_sub(1) as u32).to_le_bytes()); // public inputs
    header.extend_from_slice(&0u32.to_le_bytes()); // private inputs: all witnesses are internal
    header.extend_from_slice(&u64::from(wires).to_le_bytes()); // labels
    header.extend_from_slice(&(m.a.len() as u32).to_le_bytes());
    let mut constraints = Vec::new();
    for ((a, b), c) in m.a.iter().zip(&m.b).zip(&m.c) {
        put_lc(&mut constraints, a);
        put_lc(&mut constraints, b);
        put_lc(&mut constraints, c);
    }
    let labels: Vec<u8> = (0..u64::from(wires)).flat_map(u64::to_le_bytes).collect();
    binfile::write(MAGIC, 1, &[(1, header), (2, constraints), (3, labels)])
}
