//! Solana's compact-u16 ("shortvec") integers: 1 to 3 bytes, 7 bits per byte, least significant
//! group first, the high bit of a byte set when another byte follows.
//!
//! | bytes | layout                         | values          |
//! |-------|--------------------------------|-----------------|
//! | 1     | `0xxxxxxx`                     | 0 ..= 127       |
//! | 2     | `1xxxxxxx 0yyyyyyy`            | 128 ..= 16,383  |
//! | 3     | `1xxxxxxx 1yyyyyyy 000000zz`   | 16,384 ..= 65,535 |
//!
//! Every value has exactly one encoding, as in `solana-short-vec`: a zero byte after the first
//! (`0x80 0x00`) would alias a shorter encoding and is rejected, as are a third byte that
//! continues and a value above `u16::MAX`.

use super::CompactU16Error;

/// The longest encoding, in bytes.
pub const MAX_LEN: usize = 3;

/// Reads one compact-u16 from the start of `bytes`; returns the value and how many bytes it took.
pub fn decode(bytes: &[u8]) -> Result<(u16, usize), CompactU16Error> {
    let mut value = 0u32;
    for (nth, shift) in (0..MAX_LEN).zip([0, 7, 14]) {
        let byte = *bytes.get(nth).ok_or(CompactU16Error::Truncated)?;
        if byte == 0 && nth > 0 {
            return Err(CompactU16Error::NonCanonical);
        }
        value |= u32::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            let value = u16::try_from(value).map_err(|_| CompactU16Error::Overflow(value))?;
            return Ok((value, nth + 1));
        }
    }
    Err(CompactU16Error::TooLong)
}

/// Appends the encoding of `value` to `out`.
pub fn encode(value: u16, out: &mut Vec<u8>) {
    let mut rest = value;
    while rest >= 0x80 {
        out.push((rest & 0x7f) as u8 | 0x80);
        rest >>= 7;
    }
    out.push(rest as u8);
}

/// How many bytes [`encode`] writes for `value`.
pub const fn encoded_len(value: u16) -> usize {
    match value {
        0..=0x7f => 1,
        0x80..=0x3fff => 2,
        _ => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solana_short_vec_table() {
        // The table of solana-short-vec's own `test_deserialize`.
        let good: [(u16, &[u8]); 9] = [
            (0x0000, &[0x00]),
            (0x007f, &[0x7f]),
            (0x0080, &[0x80, 0x01]),
            (0x00ff, &[0xff, 0x01]),
            (0x0100, &[0x80, 0x02]),
            (0x07ff, &[0xff, 0x0f]),
            (0x3fff, &[0xff, 0x7f]),
            (0x4000, &[0x80, 0x80, 0x01]),
            (0xffff, &[0xff, 0xff, 0x03]),
        ];
        for (value, bytes) in good {
            assert_eq!(decode(bytes), Ok((value, bytes.len())), "{bytes:02x?}");
            let mut out = Vec::new();
            encode(value, &mut out);
            assert_eq!(out, bytes);
            assert_eq!(encoded_len(value), bytes.len());
        }
        let aliases: [&[u8]; 9] = [
            &[0x80, 0x00],
            &[0x80, 0x80, 0x00],
            &[0xff, 0x00],
            &[0xff, 0x80, 0x00],
            &[0x80, 0x81, 0x00],
            &[0xff, 0x81, 0x00],
            &[0x80, 0x82, 0x00],
            &[0xff, 0x8f, 0x00],
            &[0xff, 0xff, 0x00],
        ];
        for bytes in aliases {
            assert_eq!(
                decode(bytes),
                Err(CompactU16Error::NonCanonical),
                "{bytes:02x?}"
            );
        }
        assert_eq!(decode(&[]), Err(CompactU16Error::Truncated));
        assert_eq!(decode(&[0x80]), Err(CompactU16Error::Truncated));
        assert_eq!(decode(&[0xff, 0xff]), Err(CompactU16Error::Truncated));
        assert_eq!(
            decode(&[0x80, 0x80, 0x80, 0x00]),
            Err(CompactU16Error::TooLong)
        );
        assert_eq!(
            decode(&[0x80, 0x80, 0x04]),
            Err(CompactU16Error::Overflow(0x1_0000))
        );
        assert_eq!(
            decode(&[0x80, 0x80, 0x06]),
            Err(CompactU16Error::Overflow(0x1_8000))
        );
    }

    #[test]
    fn every_value_round_trips_and_trailing_bytes_are_left_alone() {
        for value in 0..=u16::MAX {
            let mut out = Vec::new();
            encode(value, &mut out);
            assert_eq!(out.len(), encoded_len(value));
            out.extend_from_slice(&[0xaa, 0x00]);
            assert_eq!(decode(&out), Ok((value, encoded_len(value))));
        }
    }

    #[test]
    fn every_short_input_decodes_exactly_when_canonical() {
        // All 1-, 2- and 3-byte inputs: Ok exactly for the encodings `encode` writes.
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                for input in [
                    &[a][..],
                    &[a, b],
                    &[a, b, 0x01],
                    &[a, b, 0x03],
                    &[a, b, 0x83],
                ] {
                    if let Ok((value, len)) = decode(input) {
                        let mut out = Vec::new();
                        encode(value, &mut out);
                        assert_eq!(out, input[..len], "{input:02x?}");
                    }
                }
            }
        }
    }
}
