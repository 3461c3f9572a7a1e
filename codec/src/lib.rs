//! One codec for every binary format Veilgate writes: the envelope, the
//! ledger entry, the gateway store's outbox values, the audit log, verdicts.
//!
//! A type implements [`Codec`]: `encode` appends its bytes, `read` takes
//! them from a [`Reader`]. [`Codec::from_bytes`] reads a whole value and
//! refuses trailing bytes, so every format has exactly one encoding per
//! value and a reader never silently ignores what it does not understand.
//! Integers are big-endian; variable-length items carry their length first
//! (`u16` or `u32`, as each format's spec in `docs/formats/` says).
#![forbid(unsafe_code)]

/// Why bytes did not decode. Offsets count from the start of the value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    #[error("truncated: {what} needs {needed} bytes at offset {offset}, {left} left")]
    Truncated {
        what: &'static str,
        offset: usize,
        needed: usize,
        left: usize,
    },
    #[error("{extra} trailing bytes after the value, at offset {offset}")]
    Trailing { offset: usize, extra: usize },
    #[error("{what} at offset {offset}: {reason}")]
    Invalid {
        what: &'static str,
        offset: usize,
        reason: &'static str,
    },
}

/// A cursor over bytes being decoded.
pub struct Reader<'a> {
    buf: &'a [u8],
    offset: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, offset: 0 }
    }

    /// Bytes read so far.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Bytes not read yet.
    pub fn left(&self) -> usize {
        self.buf.len().saturating_sub(self.offset)
    }

    /// The next `n` bytes.
    pub fn take(&mut self, what: &'static str, n: usize) -> Result<&'a [u8], CodecError> {
        let end = self.offset.checked_add(n);
        match end.and_then(|end| self.buf.get(self.offset..end)) {
            Some(s) => {
                self.offset += n;
                Ok(s)
            }
            None => Err(CodecError::Truncated {
                what,
                offset: self.offset,
                needed: n,
                left: self.left(),
            }),
        }
    }

    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], CodecError> {
        let s = self.take(what, N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(s);
        Ok(out)
    }

    pub fn u8(&mut self, what: &'static str) -> Result<u8, CodecError> {
        Ok(u8::from_be_bytes(self.array(what)?))
    }
    pub fn u16(&mut self, what: &'static str) -> Result<u16, CodecError> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }
    pub fn u32(&mut self, what: &'static str) -> Result<u32, CodecError> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }
    pub fn u64(&mut self, what: &'static str) -> Result<u64, CodecError> {
        Ok(u64::from_be_bytes(self.array(what)?))
    }

    /// `u16 length ‖ bytes`.
    pub fn bytes_u16(&mut self, what: &'static str) -> Result<&'a [u8], CodecError> {
        let n = self.u16(what)?;
        self.take(what, usize::from(n))
    }

    /// `u32 length ‖ bytes`.
    pub fn bytes_u32(&mut self, what: &'static str) -> Result<&'a [u8], CodecError> {
        let n = self.u32(what)?;
        let n = usize::try_from(n).map_err(|_| self.invalid(what, "length does not fit"))?;
        self.take(what, n)
    }

    /// `u16 length ‖ UTF-8`.
    pub fn str_u16(&mut self, what: &'static str) -> Result<&'a str, CodecError> {
        let at = self.offset;
        let bytes = self.bytes_u16(what)?;
        std::str::from_utf8(bytes).map_err(|_| CodecError::Invalid {
            what,
            offset: at,
            reason: "not UTF-8",
        })
    }

    /// A presence byte (0 absent, 1 present) and, if present, the value.
    pub fn option<T>(
        &mut self,
        what: &'static str,
        read: impl FnOnce(&mut Self) -> Result<T, CodecError>,
    ) -> Result<Option<T>, CodecError> {
        match self.u8(what)? {
            0 => Ok(None),
            1 => read(self).map(Some),
            _ => Err(self.invalid(what, "presence byte is neither 0 nor 1")),
        }
    }

    /// Everything not read yet.
    pub fn rest(&mut self) -> &'a [u8] {
        let s = self.buf.get(self.offset..).unwrap_or_default();
        self.offset = self.buf.len();
        s
    }

    /// An error about the item just read (or about to be).
    pub fn invalid(&self, what: &'static str, reason: &'static str) -> CodecError {
        CodecError::Invalid {
            what,
            offset: self.offset,
            reason,
        }
    }

    /// Ends decoding: every byte must have been read.
    pub fn finish(self) -> Result<(), CodecError> {
        match self.left() {
            0 => Ok(()),
            extra => Err(CodecError::Trailing {
                offset: self.offset,
                extra,
            }),
        }
    }
}

/// Appends the encodings of the primitive items every format is made of.
pub trait Writer {
    fn put(&mut self, bytes: &[u8]);
    fn put_u8(&mut self, v: u8) {
        self.put(&[v]);
    }
    fn put_u16(&mut self, v: u16) {
        self.put(&v.to_be_bytes());
    }
    fn put_u32(&mut self, v: u32) {
        self.put(&v.to_be_bytes());
    }
    fn put_u64(&mut self, v: u64) {
        self.put(&v.to_be_bytes());
    }
    /// `u16 length ‖ bytes`; the caller guarantees the length fits (formats
    /// bound every such item well below 65,536 bytes when they accept it).
    fn put_bytes_u16(&mut self, b: &[u8]) {
        self.put_u16(u16::try_from(b.len()).unwrap_or(u16::MAX));
        self.put(b.get(..usize::from(u16::MAX)).unwrap_or(b));
    }
    fn put_bytes_u32(&mut self, b: &[u8]) {
        self.put_u32(u32::try_from(b.len()).unwrap_or(u32::MAX));
        self.put(b);
    }
    /// `u16 length ‖ UTF-8`; text over 65,535 bytes is cut at a character
    /// boundary so the result always decodes (formats bound their texts
    /// far below that).
    fn put_str_u16(&mut self, s: &str) {
        let mut end = s.len().min(usize::from(u16::MAX));
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        self.put_bytes_u16(s.as_bytes().get(..end).unwrap_or_default());
    }
    fn put_option<T>(&mut self, v: Option<&T>, put: impl FnOnce(&mut Self, &T)) {
        match v {
            None => self.put_u8(0),
            Some(v) => {
                self.put_u8(1);
                put(self, v);
            }
        }
    }
}

impl Writer for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// A value with one binary encoding.
pub trait Codec: Sized {
    /// Appends the value's bytes.
    fn encode(&self, out: &mut Vec<u8>);

    /// Reads one value; the reader may hold more after it.
    fn read(r: &mut Reader<'_>) -> Result<Self, CodecError>;

    fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    /// Reads exactly one value: trailing bytes are an error.
    fn from_bytes(bytes: &[u8]) -> Result<Self, CodecError> {
        let mut r = Reader::new(bytes);
        let v = Self::read(&mut r)?;
        r.finish()?;
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, PartialEq)]
    struct Sample {
        n: u64,
        name: String,
        tag: Option<[u8; 4]>,
        body: Vec<u8>,
    }

    impl Codec for Sample {
        fn encode(&self, out: &mut Vec<u8>) {
            out.put_u64(self.n);
            out.put_str_u16(&self.name);
            out.put_option(self.tag.as_ref(), |o, t| o.put(t));
            out.put_bytes_u32(&self.body);
        }
        fn read(r: &mut Reader<'_>) -> Result<Self, CodecError> {
            Ok(Sample {
                n: r.u64("n")?,
                name: r.str_u16("name")?.to_owned(),
                tag: r.option("tag", |r| r.array("tag"))?,
                body: r.bytes_u32("body")?.to_vec(),
            })
        }
    }

    fn sample() -> Sample {
        Sample {
            n: 7,
            name: "bank-a".into(),
            tag: Some(*b"VGAA"),
            body: vec![1, 2, 3],
        }
    }

    #[test]
    fn layout_is_big_endian_and_length_prefixed() {
        assert_eq!(
            hex(&sample().to_bytes()),
            "0000000000000007\
             0006 62616e6b2d61\
             01 56474141\
             00000003 010203"
                .replace(' ', "")
        );
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let mut b = sample().to_bytes();
        b.push(0);
        assert_eq!(
            Sample::from_bytes(&b),
            Err(CodecError::Trailing {
                offset: b.len() - 1,
                extra: 1
            })
        );
    }

    #[test]
    fn every_truncation_is_refused() {
        let b = sample().to_bytes();
        for n in 0..b.len() {
            assert!(
                matches!(
                    Sample::from_bytes(&b[..n]),
                    Err(CodecError::Truncated { .. })
                ),
                "prefix of {n} bytes"
            );
        }
    }

    #[test]
    fn a_presence_byte_other_than_0_or_1_is_refused() {
        let mut b = sample().to_bytes();
        b[16] = 2; // the tag's presence byte
        assert!(matches!(
            Sample::from_bytes(&b),
            Err(CodecError::Invalid { what: "tag", .. })
        ));
    }

    #[test]
    fn invalid_utf8_is_refused() {
        let mut b = sample().to_bytes();
        b[10] = 0xff;
        assert!(matches!(
            Sample::from_bytes(&b),
            Err(CodecError::Invalid { what: "name", .. })
        ));
    }

    proptest! {
        #[test]
        fn round_trip(n: u64, name in "\\PC{0,40}", tag: Option<[u8; 4]>, body in proptest::collection::vec(any::<u8>(), 0..64)) {
            let s = Sample { n, name, tag, body };
            prop_assert_eq!(Sample::from_bytes(&s.to_bytes()).unwrap(), s);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = Sample::from_bytes(&bytes);
        }
    }
}
