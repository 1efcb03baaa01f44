//! The fast path of the verdict on a block's transactions: whether [`Transaction::parse`] accepts
//! a transaction, and its fee payer, in one walk over the bytes that builds nothing.
//!
//! A block is refused whole when one of its transactions does not parse (SPEC §2), so ingest
//! answers this question for every transaction of every block before the VED may vote on it —
//! beside the votes' signature checks, on the same cores. [`Transaction::parse`] is the
//! reference: it builds the [`super::Message`] (its instruction list allocated) and names what is
//! wrong; this check only says yes or no, and where it says no the caller asks the parse for the
//! error. Its cursor is the parse's [`super::reader`] without the field and offset each read
//! carries for an error. The tests hold the two to the same answer on three shapes (legacy with
//! one signer, legacy with two signers and three instructions, v0 with a lookup), on every
//! truncation and single-byte damage of them and on random damage in several places, and at
//! each limit (the packet size, the account keys a message may address, an empty lookup, a
//! duplicate key); the `tx_decode` fuzz target does on any bytes.
//!
//! One rule is checked another way than by comparing every pair: no account key twice. A
//! leader can fill a block with transactions of 34 distinct keys (561 pairs each), which made
//! the check cost what the parse does (~0.8 µs each: 15–18 ms for a block of 21,000 on this
//! project's Zen 4 guest). [`has_duplicate_key`] puts the keys of a message with eight or more
//! into a small table by a hash keyed once per process, and compares a key only with those of
//! the same hash: the same block 5 ms (README). The parse's sanitize asks it too, and searches
//! pair by pair only a message that breaks the rule, for the places its error names.

use super::{
    MAX_ACCOUNT_KEYS, PACKET_DATA_SIZE, SIGNATURE_LEN, Transaction, VERSION_PREFIX, compact_u16,
};
use crate::Pubkey;
use bytemuck::TransparentWrapper;
use std::hash::BuildHasher;
use std::sync::LazyLock;

/// The unread bytes; every read answers `None` where they do not reach.
struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    #[inline(always)]
    fn take(&mut self, len: usize) -> Option<&'a [u8]> {
        let (taken, rest) = self.rest.split_at_checked(len)?;
        self.rest = rest;
        Some(taken)
    }

    #[inline(always)]
    fn byte(&mut self) -> Option<u8> {
        let (&byte, rest) = self.rest.split_first()?;
        self.rest = rest;
        Some(byte)
    }

    #[inline(always)]
    fn compact_u16(&mut self) -> Option<usize> {
        let (value, len) = compact_u16::decode(self.rest).ok()?;
        self.rest = &self.rest[len..];
        Some(usize::from(value))
    }

    #[inline(always)]
    fn short_vec(&mut self) -> Option<&'a [u8]> {
        let len = self.compact_u16()?;
        self.take(len)
    }
}

impl Transaction<'_> {
    /// The fee payer of the transaction `wire` where [`Transaction::parse`] accepts it (decode
    /// and sanitize), `None` where it refuses it — the parse says why. The same answer as
    /// `Transaction::parse(wire).ok().and_then(|tx| tx.message().fee_payer().ok())`, several
    /// times faster:
    /// nothing is built, and each rule of the sanitize is checked as the bytes go by.
    pub fn checked_fee_payer(wire: &[u8]) -> Option<&Pubkey> {
        if wire.len() > PACKET_DATA_SIZE {
            return None;
        }
        let mut at = Cursor { rest: wire };
        let signatures = at.compact_u16()?;
        at.take(signatures * SIGNATURE_LEN)?;

        // The message: its header (after the version byte of a v0 one), keys and blockhash.
        let (v0, required) = match at.byte()? {
            VERSION_PREFIX => (true, at.byte()?),
            versioned if versioned & VERSION_PREFIX != 0 => return None,
            legacy => (false, legacy),
        };
        let readonly_signed = at.byte()?;
        let readonly_unsigned = at.byte()?;
        let key_count = at.compact_u16()?;
        let keys = at.take(key_count * 32)?.as_chunks::<32>().0;
        at.take(32)?;

        // The instructions: each program a static key other than the payer's; the highest
        // account index kept for the range check once the lookups are counted.
        let mut programs_in_range = true;
        let mut highest_account = None;
        for _ in 0..at.compact_u16()? {
            let program = usize::from(at.byte()?);
            let accounts = at.short_vec()?;
            at.short_vec()?;
            programs_in_range &= program != 0 && program < key_count;
            highest_account = highest_account.max(accounts.iter().max().copied());
        }
        let mut loaded = 0;
        if v0 {
            for _ in 0..at.compact_u16()? {
                at.take(32)?;
                let writable = at.short_vec()?.len();
                let readonly = at.short_vec()?.len();
                if writable + readonly == 0 {
                    return None;
                }
                loaded += writable + readonly;
            }
        }
        if !at.rest.is_empty() {
            return None;
        }

        // The sanitize's rules (`Message::sanitize`, then the signature count).
        let all_keys = key_count + loaded;
        let sanitized = usize::from(required) + usize::from(readonly_unsigned) <= key_count
            && readonly_signed < required
            && all_keys <= MAX_ACCOUNT_KEYS
            && programs_in_range
            && highest_account.is_none_or(|index| usize::from(index) < all_keys)
            && signatures == usize::from(required)
            && !has_duplicate_key(keys);
        // A sanitized message has a writable signer first: the fee payer.
        keys.first().filter(|_| sanitized).map(Pubkey::wrap_ref)
    }
}

/// Four words drawn once per process (from std's `RandomState`, which the OS seeds) that key
/// [`key_hash`], so that whoever sends transactions does not know which keys collide. The hash
/// promises no more than foldhash does (it is its construction); a collision costs time, never
/// a wrong answer.
static KEY_SEED: LazyLock<[u64; 4]> = LazyLock::new(|| {
    let random = std::hash::RandomState::new();
    [0u64, 1, 2, 3].map(|i| random.hash_one(i))
});

/// A key's hash: two folded multiplications of its words with the seed (foldhash's
/// construction, without the hasher's per-write steps).
#[inline]
fn key_hash(key: &[u8; 32], seed: &[u64; 4]) -> u64 {
    let (words, _) = key.as_chunks::<8>();
    let word = |i: usize| u64::from_le_bytes(words[i]) ^ seed[i];
    let folded = |a: u64, b: u64| {
        let product = u128::from(a) * u128::from(b);
        (product as u64) ^ ((product >> 64) as u64)
    };
    folded(word(0), word(1)) ^ folded(word(2), word(3)).rotate_left(23)
}

/// Slots of [`has_duplicate_key`]'s table: at least twice the keys a packet can hold (38), a
/// power of two (a key's first slot is the top bits of its hash).
const KEY_SLOTS: usize = 128;
const _: () = assert!(KEY_SLOTS.is_power_of_two() && KEY_SLOTS / 2 <= u8::MAX as usize);

/// Whether two of `keys` are equal: the sanitize's rule (its reference is comparing every pair,
/// as the tests do). A message of 34 keys has 561 pairs, and a
/// leader can fill a block with such transactions, so here each key goes into a small
/// open-addressed table by a keyed hash and is compared only with the keys whose hash equals
/// its own: about n steps instead of n²/2 key comparisons (measured in the README). Keys that
/// did collide would cost the pairwise comparisons again, never a wrong answer.
pub(super) fn has_duplicate_key(keys: &[[u8; 32]]) -> bool {
    if keys.len() < 8 || keys.len() > KEY_SLOTS / 2 {
        return (1..keys.len()).any(|second| keys[..second].contains(&keys[second]));
    }
    let mut hashes = [0u64; KEY_SLOTS / 2];
    // Each slot holds 1 + the index of the key in it; 0 is empty.
    let mut slots = [0u8; KEY_SLOTS];
    let seed = &*KEY_SEED;
    for (i, key) in keys.iter().enumerate() {
        let hash = key_hash(key, seed);
        hashes[i] = hash;
        let mut slot = (hash >> (64 - KEY_SLOTS.trailing_zeros())) as usize; // 0..KEY_SLOTS
        loop {
            match usize::from(slots[slot]) {
                0 => break,
                taken if hashes[taken - 1] == hash && keys[taken - 1] == *key => return true,
                _ => slot = (slot + 1) % KEY_SLOTS,
            }
        }
        slots[slot] = u8::try_from(i + 1).expect("at most KEY_SLOTS / 2 keys");
    }
    false
}

#[cfg(test)]
mod tests {
    use super::super::{AccountMeta, AddressLookupTable, MessageBuilder};
    use super::*;

    /// `Transaction::parse`'s answer to the same question.
    fn parsed(wire: &[u8]) -> Option<Pubkey> {
        let tx = Transaction::parse(wire).ok()?;
        Some(
            *tx.message()
                .fee_payer()
                .expect("a sanitized message has a payer"),
        )
    }

    #[test]
    fn the_duplicate_test_answers_as_comparing_every_pair() {
        let pairwise = |keys: &[[u8; 32]]| {
            (1..keys.len()).any(|second| keys[..second].contains(&keys[second]))
        };
        // Keys that differ in one byte only (what a leader can send), and keys of scattered
        // bytes (whose places in the table collide), 1 to 70 of them, with no duplicate and
        // with each pair made equal.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut scattered = || {
            let mut key = [0u8; 32];
            for word in key.chunks_mut(8) {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1);
                word.copy_from_slice(&(state ^ state >> 29).to_le_bytes());
            }
            key
        };
        let families: Vec<Vec<[u8; 32]>> = vec![
            (0..70u8)
                .map(|i| {
                    let mut key = [0xAB; 32];
                    key[31] = i;
                    key
                })
                .collect(),
            (0..70).map(|_| scattered()).collect(),
        ];
        for (family, n) in families
            .iter()
            .flat_map(|f| (1..=70usize).map(move |n| (f, n)))
        {
            let keys = &family[..n];
            assert!(!has_duplicate_key(keys), "{n} distinct keys");
            for first in 0..n {
                for second in first + 1..n {
                    let mut twice = keys.to_vec();
                    twice[second] = twice[first];
                    assert_eq!(has_duplicate_key(&twice), pairwise(&twice));
                    assert!(has_duplicate_key(&twice), "{n} keys, {first} = {second}");
                }
            }
        }
    }

    fn key(n: u8) -> Pubkey {
        Pubkey([n; 32])
    }

    /// Transactions of every shape the builder makes: legacy and v0, one or more signers and
    /// instructions, read-only keys, lookups, empty and long data.
    fn shapes() -> Vec<Vec<u8>> {
        let assemble = |message: Vec<u8>, signers: usize| {
            Transaction::assemble(&vec![[7u8; 64]; signers], &message)
        };
        let mut wires = Vec::new();
        let transfer = MessageBuilder::new(key(1))
            .instruction(
                key(9),
                &[
                    AccountMeta::new(key(1), true),
                    AccountMeta::new(key(2), false),
                ],
                &[2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0],
            )
            .build_legacy([3; 32])
            .expect("builds");
        wires.push(assemble(transfer, 1));
        let many = MessageBuilder::new(key(1))
            .instruction(
                key(9),
                &[
                    AccountMeta::new(key(1), true),
                    AccountMeta::new_readonly(key(4), true),
                    AccountMeta::new_readonly(key(5), false),
                    AccountMeta::new(key(6), false),
                ],
                &[],
            )
            .instruction(
                key(10),
                &[AccountMeta::new_readonly(key(5), false)],
                &[1; 300],
            )
            .instruction(key(9), &[], &[0])
            .build_legacy([3; 32])
            .expect("builds");
        wires.push(assemble(many, 2));
        let table = AddressLookupTable {
            key: key(20),
            addresses: vec![key(21), key(22), key(23)],
        };
        let v0 = MessageBuilder::new(key(1))
            .instruction(
                key(9),
                &[
                    AccountMeta::new(key(1), true),
                    AccountMeta::new(key(21), false),
                    AccountMeta::new_readonly(key(23), false),
                ],
                &[5; 10],
            )
            .build_v0([3; 32], &[table])
            .expect("builds");
        wires.push(assemble(v0, 1));
        wires
    }

    #[test]
    fn it_answers_as_the_parse_does_on_valid_transactions_and_every_damage_to_them() {
        let mut cases = 0;
        let mut refused = 0;
        for wire in shapes() {
            assert!(parsed(&wire).is_some(), "the shapes parse");
            let mut check = |bytes: &[u8]| {
                let want = parsed(bytes);
                assert_eq!(
                    Transaction::checked_fee_payer(bytes).copied(),
                    want,
                    "{bytes:?}"
                );
                cases += 1;
                refused += usize::from(want.is_none());
            };
            check(&wire);
            // Every truncation, and a byte too many.
            for len in 0..wire.len() {
                check(&wire[..len]);
            }
            check(&[&wire[..], &[0]].concat());
            // Every byte replaced by values that change counts, flags and indices.
            for at in 0..wire.len() {
                for value in [0u8, 1, 2, 3, 0x7f, 0x80, 0x81, 0xff, wire[at] ^ 1] {
                    let mut damaged = wire.clone();
                    damaged[at] = value;
                    check(&damaged);
                }
            }
        }
        // Both answers were met many times (a check that refused everything would fail above,
        // one that accepted everything too).
        assert!(
            refused > 1_000 && cases - refused > 100,
            "{refused} of {cases} refused"
        );
    }

    #[test]
    fn it_answers_as_the_parse_does_on_transactions_damaged_in_several_places() {
        // xorshift64*: the same damage on every run.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |below: usize| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % below
        };
        let shapes = shapes();
        for _ in 0..CASES {
            let mut wire = shapes[next(shapes.len())].clone();
            for _ in 0..1 + next(4) {
                let at = next(wire.len());
                match next(4) {
                    0 => wire[at] = next(256) as u8,
                    1 => wire[at] = [0, 1, 2, 0x7f, 0x80, 0xff][next(6)],
                    2 => wire.insert(at, next(256) as u8),
                    _ => drop(wire.remove(at)),
                }
            }
            assert_eq!(
                Transaction::checked_fee_payer(&wire).copied(),
                parsed(&wire),
                "{wire:?}"
            );
        }
    }

    /// Damaged transactions per run of the test above.
    const CASES: usize = 50_000;

    #[test]
    fn at_the_packet_size_and_the_account_key_limit_it_answers_as_the_parse_does() {
        // A message whose instruction data makes the wire 1,232 bytes (accepted), and the
        // same with one byte more of data (1,233: refused, though well formed).
        let with_data = |data: usize| {
            let message = MessageBuilder::new(key(1))
                .instruction(key(9), &[AccountMeta::new(key(1), true)], &vec![0; data])
                .build_legacy([3; 32])
                .expect("builds");
            Transaction::assemble(&[[7; 64]], &message)
        };
        let data = (0..PACKET_DATA_SIZE)
            .find(|&data| with_data(data).len() == PACKET_DATA_SIZE)
            .expect("a data length makes it");
        let largest = with_data(data);
        // The data comes last in a legacy message, after its compact-u16 length (two bytes).
        assert!((128..16_383).contains(&data));
        let mut longer = largest[..largest.len() - data - 2].to_vec();
        compact_u16::encode(u16::try_from(data + 1).expect("small"), &mut longer);
        longer.resize(longer.len() + data + 1, 0);
        assert_eq!(longer.len(), PACKET_DATA_SIZE + 1);
        for (wire, accepted) in [(largest, true), (longer, false)] {
            assert_eq!(parsed(&wire).is_some(), accepted, "{} bytes", wire.len());
            assert_eq!(
                Transaction::checked_fee_payer(&wire).copied(),
                parsed(&wire)
            );
        }

        // A v0 message addressing 256 keys (the payer, the program and 254 loaded), then 257.
        let loaded: Vec<Pubkey> = (0..254u8)
            .map(|n| {
                Pubkey([
                    n, 200, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
                    21, 22, 23, 24, 25, 26, 27, 28, 29, 30,
                ])
            })
            .collect();
        let accounts: Vec<AccountMeta> =
            loaded.iter().map(|&k| AccountMeta::new(k, false)).collect();
        let table = AddressLookupTable {
            key: key(20),
            addresses: loaded,
        };
        let message = MessageBuilder::new(key(1))
            .instruction(key(9), &accounts, &[])
            .build_v0([3; 32], &[table])
            .expect("builds");
        let at_limit = Transaction::assemble(&[[7; 64]], &message);
        assert_eq!(parsed(&at_limit), Some(key(1)));
        assert_eq!(Transaction::checked_fee_payer(&at_limit), Some(&key(1)));
        // Every address loaded writable: the lookup ends with its read-only count, 0; one
        // read-only address more makes 257.
        assert_eq!(message.last(), Some(&0));
        let over = [&message[..message.len() - 1], &[1, 0]].concat();
        let over = Transaction::assemble(&[[7; 64]], &over);
        assert_eq!(parsed(&over), None);
        assert_eq!(Transaction::checked_fee_payer(&over), None);
    }

    #[test]
    fn a_duplicate_key_an_empty_lookup_or_an_oversized_wire_is_refused_as_by_the_parse() {
        let message = MessageBuilder::new(key(1))
            .instruction(
                key(9),
                &[
                    AccountMeta::new(key(1), true),
                    AccountMeta::new(key(2), false),
                ],
                &[],
            )
            .build_legacy([3; 32])
            .expect("builds");
        let wire = Transaction::assemble(&[[7; 64]], &message);
        // Key 2 (at its offset after the signature, header and key count) made key 1's twin.
        let keys_at = 1 + 64 + 3 + 1;
        let mut twin = wire.clone();
        twin.copy_within(keys_at..keys_at + 32, keys_at + 32);
        assert_eq!(parsed(&twin), None);
        assert_eq!(Transaction::checked_fee_payer(&twin), None);
        // The same message as v0, with no lookup, and with a lookup that loads nothing.
        let v0 = |lookups: &[u8]| {
            let message = [&[VERSION_PREFIX][..], &message, lookups].concat();
            Transaction::assemble(&[[7; 64]], &message)
        };
        let empty_lookup = [&[1][..], &[20; 32], &[0, 0]].concat();
        assert_eq!(parsed(&v0(&[0])), Some(key(1)));
        assert_eq!(Transaction::checked_fee_payer(&v0(&[0])), Some(&key(1)));
        assert_eq!(parsed(&v0(&empty_lookup)), None);
        assert_eq!(Transaction::checked_fee_payer(&v0(&empty_lookup)), None);
        let mut long = wire.clone();
        long.resize(PACKET_DATA_SIZE + 1, 0);
        assert_eq!(Transaction::checked_fee_payer(&long), None);
        assert_eq!(Transaction::checked_fee_payer(&wire), Some(&key(1)));
    }
}
