//! The workload generator behind `tandem gen`: a ledger for a genesis, deterministic from a seed.
//!
//! Per slot it writes every validator's vote (signed by its node, carrying the VED hash of the
//! slot voted on and the UED `(slot, hash)` beside it), `transfers` user transfers and `creates`
//! account creations, and replaces a configurable share of the user transactions with the cases
//! SPEC §2 names: mixed-domain transactions (a user pays and names a VED account), transactions
//! that mark a program writable, bad signatures, unfunded payers, and `RemapDomain` requests.
//!
//! The hashes a vote carries are real: the generator executes each block it writes on a runtime
//! of its own (in a scratch directory), so a replay of the ledger sees the votes a correct
//! cluster would have sent. The same genesis, configuration and seed give the same ledger, byte
//! for byte.
//!
//! It signs with the keys of [`genesis::default_keypair_seed`](crate::genesis::default_keypair_seed):
//! the accounts of the genesis named `validator-<i>` and `user-<i>` there (the default cluster's
//! names) are the ones it can sign for.

use std::collections::BTreeMap;
use std::path::Path;

use ed25519_dalek::SigningKey;
use sha2::{Digest, Sha256};

use crate::account::{Domain, Mapping, Pubkey};
use crate::genesis::{Genesis, default_keypair_seed};
use crate::ledger::{Block, BlockHeader, Transactions};
use crate::runtime::builtins::system::SystemInstruction;
use crate::runtime::builtins::vote::VoteInstruction;
use crate::runtime::{BlockOutcome, Runtime, RuntimeError, TxStatus};
use crate::sample::{SYSTEM_PROGRAM_ID, SplitMix64, vote_program_id};
use crate::tx::{AccountMeta, MessageBuilder, Transaction};

/// Milliseconds a leader advances the clock per slot (SPEC §4's default).
pub const SLOT_MS: i64 = 400;

/// What to generate.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkloadConfig {
    /// Slots (blocks) to write, from slot 1.
    pub slots: u64,
    /// User transfers per slot.
    pub transfers: usize,
    /// Account creations per slot.
    pub creates: usize,
    /// Percent of user transactions that are mixed-domain.
    pub mixed_pct: f64,
    /// Percent that mark a program writable.
    pub writable_program_pct: f64,
    /// Percent with a bad signature.
    pub bad_signature_pct: f64,
    /// Percent paid by an unfunded payer.
    pub unfunded_pct: f64,
    /// Percent that are `RemapDomain` requests (of accounts the workload created).
    pub remap_pct: f64,
    /// The seed.
    pub seed: u64,
}

impl Default for WorkloadConfig {
    fn default() -> Self {
        WorkloadConfig {
            slots: 100,
            transfers: 40,
            creates: 4,
            mixed_pct: 2.0,
            writable_program_pct: 1.0,
            bad_signature_pct: 1.0,
            unfunded_pct: 1.0,
            remap_pct: 1.0,
            seed: 1,
        }
    }
}

/// Why generation failed.
#[derive(Debug, thiserror::Error)]
pub enum WorkloadError {
    /// The genesis has no account the generator can sign for.
    #[error(
        "the genesis has no {what} whose key the generator knows (it signs for accounts named \
         validator-<i> and user-<i> by genesis::default_keypair_seed, as in the default cluster)"
    )]
    NoKeys {
        /// Which kind of account.
        what: &'static str,
    },
    /// A percentage is out of range.
    #[error(
        "{name} = {value}: a share must be between 0 and 100 percent, and all together at most 100"
    )]
    InvalidShare {
        /// The option.
        name: &'static str,
        /// Its value.
        value: f64,
    },
    /// The genesis clock leaves no room for the slots asked for (400 ms each).
    #[error(
        "the genesis clock ({genesis_ms} ms) plus 400 ms a slot passes the end of time (i64 ms) by slot {slot}"
    )]
    ClockOverflow {
        /// The genesis `unix_timestamp_ms`.
        genesis_ms: i64,
        /// The first slot whose clock does not fit.
        slot: u64,
    },
    /// The sink refused a block (writing the ledger failed).
    #[error("writing the ledger: {0}")]
    Sink(String),
    /// Executing a generated block failed.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

/// A user account the generator can sign for.
struct User {
    key: SigningKey,
    /// Whether the workload created it (only those are remapped).
    created: bool,
}

fn pubkey_of(key: &SigningKey) -> Pubkey {
    Pubkey(key.verifying_key().to_bytes())
}

/// The generator's state between slots.
struct Generator<'g> {
    genesis: &'g Genesis,
    config: WorkloadConfig,
    rng: SplitMix64,
    /// Validators the generator signs for: node key and vote account.
    voters: Vec<(SigningKey, Pubkey)>,
    /// Funded UED users, by pubkey (ordered: the same choices on every run).
    users: BTreeMap<Pubkey, User>,
    /// Accounts in the VED it can name in mixed transactions.
    ved_accounts: Vec<Pubkey>,
    /// Accounts that asked to move to the VED: still named as recipients now and then, so a
    /// replay shows their freeze (`AccountFrozenForRemap`) and then their move
    /// (`DomainViolation` for UED senders).
    remapped: Vec<Pubkey>,
    fresh: u64,
}

/// Which kind of user transaction to write.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Transfer,
    Mixed,
    WritableProgram,
    BadSignature,
    Unfunded,
    Remap,
}

impl Generator<'_> {
    fn fresh_key(&mut self) -> SigningKey {
        self.fresh += 1;
        let mut seed = [0u8; 32];
        let digest = Sha256::new()
            .chain_update(b"tandem:gen:key")
            .chain_update(self.config.seed.to_le_bytes())
            .chain_update(self.fresh.to_le_bytes())
            .finalize();
        seed.copy_from_slice(&digest);
        SigningKey::from_bytes(&seed)
    }

    fn pick_user(&mut self) -> Option<Pubkey> {
        if self.users.is_empty() {
            return None;
        }
        let i = self.rng.below(self.users.len() as u64) as usize;
        self.users.keys().nth(i).copied()
    }

    fn kind(&mut self) -> Kind {
        let roll = self.rng.below(1_000_000) as f64 / 10_000.0; // percent, 4 decimals
        let c = &self.config;
        let mut edge = 0.0;
        for (pct, kind) in [
            (c.mixed_pct, Kind::Mixed),
            (c.writable_program_pct, Kind::WritableProgram),
            (c.bad_signature_pct, Kind::BadSignature),
            (c.unfunded_pct, Kind::Unfunded),
            (c.remap_pct, Kind::Remap),
        ] {
            edge += pct;
            if roll < edge {
                return kind;
            }
        }
        Kind::Transfer
    }

    fn sign(message: &[u8], signers: &[&SigningKey]) -> Vec<u8> {
        Transaction::sign(message, signers).expect("the generator signs with every required key")
    }

    /// One user transaction of `kind` (or a plain transfer when the kind cannot be made).
    fn user_transaction(&mut self, kind: Kind, recent: [u8; 32]) -> Option<Vec<u8>> {
        let from = self.pick_user()?;
        let lamports = 1_000 * (1 + self.rng.below(1_000));
        let to = match self.pick_user() {
            _ if !self.remapped.is_empty() && self.rng.below(16) == 0 => {
                self.remapped[self.rng.below(self.remapped.len() as u64) as usize]
            }
            Some(to) if self.rng.below(4) != 0 => to,
            _ => pubkey_of(&self.fresh_key()),
        };
        let transfer = SystemInstruction::Transfer { lamports }.encode();
        let metas = [AccountMeta::new(from, true), AccountMeta::new(to, false)];
        let key = &self.users[&from].key;
        let build = |b: MessageBuilder| b.build_legacy(recent).expect("a small message");
        let wire = match kind {
            Kind::Transfer => Self::sign(
                &build(MessageBuilder::new(from).instruction(SYSTEM_PROGRAM_ID, &metas, &transfer)),
                &[key],
            ),
            Kind::Mixed if !self.ved_accounts.is_empty() => {
                let i = self.rng.below(self.ved_accounts.len() as u64) as usize;
                let ved = self.ved_accounts[i];
                Self::sign(
                    &build(MessageBuilder::new(from).instruction(
                        SYSTEM_PROGRAM_ID,
                        &[metas[0], metas[1], AccountMeta::new_readonly(ved, false)],
                        &transfer,
                    )),
                    &[key],
                )
            }
            Kind::WritableProgram => Self::sign(
                &build(MessageBuilder::new(from).instruction(
                    SYSTEM_PROGRAM_ID,
                    &[
                        metas[0],
                        metas[1],
                        AccountMeta::new(vote_program_id(), false),
                    ],
                    &transfer,
                )),
                &[key],
            ),
            Kind::BadSignature => {
                let mut wire = Self::sign(
                    &build(MessageBuilder::new(from).instruction(
                        SYSTEM_PROGRAM_ID,
                        &metas,
                        &transfer,
                    )),
                    &[key],
                );
                wire[1 + (self.rng.below(64) as usize)] ^= 1 << self.rng.below(8);
                wire
            }
            Kind::Unfunded => {
                let poor = self.fresh_key();
                let poor_key = pubkey_of(&poor);
                Self::sign(
                    &build(MessageBuilder::new(poor_key).instruction(
                        SYSTEM_PROGRAM_ID,
                        &[AccountMeta::new(poor_key, true), metas[1]],
                        &transfer,
                    )),
                    &[&poor],
                )
            }
            Kind::Remap => {
                let created: Vec<Pubkey> = self
                    .users
                    .iter()
                    .filter(|(_, u)| u.created)
                    .map(|(k, _)| *k)
                    .collect();
                if created.is_empty() {
                    return self.user_transaction(Kind::Transfer, recent);
                }
                let target = created[self.rng.below(created.len() as u64) as usize];
                // Remapped accounts leave the pool of UED senders.
                let user = self.users.remove(&target).expect("picked from the pool");
                self.remapped.push(target);
                let remap = SystemInstruction::RemapDomain {
                    target: Mapping::RwVed.tag(),
                }
                .encode();
                Self::sign(
                    &build(MessageBuilder::new(target).instruction(
                        SYSTEM_PROGRAM_ID,
                        &[AccountMeta::new(target, true)],
                        &remap,
                    )),
                    &[&user.key],
                )
            }
            Kind::Mixed => return self.user_transaction(Kind::Transfer, recent),
        };
        Some(wire)
    }

    /// A creation of a fresh account funded by a user; returns the wire and the new key.
    fn create(&mut self, recent: [u8; 32]) -> Option<(Vec<u8>, SigningKey)> {
        // Funded by the genesis users: the accounts the workload creates hold too little to
        // fund more.
        let funders: Vec<Pubkey> = self
            .users
            .iter()
            .filter(|(_, u)| !u.created)
            .map(|(k, _)| *k)
            .collect();
        if funders.is_empty() {
            return None;
        }
        let from = funders[self.rng.below(funders.len() as u64) as usize];
        let new = self.fresh_key();
        let new_key = pubkey_of(&new);
        // No data: a system account that carries data cannot pay or send (Solana's rule), and
        // the workload's new accounts go on to do both.
        let ix = SystemInstruction::CreateAccount {
            lamports: 10_000_000,
            space: 0,
            owner: SYSTEM_PROGRAM_ID,
        }
        .encode();
        let message = MessageBuilder::new(from)
            .instruction(
                SYSTEM_PROGRAM_ID,
                &[
                    AccountMeta::new(from, true),
                    AccountMeta::new(new_key, true),
                ],
                &ix,
            )
            .build_legacy(recent)
            .expect("a small message");
        let wire = Self::sign(&message, &[&self.users[&from].key, &new]);
        Some((wire, new))
    }
}

/// The blocks [`generate`] makes and their outcomes, kept in memory: for tests and benches of
/// a few hundred slots (`tandem gen` streams them to a file instead).
pub fn generate_all(
    genesis: &Genesis,
    config: &WorkloadConfig,
    scratch: &Path,
) -> Result<(Vec<Block>, Vec<BlockOutcome>), WorkloadError> {
    let (mut blocks, mut outcomes) = (Vec::new(), Vec::new());
    generate(
        genesis,
        config,
        scratch,
        |block, outcome| {
            blocks.push(block.clone());
            outcomes.push(outcome.clone());
            Ok(())
        },
        |_| {},
    )?;
    Ok((blocks, outcomes))
}

/// Generates the ledger's blocks for `genesis`, handing each to `sink` in order with its outcome
/// as the generator's runtime computed it; `scratch` is an empty directory for that runtime.
/// Nothing is kept per block: a caller that wants the blocks or outcomes keeps them.
pub fn generate(
    genesis: &Genesis,
    config: &WorkloadConfig,
    scratch: &Path,
    mut sink: impl FnMut(&Block, &BlockOutcome) -> Result<(), WorkloadError>,
    mut progress: impl FnMut(u64),
) -> Result<(), WorkloadError> {
    let shares = [
        ("mixed_pct", config.mixed_pct),
        ("writable_program_pct", config.writable_program_pct),
        ("bad_signature_pct", config.bad_signature_pct),
        ("unfunded_pct", config.unfunded_pct),
        ("remap_pct", config.remap_pct),
    ];
    for (name, value) in shares {
        if !(0.0..=100.0).contains(&value) {
            return Err(WorkloadError::InvalidShare { name, value });
        }
    }
    let total: f64 = shares.iter().map(|(_, v)| v).sum();
    if total > 100.0 {
        return Err(WorkloadError::InvalidShare {
            name: "the shares together",
            value: total,
        });
    }

    let mut names: BTreeMap<Pubkey, SigningKey> = BTreeMap::new();
    for i in 0..1024 {
        for prefix in ["validator", "user"] {
            let key = SigningKey::from_bytes(&default_keypair_seed(&format!("{prefix}-{i}")));
            names.insert(pubkey_of(&key), key);
        }
    }
    let voters: Vec<(SigningKey, Pubkey)> = genesis
        .validators
        .iter()
        .filter_map(|v| names.get(&v.node).map(|k| (k.clone(), v.vote_account)))
        .collect();
    if voters.is_empty() {
        return Err(WorkloadError::NoKeys {
            what: "validator node",
        });
    }
    let users: BTreeMap<Pubkey, User> = genesis
        .accounts
        .iter()
        .filter(|a| a.mapping == Mapping::RwUed && !a.executable && a.lamports > 0)
        .filter(|a| !genesis.validators.iter().any(|v| v.node == a.pubkey))
        .filter_map(|a| {
            names.get(&a.pubkey).map(|k| {
                (
                    a.pubkey,
                    User {
                        key: k.clone(),
                        created: false,
                    },
                )
            })
        })
        .collect();
    if users.is_empty() && (config.transfers > 0 || config.creates > 0) {
        return Err(WorkloadError::NoKeys {
            what: "funded RW-UED user account",
        });
    }
    let mut ved_accounts: Vec<Pubkey> = genesis.ved_validators().map(|v| v.vote_account).collect();
    ved_accounts.sort();

    let mut runtime = Runtime::open(genesis, scratch)?;
    let mut g = Generator {
        genesis,
        config: config.clone(),
        rng: SplitMix64::new(config.seed),
        voters,
        users,
        ved_accounts,
        remapped: Vec::new(),
        fresh: 0,
    };
    let mut recent = g.genesis.hash;
    let mut last_ms = g.genesis.cluster.unix_timestamp_ms;
    for slot in 1..=config.slots {
        let recent_blockhash = recent;
        let mut transactions = Transactions::new();
        if slot >= 2 {
            let (ved_hash, ued_hash) = (runtime.hash(Domain::Ved), runtime.hash(Domain::Ued));
            for (node, vote_account) in &g.voters {
                let node_key = pubkey_of(node);
                let ix = VoteInstruction::Vote {
                    slot: slot - 1,
                    ved_hash,
                    ued: Some((slot - 1, ued_hash)),
                    timestamp_ms: last_ms,
                }
                .encode();
                let message = MessageBuilder::new(node_key)
                    .instruction(
                        vote_program_id(),
                        &[
                            AccountMeta::new(*vote_account, false),
                            AccountMeta::new_readonly(node_key, true),
                        ],
                        &ix,
                    )
                    .build_legacy(recent_blockhash)
                    .expect("a small message");
                transactions.push(Generator::sign(&message, &[node]));
            }
        }
        let mut created = Vec::new();
        for _ in 0..g.config.creates {
            if let Some((wire, key)) = g.create(recent_blockhash) {
                created.push((transactions.len(), key));
                transactions.push(wire);
            }
        }
        for _ in 0..g.config.transfers {
            let kind = g.kind();
            if let Some(wire) = g.user_transaction(kind, recent_blockhash) {
                transactions.push(wire);
            }
        }
        let leader = pubkey_of(&g.voters[(slot as usize) % g.voters.len()].0);
        let blockhash: [u8; 32] = Sha256::new()
            .chain_update(b"tandem:gen:blockhash")
            .chain_update(g.config.seed.to_le_bytes())
            .chain_update(slot.to_le_bytes())
            .finalize()
            .into();
        let unix_timestamp_ms =
            last_ms
                .checked_add(SLOT_MS)
                .ok_or(WorkloadError::ClockOverflow {
                    genesis_ms: g.genesis.cluster.unix_timestamp_ms,
                    slot,
                })?;
        let block = Block {
            header: BlockHeader {
                slot,
                parent_slot: slot - 1,
                leader,
                unix_timestamp_ms,
                blockhash,
            },
            transactions,
        };
        let outcome = runtime.execute_block(&block)?;
        for (index, key) in created {
            if outcome.transactions[index].status == TxStatus::Success {
                g.users.insert(pubkey_of(&key), User { key, created: true });
            }
        }
        sink(&block, &outcome)?;
        recent = blockhash;
        last_ms = unix_timestamp_ms;
        progress(slot);
    }
    Ok(())
}
