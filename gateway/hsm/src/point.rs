//! `CKA_EC_POINT` and `CKA_EC_PARAMS` bytes: pure, no token in sight.
//!
//! PKCS#11 stores a public point as a DER OCTET STRING (`04 len ‖ point`);
//! some tokens hand back the raw point instead. Both are accepted, nothing
//! else: compressed points and long-form DER lengths never come from the
//! keys this crate generates.

/// DER OID 1.3.101.112 (id-Ed25519, RFC 8410).
pub(crate) const ED25519_PARAMS: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];
/// DER OID 1.2.840.10045.3.1.7 (prime256v1 / secp256r1).
pub(crate) const P256_PARAMS: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// Length of an uncompressed P-256 point `04 ‖ x ‖ y`.
pub(crate) const P256_POINT_LEN: usize = 65;

/// The curve of a public key object, from its `CKA_KEY_TYPE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Curve {
    Ed25519,
    P256,
}

/// The public key bytes inside a `CKA_EC_POINT` value, or a description of
/// its shape (lengths only) when it is not one.
pub(crate) fn decode_ec_point(curve: Curve, value: &[u8]) -> Result<Vec<u8>, String> {
    match curve {
        Curve::Ed25519 => match value {
            [0x04, 0x20, key @ ..] if key.len() == 32 => Ok(key.to_vec()),
            key if key.len() == 32 => Ok(key.to_vec()),
            _ => Err(format!(
                "CKA_EC_POINT of an Ed25519 key is {} bytes, neither `04 20 ‖ 32 bytes` nor 32 bytes",
                value.len()
            )),
        },
        Curve::P256 => match value {
            [0x04, 0x41, point @ ..] if point.len() == P256_POINT_LEN && point.first() == Some(&0x04) => {
                Ok(point.to_vec())
            }
            [0x04, ..] if value.len() == P256_POINT_LEN => Ok(value.to_vec()),
            _ => Err(format!(
                "CKA_EC_POINT of a P-256 key is {} bytes, neither `04 41 04 ‖ x ‖ y` nor the 65-byte uncompressed point",
                value.len()
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]

    use super::*;

    #[test]
    fn ed25519_wrapped_and_raw() {
        let key = [7u8; 32];
        let mut der = vec![0x04, 0x20];
        der.extend_from_slice(&key);
        assert_eq!(decode_ec_point(Curve::Ed25519, &der).unwrap(), key);
        assert_eq!(decode_ec_point(Curve::Ed25519, &key).unwrap(), key);
    }

    #[test]
    fn ed25519_refuses_other_shapes() {
        for len in [0usize, 1, 2, 31, 33, 35, 65] {
            assert!(
                decode_ec_point(Curve::Ed25519, &vec![0x04; len]).is_err(),
                "{len}"
            );
        }
        // Right length, wrong DER header.
        let mut der = vec![0x04, 0x21];
        der.extend_from_slice(&[1u8; 32]);
        assert!(decode_ec_point(Curve::Ed25519, &der).is_err());
    }

    #[test]
    fn p256_wrapped_and_raw() {
        let mut point = vec![0x04];
        point.extend_from_slice(&[9u8; 64]);
        let mut der = vec![0x04, 0x41];
        der.extend_from_slice(&point);
        assert_eq!(decode_ec_point(Curve::P256, &der).unwrap(), point);
        assert_eq!(decode_ec_point(Curve::P256, &point).unwrap(), point);
        // A raw point whose x starts with 0x41 is still read as raw.
        point[1] = 0x41;
        assert_eq!(decode_ec_point(Curve::P256, &point).unwrap(), point);
    }

    #[test]
    fn p256_refuses_compressed_and_odd_lengths() {
        let mut compressed = vec![0x02];
        compressed.extend_from_slice(&[9u8; 32]);
        assert!(decode_ec_point(Curve::P256, &compressed).is_err());
        let mut der_compressed = vec![0x04, 0x21];
        der_compressed.extend_from_slice(&compressed);
        assert!(decode_ec_point(Curve::P256, &der_compressed).is_err());
        // DER-wrapped, but the inner point is not uncompressed.
        let mut der = vec![0x04, 0x41, 0x03];
        der.extend_from_slice(&[9u8; 64]);
        assert!(decode_ec_point(Curve::P256, &der).is_err());
        for len in [0usize, 64, 66, 68] {
            assert!(
                decode_ec_point(Curve::P256, &vec![0x04; len]).is_err(),
                "{len}"
            );
        }
    }

    #[test]
    fn error_names_lengths_not_bytes() {
        let e = decode_ec_point(Curve::Ed25519, &[0xab; 5]).unwrap_err();
        assert!(e.contains("5 bytes"));
        assert!(!e.to_lowercase().contains("ab"));
    }
}
