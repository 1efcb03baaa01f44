//! A cursor over wire bytes whose every read is bounds-checked and names the field it reads.

use super::compact_u16;
use super::{CompactU16Error, Field, TxError};

/// Reads fields front to back; every slice it returns borrows from the input.
pub(super) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }

    /// The offset of the next byte.
    pub(super) fn pos(&self) -> usize {
        self.pos
    }

    /// The bytes from `start` up to the cursor.
    pub(super) fn since(&self, start: usize) -> &'a [u8] {
        self.bytes.get(start..self.pos).unwrap_or_default()
    }

    /// The bytes not read yet.
    pub(super) fn rest(&self) -> &'a [u8] {
        self.bytes.get(self.pos..).unwrap_or_default()
    }

    /// The next `len` bytes.
    pub(super) fn bytes(&mut self, len: usize, field: Field) -> Result<&'a [u8], TxError> {
        let rest = self.rest();
        let taken = rest.get(..len).ok_or(TxError::Truncated {
            field,
            offset: self.pos,
        })?;
        self.pos += len;
        Ok(taken)
    }

    /// The next byte.
    pub(super) fn u8(&mut self, field: Field) -> Result<u8, TxError> {
        Ok(self.array::<1>(field)?[0])
    }

    /// The next `N` bytes as an array.
    pub(super) fn array<const N: usize>(&mut self, field: Field) -> Result<&'a [u8; N], TxError> {
        let array = self.rest().first_chunk::<N>().ok_or(TxError::Truncated {
            field,
            offset: self.pos,
        })?;
        self.pos += N;
        Ok(array)
    }

    /// The next `count` arrays of `N` bytes.
    pub(super) fn arrays<const N: usize>(
        &mut self,
        count: usize,
        field: Field,
    ) -> Result<&'a [[u8; N]], TxError> {
        Ok(self.bytes(count * N, field)?.as_chunks::<N>().0)
    }

    /// The next compact-u16, as a count or length.
    pub(super) fn compact_u16(&mut self, field: Field) -> Result<usize, TxError> {
        let offset = self.pos;
        let (value, len) = compact_u16::decode(self.rest()).map_err(|error| match error {
            CompactU16Error::Truncated => TxError::Truncated { field, offset },
            error => TxError::InvalidCompactU16 {
                field,
                offset,
                error,
            },
        })?;
        self.pos += len;
        Ok(usize::from(value))
    }

    /// A compact-u16 count of bytes followed by those bytes.
    pub(super) fn short_vec(
        &mut self,
        count_field: Field,
        field: Field,
    ) -> Result<&'a [u8], TxError> {
        let len = self.compact_u16(count_field)?;
        self.bytes(len, field)
    }
}
