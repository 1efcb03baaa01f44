//! The statuses of SPEC §2: what became of a transaction in its domain.

use std::fmt;

/// The status a transaction ends with, named exactly as SPEC §2 names it (every interface
/// reports these strings: [`TxStatus::name`] and `Display`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TxStatus {
    /// Check 1: a signature is not valid.
    InvalidSignature,
    /// Check 2: the fee payer is a program (a first account key that is not a writable signer
    /// makes the transaction, and so its block, malformed: it gets no status).
    InvalidFeePayer,
    /// Check 3: the recent blockhash is not among the last 150 blocks'.
    BlockhashNotFound,
    /// Check 4: the first signature was seen in the last 150 blocks (this one included), in
    /// either domain: the duplicate window is one for both.
    DuplicateSignature,
    /// Check 5: the payer cannot pay the fee.
    InsufficientFundsForFee,
    /// Check 6: an account is not readable by the payer's domain (a mixed transaction).
    DomainViolation,
    /// Check 7: a program is marked writable.
    WritableProgram,
    /// Check 8: an account it writes is frozen for a remap (SPEC §5).
    AccountFrozenForRemap,
    /// Check 9: the message uses address-table lookups.
    UnsupportedAddressLookup,
    /// Check 10: every instruction succeeded.
    Success,
    /// Check 10: an instruction failed with the builtin program's own code; all instruction
    /// effects were undone, the fee kept.
    ProgramError(u32),
}

impl TxStatus {
    /// Whether a transaction with this status entered its first signature into the
    /// duplicate-signature window in its block: it passed checks 1–3 (SPEC §2), whatever
    /// happened to it next — except a duplicate (check 4), whose signature the window already
    /// held, from an earlier block.
    pub const fn entered_window(self) -> bool {
        !matches!(
            self,
            TxStatus::InvalidSignature
                | TxStatus::InvalidFeePayer
                | TxStatus::BlockhashNotFound
                | TxStatus::DuplicateSignature
        )
    }

    /// Whether its signatures were valid (it passed check 1): a valid signature binds its
    /// message, so any other transaction carrying it is the same transaction (refused the same
    /// way where this one did not enter the window) or a forgery (`InvalidSignature`).
    pub const fn signature_valid(self) -> bool {
        !matches!(self, TxStatus::InvalidSignature)
    }

    /// Whether the fee was charged (the transaction passed check 5): it then counts in
    /// `sig_count_D`. `AccountFrozenForRemap` is both check 5's status (a frozen payer: no fee)
    /// and check 8's (a frozen account written: fee charged); this answers for check 8.
    pub const fn fee_charged(self) -> bool {
        self.entered_window() && !matches!(self, TxStatus::InsufficientFundsForFee)
    }

    /// Whether the status is decided before the payer's domain is known (checks 1 and 2): such
    /// a transaction has no domain.
    pub const fn has_domain(self) -> bool {
        !matches!(self, TxStatus::InvalidSignature | TxStatus::InvalidFeePayer)
    }

    /// The name of SPEC §2, `ProgramError(code)` with its code.
    pub fn name(self) -> String {
        self.to_string()
    }

    /// The status as a tag byte and, for `ProgramError`, its code (0 otherwise): the encoding
    /// of the VED log and the status index, and the numbers of `tandem_tx_status.status` in the
    /// C ABI (SPEC §8).
    pub fn to_tag(self) -> (u8, u32) {
        match self {
            TxStatus::InvalidSignature => (1, 0),
            TxStatus::InvalidFeePayer => (2, 0),
            TxStatus::BlockhashNotFound => (3, 0),
            TxStatus::DuplicateSignature => (4, 0),
            TxStatus::InsufficientFundsForFee => (5, 0),
            TxStatus::DomainViolation => (6, 0),
            TxStatus::WritableProgram => (7, 0),
            TxStatus::AccountFrozenForRemap => (8, 0),
            TxStatus::UnsupportedAddressLookup => (9, 0),
            TxStatus::Success => (10, 0),
            TxStatus::ProgramError(code) => (11, code),
        }
    }

    /// The status [`TxStatus::to_tag`] encoded.
    pub fn from_tag(tag: u8, code: u32) -> Result<TxStatus, String> {
        Ok(match tag {
            1 => TxStatus::InvalidSignature,
            2 => TxStatus::InvalidFeePayer,
            3 => TxStatus::BlockhashNotFound,
            4 => TxStatus::DuplicateSignature,
            5 => TxStatus::InsufficientFundsForFee,
            6 => TxStatus::DomainViolation,
            7 => TxStatus::WritableProgram,
            8 => TxStatus::AccountFrozenForRemap,
            9 => TxStatus::UnsupportedAddressLookup,
            10 => TxStatus::Success,
            11 => TxStatus::ProgramError(code),
            other => return Err(format!("unknown status tag {other}")),
        })
    }
}

impl fmt::Display for TxStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            TxStatus::InvalidSignature => "InvalidSignature",
            TxStatus::InvalidFeePayer => "InvalidFeePayer",
            TxStatus::BlockhashNotFound => "BlockhashNotFound",
            TxStatus::DuplicateSignature => "DuplicateSignature",
            TxStatus::InsufficientFundsForFee => "InsufficientFundsForFee",
            TxStatus::DomainViolation => "DomainViolation",
            TxStatus::WritableProgram => "WritableProgram",
            TxStatus::AccountFrozenForRemap => "AccountFrozenForRemap",
            TxStatus::UnsupportedAddressLookup => "UnsupportedAddressLookup",
            TxStatus::Success => "Success",
            TxStatus::ProgramError(code) => return write!(f, "ProgramError({code})"),
        };
        f.write_str(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_spec_section_2s() {
        assert_eq!(TxStatus::ProgramError(1).name(), "ProgramError(1)");
        assert_eq!(
            TxStatus::AccountFrozenForRemap.name(),
            "AccountFrozenForRemap"
        );
        assert!(!TxStatus::InsufficientFundsForFee.fee_charged());
        assert!(TxStatus::DomainViolation.fee_charged());
        assert!(!TxStatus::InvalidFeePayer.has_domain());
        assert!(TxStatus::BlockhashNotFound.has_domain());
    }
}
