//! Accounts, public keys, execution domains and domain mappings (SPEC §1).
//!
//! This module owns the vocabulary every other part of the engine speaks: a [`Pubkey`], an
//! [`Account`], the two execution [`Domain`]s and the four [`Mapping`] tags with the access table
//! that says which domain may read or write what. The table lives here, once; the store's views
//! and (later) the runtime's classification both ask it.

use std::fmt;

/// Largest account data size, 10 MiB (SPEC §1).
pub const MAX_ACCOUNT_DATA_LEN: usize = 10 * 1024 * 1024;

/// A 32-byte account address (an ed25519 public key or a program-derived address).
///
/// `repr(transparent)` over `[u8; 32]`, so the transaction decoder can hand out the account keys
/// of a wire transaction as a `&[Pubkey]` borrowed from its bytes ([`bytemuck::TransparentWrapper`]).
/// The derived `Ord` is byte order, the order in which Solana sorts keys within a message.
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, bytemuck::TransparentWrapper,
)]
#[repr(transparent)]
pub struct Pubkey(pub [u8; 32]);

impl Pubkey {
    /// The raw 32 bytes.
    pub const fn to_bytes(self) -> [u8; 32] {
        self.0
    }

    /// Parses a base58 address; the error names what is wrong with it.
    pub fn from_base58(text: &str) -> Result<Self, PubkeyParseError> {
        if text.len() > base58_max_len(32) {
            return Err(PubkeyParseError::TooLong(text.len()));
        }
        let bytes = bs58::decode(text)
            .into_vec()
            .map_err(|e| PubkeyParseError::NotBase58(text.to_owned(), e.to_string()))?;
        let len = bytes.len();
        let array: [u8; 32] = bytes
            .try_into()
            .map_err(|_| PubkeyParseError::WrongLength(text.to_owned(), len))?;
        Ok(Self(array))
    }
}

impl fmt::Display for Pubkey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&bs58::encode(self.0).into_string())
    }
}

impl fmt::Debug for Pubkey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pubkey({self})")
    }
}

/// Why a base58 address could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PubkeyParseError {
    /// The text is not base58.
    #[error("'{0}' is not base58: {1}")]
    NotBase58(String, String),
    /// The text decodes, but not to 32 bytes.
    #[error("'{0}' decodes to {1} bytes, a public key has 32")]
    WrongLength(String, usize),
    /// The text is longer than any 32 bytes in base58 (not decoded: decoding is quadratic).
    #[error("a base58 text of {0} characters: a public key has at most 44")]
    TooLong(usize),
}

/// The most base58 characters `bytes` bytes take (⌈bytes × log 256 ÷ log 58⌉, 44 for 32 and 88
/// for 64): a longer text cannot decode to that many, and is refused before its decoding,
/// which takes time quadratic in its length (a megabyte of it, minutes).
pub const fn base58_max_len(bytes: usize) -> usize {
    (bytes * 1366).div_ceil(1000)
}

/// One of the two execution domains of the chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum Domain {
    /// The Voting Execution Domain: vote accounts, their payers, the system and vote programs.
    #[serde(rename = "VED")]
    Ved,
    /// The User Execution Domain: everything else.
    #[serde(rename = "UED")]
    Ued,
}

impl Domain {
    /// Both domains, VED first.
    pub const ALL: [Domain; 2] = [Domain::Ved, Domain::Ued];

    /// The short name used by every interface: `"VED"` or `"UED"`.
    pub const fn name(self) -> &'static str {
        match self {
            Domain::Ved => "VED",
            Domain::Ued => "UED",
        }
    }

    /// The mapping of the accounts this domain may write.
    pub const fn writable_mapping(self) -> Mapping {
        match self {
            Domain::Ved => Mapping::RwVed,
            Domain::Ued => Mapping::RwUed,
        }
    }

    /// The other domain.
    pub const fn other(self) -> Domain {
        match self {
            Domain::Ved => Domain::Ued,
            Domain::Ued => Domain::Ved,
        }
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One value per execution domain, reached by [`Domain`] (never by a bare 0 or 1): each domain's
/// hash, LtHash, signature count, … .
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize)]
pub struct PerDomain<T> {
    /// The VED's value.
    pub ved: T,
    /// The UED's value.
    pub ued: T,
}

impl<T> PerDomain<T> {
    /// The VED's and the UED's values.
    pub const fn new(ved: T, ued: T) -> PerDomain<T> {
        PerDomain { ved, ued }
    }

    /// Each domain's value from `f`, VED first.
    pub fn from_fn(mut f: impl FnMut(Domain) -> T) -> PerDomain<T> {
        let ved = f(Domain::Ved);
        PerDomain {
            ved,
            ued: f(Domain::Ued),
        }
    }

    /// Each domain with its value, VED first.
    pub fn iter(&self) -> impl Iterator<Item = (Domain, &T)> {
        [(Domain::Ved, &self.ved), (Domain::Ued, &self.ued)].into_iter()
    }

    /// Each domain with its value, mutable, VED first.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (Domain, &mut T)> {
        [(Domain::Ved, &mut self.ved), (Domain::Ued, &mut self.ued)].into_iter()
    }

    /// Both values through `f`.
    pub fn map<U>(self, mut f: impl FnMut(T) -> U) -> PerDomain<U> {
        let ved = f(self.ved);
        PerDomain {
            ved,
            ued: f(self.ued),
        }
    }
}

impl<T> std::ops::Index<Domain> for PerDomain<T> {
    type Output = T;

    fn index(&self, domain: Domain) -> &T {
        match domain {
            Domain::Ved => &self.ved,
            Domain::Ued => &self.ued,
        }
    }
}

impl<T> std::ops::IndexMut<Domain> for PerDomain<T> {
    fn index_mut(&mut self, domain: Domain) -> &mut T {
        match domain {
            Domain::Ved => &mut self.ved,
            Domain::Ued => &mut self.ued,
        }
    }
}

/// `[VED, UED]`, so tests and tables can write the pair as an array.
impl<T: PartialEq> PartialEq<[T; 2]> for PerDomain<T> {
    fn eq(&self, [ved, ued]: &[T; 2]) -> bool {
        self.ved == *ved && self.ued == *ued
    }
}

/// An account's domain mapping: the one-byte tag ("VMID") every store page carries (SPEC §1).
///
/// | tag | mapping      | held by                 | VED          | UED          |
/// |-----|--------------|-------------------------|--------------|--------------|
/// | 1   | `RxUed`      | programs only           | —            | read, execute|
/// | 2   | `RxUedVed`   | programs only           | read, execute| read, execute|
/// | 3   | `RwVed`      | non-executable accounts | read, write  | —            |
/// | 4   | `RwUed`      | non-executable accounts | —            | read, write  |
///
/// Tag 0 means "free / not mapped" and is never a [`Mapping`]; any other value is invalid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[repr(u8)]
pub enum Mapping {
    /// Programs executable only in the UED.
    #[serde(rename = "rx-ued")]
    RxUed = 1,
    /// Programs executable in both domains (the builtins).
    #[serde(rename = "rx-ued-ved")]
    RxUedVed = 2,
    /// Non-executable accounts of the VED.
    #[serde(rename = "rw-ved")]
    RwVed = 3,
    /// Non-executable accounts of the UED; also the mapping of every account that does not exist.
    #[serde(rename = "rw-ued")]
    RwUed = 4,
}

/// A byte that is not one of the four mapping tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid mapping tag {0} (valid tags: 1 rx-ued, 2 rx-ued-ved, 3 rw-ved, 4 rw-ued)")]
pub struct InvalidMappingTag(pub u8);

impl Mapping {
    /// All four mappings, in tag order.
    pub const ALL: [Mapping; 4] = [
        Mapping::RxUed,
        Mapping::RxUedVed,
        Mapping::RwVed,
        Mapping::RwUed,
    ];

    /// The tag byte.
    pub const fn tag(self) -> u8 {
        self as u8
    }

    /// Reads a tag byte; 0 ("free") and values above 4 are errors.
    pub const fn from_tag(tag: u8) -> Result<Self, InvalidMappingTag> {
        match tag {
            1 => Ok(Mapping::RxUed),
            2 => Ok(Mapping::RxUedVed),
            3 => Ok(Mapping::RwVed),
            4 => Ok(Mapping::RwUed),
            other => Err(InvalidMappingTag(other)),
        }
    }

    /// The name used in genesis files and reports: `rx-ued`, `rx-ued-ved`, `rw-ved`, `rw-ued`.
    pub const fn name(self) -> &'static str {
        match self {
            Mapping::RxUed => "rx-ued",
            Mapping::RxUedVed => "rx-ued-ved",
            Mapping::RwVed => "rw-ved",
            Mapping::RwUed => "rw-ued",
        }
    }

    /// Parses the name of [`Mapping::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        Mapping::ALL.into_iter().find(|m| m.name() == name)
    }

    /// Whether this mapping holds programs (executable accounts) rather than data accounts.
    pub const fn is_program_mapping(self) -> bool {
        matches!(self, Mapping::RxUed | Mapping::RxUedVed)
    }

    /// Whether `domain` may read (and, for programs, execute) accounts of this mapping.
    pub const fn readable_by(self, domain: Domain) -> bool {
        matches!(
            (self, domain),
            (Mapping::RxUedVed, _)
                | (Mapping::RxUed, Domain::Ued)
                | (Mapping::RwVed, Domain::Ved)
                | (Mapping::RwUed, Domain::Ued)
        )
    }

    /// Whether `domain` may write accounts of this mapping.
    pub const fn writable_by(self, domain: Domain) -> bool {
        matches!(
            (self, domain),
            (Mapping::RwVed, Domain::Ved) | (Mapping::RwUed, Domain::Ued)
        )
    }

    /// Whether an account with this `executable` flag may hold this mapping: programs only in the
    /// RX mappings, non-executable accounts only in the RW mappings.
    pub const fn admits(self, executable: bool) -> bool {
        self.is_program_mapping() == executable
    }
}

impl fmt::Display for Mapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A whole account (SPEC §1), owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// Its address.
    pub pubkey: Pubkey,
    /// Its balance.
    pub lamports: u64,
    /// The program that owns it.
    pub owner: Pubkey,
    /// Whether it is a program.
    pub executable: bool,
    /// Its data, at most [`MAX_ACCOUNT_DATA_LEN`] bytes.
    pub data: Vec<u8>,
    /// Its domain mapping.
    pub mapping: Mapping,
}

/// A filter of keys by their first two bytes: 65,536 bits (8 KiB, which the L1 cache holds).
/// [`KeyPrefixFilter::may_hold`] never turns away a key that was added, and turns away most
/// keys that were not without hashing them: a set's quick "no" where most keys asked are not
/// in it. A key that shares an added key's first two bytes passes (a leader can choose such
/// keys: then the set behind the filter answers each one, as without it). Bits are never
/// cleared: a key that left its set still passes.
#[derive(Clone, Debug)]
pub struct KeyPrefixFilter {
    /// Bit `b` set where some added key's first two bytes (little-endian) are `b`.
    bits: Box<[u64]>,
}

impl KeyPrefixFilter {
    /// Bits of the filter: one per value of a key's first two bytes.
    const BITS: usize = 1 << 16;

    /// A filter that holds no key.
    pub fn new() -> KeyPrefixFilter {
        KeyPrefixFilter {
            bits: vec![0u64; Self::BITS / 64].into_boxed_slice(),
        }
    }

    /// Lets `key` (and every key with its first two bytes) pass.
    #[inline]
    pub fn add(&mut self, key: &Pubkey) {
        let bit = Self::bit(key);
        self.bits[bit / 64] |= 1 << (bit % 64);
    }

    /// `false` when no key added has `key`'s first two bytes (so `key` was not added).
    #[inline]
    pub fn may_hold(&self, key: &Pubkey) -> bool {
        let bit = Self::bit(key);
        self.bits[bit / 64] >> (bit % 64) & 1 == 1
    }

    /// A key's bit: its first two bytes.
    #[inline]
    fn bit(key: &Pubkey) -> usize {
        usize::from(u16::from_le_bytes([key.0[0], key.0[1]]))
    }
}

impl Default for KeyPrefixFilter {
    fn default() -> Self {
        KeyPrefixFilter::new()
    }
}

impl<'k> FromIterator<&'k Pubkey> for KeyPrefixFilter {
    fn from_iter<I: IntoIterator<Item = &'k Pubkey>>(keys: I) -> Self {
        let mut filter = KeyPrefixFilter::new();
        for key in keys {
            filter.add(key);
        }
        filter
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base58_longer_than_any_key_is_refused_before_it_is_decoded() {
        // The longest encodings there are fit the bound exactly.
        assert_eq!(
            bs58::encode([0xff; 32]).into_string().len(),
            base58_max_len(32)
        );
        assert_eq!(
            bs58::encode([0xff; 64]).into_string().len(),
            base58_max_len(64)
        );
        let key = bs58::encode([0xff; 32]).into_string();
        assert_eq!(Pubkey::from_base58(&key), Ok(Pubkey([0xff; 32])));
        // A megabyte of it took minutes to decode (quadratic), and the error repeated it.
        let long = "2".repeat(1 << 20);
        let e = Pubkey::from_base58(&long).unwrap_err();
        assert_eq!(e, PubkeyParseError::TooLong(1 << 20));
        assert!(e.to_string().len() < 100, "{e}");
    }

    #[test]
    fn per_domain_is_reached_by_domain_and_compares_as_ved_ued() {
        let mut counts = PerDomain::from_fn(|d| if d == Domain::Ved { 1_u64 } else { 2 });
        counts[Domain::Ued] += 5;
        assert_eq!(counts, [1, 7]);
        assert_ne!(counts, [7, 1]);
        assert_eq!(counts.map(|c| c * 2), PerDomain::new(2, 14));
        let seen: Vec<_> = counts.iter().map(|(d, c)| (d, *c)).collect();
        assert_eq!(seen, [(Domain::Ved, 1), (Domain::Ued, 7)]);
    }

    #[test]
    fn access_table_matches_spec_section_1() {
        use Domain::*;
        use Mapping::*;
        let expect = [
            (RxUed, Ved, false, false),
            (RxUed, Ued, true, false),
            (RxUedVed, Ved, true, false),
            (RxUedVed, Ued, true, false),
            (RwVed, Ved, true, true),
            (RwVed, Ued, false, false),
            (RwUed, Ved, false, false),
            (RwUed, Ued, true, true),
        ];
        for (m, d, read, write) in expect {
            assert_eq!(m.readable_by(d), read, "{m} read by {d}");
            assert_eq!(m.writable_by(d), write, "{m} written by {d}");
        }
        assert!(RxUed.admits(true) && !RxUed.admits(false));
        assert!(RwVed.admits(false) && !RwVed.admits(true));
    }

    #[test]
    fn tags_round_trip_and_invalid_tags_are_rejected() {
        for m in Mapping::ALL {
            assert_eq!(Mapping::from_tag(m.tag()), Ok(m));
            assert_eq!(Mapping::from_name(m.name()), Some(m));
        }
        for bad in [0u8, 5, 6, 0x80, 0xff] {
            assert_eq!(Mapping::from_tag(bad), Err(InvalidMappingTag(bad)));
        }
    }

    #[test]
    fn pubkey_base58_round_trip_and_errors() {
        let system = Pubkey::from_base58("11111111111111111111111111111111").unwrap();
        assert_eq!(system, Pubkey([0; 32]));
        assert_eq!(system.to_string(), "11111111111111111111111111111111");
        assert!(matches!(
            Pubkey::from_base58("0OIl"),
            Err(PubkeyParseError::NotBase58(..))
        ));
        assert!(matches!(
            Pubkey::from_base58("111"),
            Err(PubkeyParseError::WrongLength(_, 3))
        ));
    }
}
