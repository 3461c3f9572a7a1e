//! Length hiding for field plaintexts: pad to a size class so a peer who
//! sees a ciphertext learns the class, not the length.
//!
//! Layout: `u16 n (big-endian) ‖ plaintext (n bytes) ‖ 0x00 × (S − 2 − n)`
//! with `S` the smallest class ≥ `n + 2`. Classes of `pow2 min..=max`: `min,
//! 2·min, …, max`, then every multiple of `max`. Unpadding is strict, so
//! each plaintext has exactly one padded form and a submitter cannot signal
//! through the choice of class or the padding bytes. This module never
//! looks at what the plaintext means.

use crate::PadError;

/// Largest power-of-two class; beyond it classes step by `max`.
const MAX_CLASS: usize = 65_536;
/// Smallest class: a two-byte prefix plus a short value.
const MIN_CLASS: usize = 32;

/// A padding scheme; build it with [`Padding::pow2`], which checks the bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Padding {
    /// Power-of-two classes from `min` to `max`, then multiples of `max`.
    #[non_exhaustive]
    Pow2 {
        /// Smallest class.
        min: usize,
        /// Largest power-of-two class.
        max: usize,
    },
}

impl Padding {
    /// `min`, `max` powers of two with `32 ≤ min ≤ max ≤ 65536`.
    pub fn pow2(min: usize, max: usize) -> Result<Self, PadError> {
        let ok = min.is_power_of_two()
            && max.is_power_of_two()
            && MIN_CLASS <= min
            && min <= max
            && max <= MAX_CLASS;
        if ok {
            Ok(Self::Pow2 { min, max })
        } else {
            Err(PadError::InvalidScheme { min, max })
        }
    }

    /// The smallest class ≥ `len`.
    pub fn class_of(&self, len: usize) -> Result<usize, PadError> {
        let Self::Pow2 { min, max } = *self;
        if len <= min {
            Ok(min)
        } else if len <= max {
            // min < len ≤ max, both powers of two: next_power_of_two stays ≤ max.
            Ok(len.next_power_of_two())
        } else {
            len.checked_next_multiple_of(max)
                .ok_or(PadError::TooLong { len })
        }
    }

    /// `u16 n ‖ plaintext ‖ zeros`, to the smallest class ≥ `n + 2`.
    pub fn pad(&self, plaintext: &[u8]) -> Result<Vec<u8>, PadError> {
        let n = u16::try_from(plaintext.len()).map_err(|_| PadError::TooLong {
            len: plaintext.len(),
        })?;
        let class = self.class_of(plaintext.len() + 2)?;
        let mut out = Vec::with_capacity(class);
        out.extend_from_slice(&n.to_be_bytes());
        out.extend_from_slice(plaintext);
        out.resize(class, 0);
        Ok(out)
    }

    /// The plaintext inside `padded`, refusing any encoding but the one
    /// [`Self::pad`] makes. Rules, checked in order: the length is a class;
    /// `n + 2 ≤ len`; every padding byte is zero; the class is minimal.
    pub fn unpad<'a>(&self, padded: &'a [u8]) -> Result<&'a [u8], PadError> {
        let len = padded.len();
        if self.class_of(len)? != len {
            return Err(PadError::NotAClass { len });
        }
        // Classes are ≥ 32 bytes, so the prefix is there.
        let (prefix, rest) = padded
            .split_first_chunk::<2>()
            .ok_or(PadError::NotAClass { len })?;
        let n = usize::from(u16::from_be_bytes(*prefix));
        let (plaintext, padding) = rest.split_at_checked(n).ok_or(PadError::LengthPastEnd {
            n,
            room: rest.len(),
        })?;
        if let Some(at) = padding.iter().position(|&b| b != 0) {
            return Err(PadError::NonZeroPadding { offset: 2 + n + at });
        }
        let class = self.class_of(n + 2)?;
        if class != len {
            return Err(PadError::NotMinimal { n, len, class });
        }
        Ok(plaintext)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn classes_double_then_step_by_max() {
        let p = Padding::pow2(32, 1024).unwrap();
        let cases = [
            (0, 32),
            (32, 32),
            (33, 64),
            (64, 64),
            (65, 128),
            (1000, 1024),
            (1024, 1024),
            (1025, 2048),
            (2049, 3072),
            (65_537, 65_536 + 1024),
        ];
        for (len, class) in cases {
            assert_eq!(p.class_of(len), Ok(class), "len {len}");
        }
        assert_eq!(
            p.class_of(usize::MAX),
            Err(PadError::TooLong { len: usize::MAX })
        );
    }

    #[test]
    fn scheme_bounds() {
        for (min, max) in [(16, 1024), (32, 48), (48, 64), (64, 32), (32, 131_072)] {
            assert_eq!(
                Padding::pow2(min, max),
                Err(PadError::InvalidScheme { min, max })
            );
        }
        assert!(Padding::pow2(32, 32).is_ok() && Padding::pow2(65_536, 65_536).is_ok());
    }

    #[test]
    fn the_prefix_is_big_endian_and_padding_is_zero() {
        let p = Padding::pow2(32, 1024).unwrap();
        let padded = p.pad(&[0xaa; 300]).unwrap();
        assert_eq!(padded.len(), 512);
        assert_eq!(padded[..2], [0x01, 0x2c]);
        assert!(padded[2..302].iter().all(|&b| b == 0xaa) && padded[302..].iter().all(|&b| b == 0));
        assert_eq!(
            p.pad(&vec![0; 65_536]),
            Err(PadError::TooLong { len: 65_536 })
        );
    }
}
