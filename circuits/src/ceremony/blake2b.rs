//! BLAKE2b-512 whose state can be saved and resumed in the 216-byte layout
//! snarkjs stores as a contribution's `partialHash`
//! (`docs/research/snarkjs-formats.md` §3.3): `buffer (128) ‖ h[0..8] (u64
//! LE) ‖ t (u64 LE, bytes compressed) ‖ c (u64 LE, bytes buffered) ‖ f
//! (u64, 0)`. The RustCrypto `blake2` crate cannot export or import its
//! state, so this is RFC 7693 written out; its digests are tested against
//! that crate.

const IV: [u64; 8] = [
    0x6a09_e667_f3bc_c908,
    0xbb67_ae85_84ca_a73b,
    0x3c6e_f372_fe94_f82b,
    0xa54f_f53a_5f1d_36f1,
    0x510e_527f_ade6_82d1,
    0x9b05_688c_2b3e_6c1f,
    0x1f83_d9ab_fb41_bd6b,
    0x5be0_cd19_137e_2179,
];

const SIGMA: [[usize; 16]; 12] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
    [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
    [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
    [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
    [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
    [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
    [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
    [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
    [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
];

/// An unkeyed BLAKE2b-512 in progress.
#[derive(Clone)]
pub struct Blake2b {
    h: [u64; 8],
    buf: [u8; 128],
    /// Bytes in `buf` (a full buffer is compressed only when more comes).
    c: usize,
    /// Bytes compressed so far.
    t: u128,
}

impl Default for Blake2b {
    fn default() -> Self {
        let mut h = IV;
        // Parameter block: digest length 64, no key, fanout 1, depth 1.
        h[0] ^= 0x0101_0040;
        Blake2b {
            h,
            buf: [0; 128],
            c: 0,
            t: 0,
        }
    }
}

#[allow(clippy::indexing_slicing)] // Fixed-size arrays, constant or SIGMA-bounded indices.
fn compress(h: &mut [u64; 8], block: &[u8; 128], t: u128, last: bool) {
    let mut m = [0u64; 16];
    for (i, w) in m.iter_mut().enumerate() {
        let mut b = [0u8; 8];
        b.copy_from_slice(&block[8 * i..8 * i + 8]);
        *w = u64::from_le_bytes(b);
    }
    let mut v = [0u64; 16];
    v[..8].copy_from_slice(h);
    v[8..].copy_from_slice(&IV);
    v[12] ^= t as u64;
    v[13] ^= (t >> 64) as u64;
    if last {
        v[14] = !v[14];
    }
    let g = |v: &mut [u64; 16], a: usize, b: usize, c: usize, d: usize, x: u64, y: u64| {
        v[a] = v[a].wrapping_add(v[b]).wrapping_add(x);
        v[d] = (v[d] ^ v[a]).rotate_right(32);
        v[c] = v[c].wrapping_add(v[d]);
        v[b] = (v[b] ^ v[c]).rotate_right(24);
        v[a] = v[a].wrapping_add(v[b]).wrapping_add(y);
        v[d] = (v[d] ^ v[a]).rotate_right(16);
        v[c] = v[c].wrapping_add(v[d]);
        v[b] = (v[b] ^ v[c]).rotate_right(63);
    };
    for s in &SIGMA {
        g(&mut v, 0, 4, 8, 12, m[s[0]], m[s[1]]);
        g(&mut v, 1, 5, 9, 13, m[s[2]], m[s[3]]);
        g(&mut v, 2, 6, 10, 14, m[s[4]], m[s[5]]);
        g(&mut v, 3, 7, 11, 15, m[s[6]], m[s[7]]);
        g(&mut v, 0, 5, 10, 15, m[s[8]], m[s[9]]);
        g(&mut v, 1, 6, 11, 12, m[s[10]], m[s[11]]);
        g(&mut v, 2, 7, 8, 13, m[s[12]], m[s[13]]);
        g(&mut v, 3, 4, 9, 14, m[s[14]], m[s[15]]);
    }
    for i in 0..8 {
        h[i] ^= v[i] ^ v[i + 8];
    }
}

impl Blake2b {
    pub fn update(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            if self.c == 128 {
                self.t += 128;
                compress(&mut self.h, &self.buf, self.t, false);
                self.c = 0;
            }
            let n = (128 - self.c).min(data.len());
            let (head, rest) = data.split_at(n);
            if let Some(dst) = self.buf.get_mut(self.c..self.c + n) {
                dst.copy_from_slice(head);
            }
            self.c += n;
            data = rest;
        }
    }

    pub fn finalize(mut self) -> [u8; 64] {
        self.t += self.c as u128;
        if let Some(rest) = self.buf.get_mut(self.c..) {
            rest.fill(0);
        }
        compress(&mut self.h, &self.buf, self.t, true);
        let mut out = [0u8; 64];
        for (o, w) in out.chunks_mut(8).zip(self.h) {
            o.copy_from_slice(&w.to_le_bytes());
        }
        out
    }

    /// The 216-byte saved state.
    pub fn save(&self) -> [u8; 216] {
        let mut out = [0u8; 216];
        let (buf, rest) = out.split_at_mut(128);
        buf.copy_from_slice(&self.buf);
        let (h, rest) = rest.split_at_mut(64);
        for (o, w) in h.chunks_mut(8).zip(self.h) {
            o.copy_from_slice(&w.to_le_bytes());
        }
        let (t, rest) = rest.split_at_mut(8);
        t.copy_from_slice(&(self.t as u64).to_le_bytes());
        let (c, _f) = rest.split_at_mut(8);
        c.copy_from_slice(&(self.c as u64).to_le_bytes());
        out
    }

    /// Resumes a saved state; `None` if it is not one (`c` over 128, `f` set).
    pub fn resume(saved: &[u8; 216]) -> Option<Blake2b> {
        let word = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(saved.get(i..i + 8)?);
            Some(u64::from_le_bytes(b))
        };
        let mut h = [0u64; 8];
        for (k, w) in h.iter_mut().enumerate() {
            *w = word(128 + 8 * k)?;
        }
        let (t, c, f) = (word(192)?, word(200)?, word(208)?);
        if c > 128 || f != 0 {
            return None;
        }
        let mut buf = [0u8; 128];
        buf.copy_from_slice(saved.get(..128)?);
        Some(Blake2b {
            h,
            buf,
            c: c as usize,
            t: u128::from(t),
        })
    }
}

/// BLAKE2b-512 of `data`.
pub fn digest(data: &[u8]) -> [u8; 64] {
    let mut h = Blake2b::default();
    h.update(data);
    h.finalize()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use blake2::Digest as _;

    #[test]
    fn agrees_with_the_blake2_crate_at_every_length_and_split() {
        let data: Vec<u8> = (0..700u32).map(|i| (i * 7 + 3) as u8).collect();
        for len in [0, 1, 127, 128, 129, 255, 256, 257, 700] {
            let want: [u8; 64] = blake2::Blake2b512::digest(&data[..len]).into();
            assert_eq!(digest(&data[..len]), want, "length {len}");
            for split in [0, 1, len / 2, len].into_iter().filter(|s| *s <= len) {
                let mut h = Blake2b::default();
                h.update(&data[..split]);
                let saved = h.save();
                let mut h = Blake2b::resume(&saved).unwrap();
                h.update(&data[split..len]);
                assert_eq!(h.finalize(), want, "length {len} split {split}");
            }
        }
    }
}
