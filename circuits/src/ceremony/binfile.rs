//! The iden3 binary container of `.ptau`, `.zkey`, `.r1cs` and `.wtns`
//! files: `magic (4) ‖ u32 version ‖ u32 section count ‖ sections`, each
//! section `u32 id ‖ u64 size ‖ payload`, all little-endian, no padding, in
//! any order.

use super::CeremonyError;

/// A container read from bytes: its version and sections by id.
pub struct BinFile<'a> {
    pub version: u32,
    sections: Vec<(u32, &'a [u8])>,
}

fn truncated(what: impl Into<String>) -> CeremonyError {
    CeremonyError::Truncated { what: what.into() }
}

fn take<'a>(bytes: &mut &'a [u8], n: usize, what: &str) -> Result<&'a [u8], CeremonyError> {
    if bytes.len() < n {
        return Err(truncated(what));
    }
    let (head, rest) = bytes.split_at(n);
    *bytes = rest;
    Ok(head)
}

fn u32_le(b: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(b.get(..4).unwrap_or(&[0; 4]));
    u32::from_le_bytes(a)
}

impl<'a> BinFile<'a> {
    /// Reads the container; refuses another magic, a newer version, a
    /// truncated section and trailing bytes.
    pub fn read(
        mut bytes: &'a [u8],
        magic: &[u8; 4],
        max_version: u32,
    ) -> Result<Self, CeremonyError> {
        let found = take(&mut bytes, 4, "the magic")?;
        if found != magic {
            return Err(CeremonyError::Magic {
                expected: String::from_utf8_lossy(magic).into_owned(),
                found: String::from_utf8_lossy(found).into_owned(),
            });
        }
        let version = u32_le(take(&mut bytes, 4, "the version")?);
        if version == 0 || version > max_version {
            return Err(CeremonyError::Version {
                found: version,
                max: max_version,
            });
        }
        let count = u32_le(take(&mut bytes, 4, "the section count")?);
        let mut sections = Vec::new();
        for i in 0..count {
            let id = u32_le(take(&mut bytes, 4, &format!("the header of section #{i}"))?);
            let mut size = [0u8; 8];
            size.copy_from_slice(take(&mut bytes, 8, &format!("the header of section {id}"))?);
            let size = usize::try_from(u64::from_le_bytes(size))
                .map_err(|_| truncated(format!("section {id}")))?;
            let payload = take(
                &mut bytes,
                size,
                &format!("section {id} ({size} bytes announced)"),
            )?;
            sections.push((id, payload));
        }
        if !bytes.is_empty() {
            return Err(CeremonyError::Invalid {
                what: "the file".into(),
                reason: format!("{} bytes after the last section", bytes.len()),
            });
        }
        Ok(BinFile { version, sections })
    }

    /// The one section with this id.
    pub fn section(&self, id: u32) -> Result<&'a [u8], CeremonyError> {
        let mut found = self.sections.iter().filter(|(i, _)| *i == id);
        let first = found.next().ok_or(CeremonyError::MissingSection(id))?;
        if found.next().is_some() {
            return Err(CeremonyError::DuplicateSection(id));
        }
        Ok(first.1)
    }

    /// Whether a section with this id is present.
    pub fn has(&self, id: u32) -> bool {
        self.sections.iter().any(|(i, _)| *i == id)
    }
}

/// Writes a container with these sections, in the order given.
pub fn write(magic: &[u8; 4], version: u32, sections: &[(u32, Vec<u8>)]) -> Vec<u8> {
    let len: usize = sections.iter().map(|(_, s)| 12 + s.len()).sum();
    let mut out = Vec::with_capacity(12 + len);
    out.extend_from_slice(magic);
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(
        &u32::try_from(sections.len())
            .unwrap_or(u32::MAX)
            .to_le_bytes(),
    );
    for (id, payload) in sections {
        out.extend_from_slice(&id.to_le_bytes());
        out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        out.extend_from_slice(payload);
    }
    out
}
