//! Ephemeral ECDHE on curveSM2 (RFC 8998 §3.1 / §3.2: NamedGroup 0x0029).
//!
//! RFC 8998 reuses the RFC 8446 §4.2.8.2 encoding for ECDHE groups: the
//! key_exchange field is the uncompressed SEC1 point (0x04 || X || Y, 65 bytes
//! for a 256-bit curve) and the shared secret is the X coordinate of the
//! product point (RFC 8446 §7.4.2). Tongsuo implements curveSM2 the same way
//! (plain EC ECDH on the SM2 curve, `OSSL_TLS_GROUP_ID_sm2 0x0029` in
//! include/internal/tlsgroups.h).

use rand_core::OsRng;
use rustls::crypto::{ActiveKeyExchange, SharedSecret, SupportedKxGroup};
use rustls::{Error, NamedGroup, PeerMisbehaved};
use sm2::elliptic_curve::sec1::{Coordinates, ToEncodedPoint};
use sm2::{PublicKey, SecretKey};
use zeroize::Zeroizing;

/// curveSM2 code point (RFC 8998 §2; IANA "TLS Supported Groups" 41).
/// rustls has no named variant for it.
pub const CURVE_SM2: NamedGroup = NamedGroup::Unknown(0x0029);

/// Length of an uncompressed SEC1 point on the 256-bit SM2 curve.
const UNCOMPRESSED_POINT_LEN: usize = 65;

/// SEC1 tag of an uncompressed point.
const UNCOMPRESSED_TAG: u8 = 0x04;

/// The curveSM2 key-exchange group.
#[derive(Debug)]
pub(crate) struct CurveSm2;

impl SupportedKxGroup for CurveSm2 {
    fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, Error> {
        // `SecretKey` zeroizes its scalar on drop, unlike a bare scalar.
        let secret = SecretKey::random(&mut OsRng);
        let pub_key = secret
            .public_key()
            .to_encoded_point(false)
            .as_bytes()
            .to_vec();
        Ok(Box::new(ActiveCurveSm2 { secret, pub_key }))
    }

    fn name(&self) -> NamedGroup {
        CURVE_SM2
    }
}

/// Our half of one in-progress curveSM2 exchange.
struct ActiveCurveSm2 {
    secret: SecretKey,
    pub_key: Vec<u8>,
}

impl ActiveKeyExchange for ActiveCurveSm2 {
    fn complete(self: Box<Self>, peer_pub_key: &[u8]) -> Result<SharedSecret, Error> {
        x_coordinate_of_shared_point(&self.secret, peer_pub_key).map(SharedSecret::from)
    }

    fn pub_key(&self) -> &[u8] {
        &self.pub_key
    }

    fn group(&self) -> NamedGroup {
        CURVE_SM2
    }
}

/// ECDH on curveSM2; returns the 32-byte X coordinate of `secret * peer`.
///
/// The peer's share must be exactly an uncompressed point (RFC 8446 §4.2.8.2
/// forbids other formats in TLS 1.3). `PublicKey::from_sec1_bytes` checks the
/// point lies on the curve and is not the identity, so invalid-curve and
/// small-subgroup inputs are rejected before any multiplication (the SM2
/// curve has cofactor 1).
pub fn x_coordinate_of_shared_point(
    secret: &SecretKey,
    peer_pub_key: &[u8],
) -> Result<Vec<u8>, Error> {
    let bad_share = || Error::from(PeerMisbehaved::InvalidKeyShare);
    if peer_pub_key.len() != UNCOMPRESSED_POINT_LEN
        || peer_pub_key.first() != Some(&UNCOMPRESSED_TAG)
    {
        return Err(bad_share());
    }
    let peer = PublicKey::from_sec1_bytes(peer_pub_key).map_err(|_| bad_share())?;
    let shared = (peer.to_projective() * *secret.to_nonzero_scalar()).to_affine();
    // Identity cannot occur for a valid peer point and non-zero scalar on a
    // prime-order curve, but an identity would have no X coordinate: refuse.
    let encoded = Zeroizing::new(shared.to_encoded_point(false));
    match encoded.coordinates() {
        Coordinates::Uncompressed { x, .. } => Ok(x.to_vec()),
        _ => Err(bad_share()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn both_sides_agree_on_x_coordinate() {
        let a = CurveSm2.start().unwrap();
        let b = CurveSm2.start().unwrap();
        assert_eq!(a.pub_key().len(), 65);
        assert_eq!(a.pub_key()[0], 0x04);
        assert_eq!(a.group(), NamedGroup::from(0x0029));
        let a_pub = a.pub_key().to_vec();
        let b_pub = b.pub_key().to_vec();
        let s1 = a.complete(&b_pub).unwrap();
        let s2 = b.complete(&a_pub).unwrap();
        assert_eq!(s1.secret_bytes(), s2.secret_bytes());
        assert_eq!(s1.secret_bytes().len(), 32);
    }

    #[test]
    fn shared_secret_is_x_of_d_times_g() {
        // ecdh(d, G) must equal X(d*G), i.e. our own public key's X.
        let secret = SecretKey::random(&mut OsRng);
        let g = sm2::AffinePoint::GENERATOR.to_encoded_point(false);
        let x = x_coordinate_of_shared_point(&secret, g.as_bytes()).unwrap();
        let own = secret.public_key().to_encoded_point(false);
        assert_eq!(&x[..], &own.as_bytes()[1..33]);
    }

    #[test]
    fn rejects_bad_points() {
        let secret = SecretKey::random(&mut OsRng);
        let good = secret
            .public_key()
            .to_encoded_point(false)
            .as_bytes()
            .to_vec();

        // Off-curve: perturb Y.
        let mut off = good.clone();
        off[64] ^= 0x01;
        assert!(x_coordinate_of_shared_point(&secret, &off).is_err());
        // Identity / wrong length.
        assert!(x_coordinate_of_shared_point(&secret, &[0x00]).is_err());
        let mut zeros = vec![0u8; 65];
        zeros[0] = 0x04;
        assert!(x_coordinate_of_shared_point(&secret, &zeros).is_err());
        // Compressed form is not allowed in TLS 1.3.
        let compressed = secret.public_key().to_encoded_point(true);
        assert!(x_coordinate_of_shared_point(&secret, compressed.as_bytes()).is_err());
        // Truncated and extended.
        assert!(x_coordinate_of_shared_point(&secret, &good[..64]).is_err());
        let mut long = good.clone();
        long.push(0);
        assert!(x_coordinate_of_shared_point(&secret, &long).is_err());
        assert!(x_coordinate_of_shared_point(&secret, &good).is_ok());
    }
}
