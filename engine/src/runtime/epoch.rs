//! Epoch boundaries (SPEC §5): rewards, operator slashes, remaps and VED membership.
//!
//! Entering epoch `X` (before the first block of `X` executes; a block crosses at most one
//! boundary, SPEC §4), the runtime
//!
//! 1. credits every vote account that was in the VED state during `X − 1`
//!    ([`RuntimeState::ved_members`], as computed at the boundary into `X − 1`) with
//!    `stake × epoch_reward_rate` (rounded down to whole lamports), before this boundary's moves,
//!    so a vote account leaving the VED takes its last reward with it; no other vote account is
//!    credited — not one that is only mapped RW-VED (made there, or moved there by a remap);
//! 2. moves the accounts due at the first slot of `X` into their new mapping, with the state they
//!    had at the end of `X − 1` (the freeze through `X − 1` is total: nothing, not even a fee,
//!    changed them), and unfreezes them;
//! 3. applies the operator slashes scheduled since the last boundary, after the moves, to any
//!    vote account in whichever domain it now is: `stake × bps / 10,000` leaves its stake and its
//!    balance (burned) — last of all, after step 5 (SPEC §5 computes the membership from the
//!    state at the end of `X − 1`, which a slash applied at the boundary is not part of: a
//!    slash below the threshold takes a vote account out at the next computation);
//! 4. turns the `RemapDomain` requests of epoch `X − 1` into freezes for `X` and moves at the
//!    first slot of `X + 1` — those of accounts that still hold lamports and are still system-
//!    or vote-owned at the end of `X − 1` (a request whose account was given another owner
//!    since lapses: SPEC §3 moves only accounts whose owner runs in the target domain);
//! 5. computes the VED state of `X + 1` from the state at the end of `X − 1` (its stakes and
//!    activations; the rewards and moves of steps 1–2 change neither): a vote account
//!    belongs when it is active and its stake exceeds 5,000 SOL; its authorized voter and fee
//!    payer come with it. Every account whose membership changes is frozen for `X` and moves at
//!    the first slot of `X + 1`:
//!    - an eligible vote account, its voter and its payer join the VED where any of them is
//!      not (or would not be, after a remap of step 4) in it — membership outweighs the remap;
//!      a voter or payer that is a program (nothing stops a vote account from naming one)
//!      stays where it is: SPEC §1 maps programs RX only, and moving one would make a state
//!      no store can hold;
//!    - an ineligible vote account in the VED state of `X` leaves it, with its voter and payer;
//!      one that was not in it (a vote account made inside the VED) changes nothing, and takes
//!      no one out — the VED state is the computations', not the mappings'
//!      ([`RuntimeState::ved_members_next`]);
//!    - an ineligible vote account that asked to move into the VED (step 4) stays out, alone:
//!      it never was in the VED state, so its voter and payer do not leave with it;
//!    - but nothing that an eligible vote account is, or uses as voter or payer, ever leaves
//!      (so a vote account can be another's voter or payer and stay for it).

use std::collections::{BTreeMap, BTreeSet};

use super::RuntimeError;
use super::builtins::owner_may_move;
use super::builtins::vote::VoteState;
use super::pass::{AccountSource, Overlay, Writer};
use super::state::RuntimeState;
use crate::account::{Mapping, Pubkey};
use crate::genesis::{ClusterParams, ved_eligible};

/// What a boundary decided that tells whether the VED could have crossed it without the UED's
/// state (see [`crate::runtime::executor`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EpochEntry {
    /// Accounts of the VED — vote accounts, their voters and fee payers — scheduled to leave it
    /// by membership (step 5). Each leaves only if no vote account staying in, or joining, the
    /// VED is it or uses it — and the UED's vote accounts are the UED's state: over the VED's
    /// accounts alone these are every one that might leave, and the VED's freezes are those of
    /// the joined state when no vote account of the UED eligible at the end of the epoch names
    /// any of them.
    pub members_leaving: BTreeSet<Pubkey>,
}

/// Processes the boundary into epoch `epoch` (steps in the module docs), over the accounts of
/// `source` (the store, or the VED executor's copy) and `vote_accounts` among them.
pub fn enter_epoch(
    epoch: u64,
    cluster: &ClusterParams,
    store: &impl AccountSource,
    state: &mut RuntimeState,
    overlay: &mut Overlay,
    vote_accounts: &BTreeSet<Pubkey>,
) -> Result<EpochEntry, RuntimeError> {
    // 1. Rewards, to the vote accounts in the VED state during `epoch − 1`.
    for key in &state.ved_members {
        let Some(mut account) = overlay.get(store, key) else {
            continue;
        };
        let Some(vote) = VoteState::decode(&account.data) else {
            continue;
        };
        let reward = cluster.epoch_reward(vote.stake);
        if reward > 0 {
            account.lamports = account.lamports.saturating_add(reward);
            overlay.put(account, Writer::Runtime);
        }
    }
    // 2. Moves due now.
    let due: Vec<(Pubkey, Mapping)> = state
        .moves
        .iter()
        .filter(|(_, (_, at))| *at <= epoch)
        .map(|(k, (m, _))| (*k, *m))
        .collect();
    for (key, target) in due {
        state.moves.remove(&key);
        if let Some(mut account) = overlay.get(store, &key)
            && account.lamports > 0
        {
            account.mapping = target;
            overlay.put(account, Writer::Runtime);
        }
    }
    state.frozen.retain(|_, frozen_in| *frozen_in >= epoch);
    // 4. Remap requests of the epoch that ended.
    let schedule = |state: &mut RuntimeState, key: Pubkey, target: Mapping| {
        state.frozen.insert(key, epoch);
        state.moves.insert(key, (target, epoch + 1));
    };
    for (key, target) in std::mem::take(&mut state.remap_requests) {
        // Judged again on the state that moves (the end of the epoch that ended): an account
        // that asked while system- or vote-owned and was given another owner since (`Assign`,
        // or drained and made again by `CreateAccount`) would take that owner into a domain
        // that cannot run it — SPEC §3: only accounts whose owner is executable in the target
        // domain move. Such a request lapses: no freeze, no move (found in review).
        let movable = overlay
            .get(store, &key)
            .is_some_and(|account| account.lamports > 0 && owner_may_move(&account.owner));
        if movable {
            schedule(state, key, target);
        }
    }
    // 5. VED membership of epoch + 1.
    let mut joining = BTreeSet::new();
    let mut leaving = BTreeSet::new();
    let mut staying_companions = BTreeSet::new();
    let effective = |state: &RuntimeState, overlay: &Overlay, key: &Pubkey| {
        state
            .moves
            .get(key)
            .map(|(m, _)| *m)
            .unwrap_or_else(|| overlay.mapping_of(store, key))
    };
    let mut entry = EpochEntry::default();
    let mut votes = BTreeMap::new();
    for key in vote_accounts {
        if let Some(account) = overlay.get(store, key)
            && let Some(vote) = VoteState::decode(&account.data)
        {
            votes.insert(*key, vote);
        }
    }
    // The VED state of `epoch` (computed at the last boundary) and of `epoch + 1` (now).
    let members_now = std::mem::take(&mut state.ved_members_next);
    let mut members_next = BTreeSet::new();
    for (key, vote) in &votes {
        let members = [*key, vote.authorized_voter, vote.fee_payer];
        if ved_eligible(vote.active, vote.stake) {
            members_next.insert(*key);
            staying_companions.extend(members);
            if members
                .iter()
                .any(|m| effective(state, overlay, m) != Mapping::RwVed)
            {
                joining.extend(members);
            }
        } else if members_now.contains(key) {
            // A membership change: it leaves the VED, with its voter and payer.
            leaving.extend(members);
        } else if overlay.mapping_of(store, key) != Mapping::RwVed
            && effective(state, overlay, key) == Mapping::RwVed
        {
            leaving.insert(*key); // asked to move in: it alone stays out
        }
        // Any other ineligible vote account was not in the VED state and is not now: no change,
        // wherever it is mapped (one made in the VED stays there, and takes no one out).
    }
    state.ved_members = members_now;
    state.ved_members_next = members_next;
    for key in joining {
        // A program named as voter or payer stays where it is: SPEC §1 maps a program RX only.
        if effective(state, overlay, &key) != Mapping::RwVed
            && overlay.get(store, &key).is_some_and(|a| !a.executable)
        {
            schedule(state, key, Mapping::RwVed);
        }
    }
    for key in leaving {
        if !staying_companions.contains(&key) && effective(state, overlay, &key) == Mapping::RwVed {
            if overlay.mapping_of(store, &key) == Mapping::RwVed {
                entry.members_leaving.insert(key);
            }
            schedule(state, key, Mapping::RwUed);
        }
    }
    // 3. Slashes, after the moves (they reach the account wherever it now is) and after the
    //    membership of step 5, which reads the state at the end of `epoch - 1`.
    for (key, bps) in std::mem::take(&mut state.slashes) {
        let Some(mut account) = overlay.get(store, &key) else {
            continue;
        };
        let Some(mut vote) = VoteState::decode(&account.data) else {
            continue;
        };
        let cut = (u128::from(vote.stake) * u128::from(bps.min(10_000)) / 10_000) as u64;
        vote.stake -= cut;
        account.lamports = account.lamports.saturating_sub(cut);
        account.data = vote.encode();
        overlay.put(account, Writer::Runtime);
    }
    state.epoch = epoch;
    Ok(entry)
}
