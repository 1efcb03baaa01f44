//! What the queues between the later stages carry: the VED's blocks with their check 1 answers
//! ([`VedJob`]), the user signatures' answers ([`UedSigs`]), the VED's executed slots and its
//! boundary requests to the UED ([`UedJob`], [`BoundaryDone`]) and account reads
//! ([`AccountRead`]). Every queue is a bounded crossbeam channel ([`super::Engine`]'s `start`).

use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::Sender;

use super::ingest::Ingested;
use crate::account::{Account, Pubkey};
use crate::cluster::VoteReport;
use crate::runtime::executor::{VedExecutor, VedSlot};

pub(super) struct VedJob {
    pub(super) ingested: Arc<Ingested>,
    /// Check 1's answers for the transactions guessed VED.
    pub(super) verified: Vec<Option<bool>>,
    /// When the VED's sigverify stage handed them on (a step of the vote's path).
    pub(super) verified_at: Instant,
}

pub(super) struct UedSigs {
    pub(super) slot: u64,
    /// Check 1's answers for the transactions guessed UED.
    pub(super) verified: Vec<Option<bool>>,
}

/// A read of one account from the UED's committed state
/// ([`Engine::account`](super::Engine::account)).
pub(super) struct AccountRead {
    pub(super) pubkey: Pubkey,
    pub(super) reply: Sender<(u64, Option<Account>)>,
}

/// The UED's answer to a block that crossed an epoch boundary: a fresh VED executor, the
/// block's VED hash and the votes it executed in the VED.
pub(super) struct BoundaryDone {
    pub(super) executor: VedExecutor,
    pub(super) ved_hash: [u8; 32],
    pub(super) votes: Vec<VoteReport>,
}

pub(super) enum UedJob {
    /// A block the VED executed.
    Slot {
        ingested: Arc<Ingested>,
        ved: Box<VedSlot>,
    },
    /// A block that crosses an epoch boundary: the UED executes it whole and answers with a
    /// fresh VED executor.
    Boundary {
        ingested: Arc<Ingested>,
        verified: Vec<Option<bool>>,
        reply: Sender<Result<BoundaryDone, String>>,
    },
}
