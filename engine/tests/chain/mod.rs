//! A test chain over the default cluster: builds, signs and executes blocks on a runtime in a
//! temporary store.
#![allow(dead_code)] // each test file uses part of it

use ed25519_dalek::SigningKey;
use sha2::{Digest, Sha256};
use tandem_engine::Domain;
use tandem_engine::account::{Account, Mapping, Pubkey};
use tandem_engine::genesis::{Genesis, default_keypair_seed};
use tandem_engine::ledger::{Block, BlockHeader};
use tandem_engine::pipeline::metrics::MetricsSnapshot;
use tandem_engine::pipeline::{Engine, EngineConfig, EngineHooks};
use tandem_engine::runtime::builtins::system::SystemInstruction;
use tandem_engine::runtime::builtins::vote::{VOTE_STATE_LEN, VoteInstruction, VoteState};
use tandem_engine::runtime::{BlockOutcome, Runtime, RuntimeError, TxOutcome, TxStatus};
use tandem_engine::sample::{SYSTEM_PROGRAM_ID, vote_program_id};
use tandem_engine::tx::{AccountMeta, MessageBuilder, Transaction};
use tempfile::TempDir;

use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The blocks `config` generates over `genesis`, and their outcomes as the generator's runtime
/// (the sequential one, on the CPU) computed them.
pub fn generated_blocks(
    genesis: &Genesis,
    config: &tandem_engine::workload::WorkloadConfig,
) -> (Vec<Block>, Vec<BlockOutcome>) {
    let scratch = tempfile::tempdir().expect("dir");
    tandem_engine::workload::generate_all(genesis, config, scratch.path()).expect("generate")
}

/// The default cluster's key called `name` (`validator-0`, `user-3`, `program-0`, …).
pub fn key(name: &str) -> SigningKey {
    SigningKey::from_bytes(&default_keypair_seed(name))
}

/// A key that no genesis account has.
pub fn fresh(n: u64) -> SigningKey {
    let seed: [u8; 32] = Sha256::digest(format!("tandem:test:{n}")).into();
    SigningKey::from_bytes(&seed)
}

/// The pubkey of a key.
pub fn pk(key: &SigningKey) -> Pubkey {
    Pubkey(key.verifying_key().to_bytes())
}

/// A signed transaction of one instruction paid by the first signer.
pub fn tx(
    signers: &[&SigningKey],
    program: Pubkey,
    metas: &[AccountMeta],
    data: &[u8],
    recent: [u8; 32],
) -> Vec<u8> {
    let message = MessageBuilder::new(pk(signers[0]))
        .instruction(program, metas, data)
        .build_legacy(recent)
        .expect("message");
    Transaction::sign(&message, signers).expect("sign")
}

/// `from` sends `lamports` to `to`.
pub fn transfer(from: &SigningKey, to: Pubkey, lamports: u64, recent: [u8; 32]) -> Vec<u8> {
    tx(
        &[from],
        SYSTEM_PROGRAM_ID,
        &[
            AccountMeta::new(pk(from), true),
            AccountMeta::new(to, false),
        ],
        &SystemInstruction::Transfer { lamports }.encode(),
        recent,
    )
}

/// `key` asks to move its own account to mapping `target` (`RemapDomain`, SPEC §3).
pub fn remap(key: &SigningKey, target: u8, recent: [u8; 32]) -> Vec<u8> {
    tx(
        &[key],
        SYSTEM_PROGRAM_ID,
        &[AccountMeta::new(pk(key), true)],
        &SystemInstruction::RemapDomain { target }.encode(),
        recent,
    )
}

/// `from` sends 1 lamport to `to` in a message that also marks the vote program writable.
pub fn transfer_marking_a_program_writable(
    from: &SigningKey,
    to: Pubkey,
    recent: [u8; 32],
) -> Vec<u8> {
    tx(
        &[from],
        SYSTEM_PROGRAM_ID,
        &[
            AccountMeta::new(pk(from), true),
            AccountMeta::new(to, false),
            AccountMeta::new(vote_program_id(), false),
        ],
        &SystemInstruction::Transfer { lamports: 1 }.encode(),
        recent,
    )
}

/// The `n`-th validator's vote for `slot` (hashes zero: the runtime records, §6 checks later).
pub fn vote(n: usize, slot: u64, recent: [u8; 32]) -> Vec<u8> {
    let node = key(&format!("validator-{n}"));
    let vote_account = pk(&key(&format!("vote-{n}")));
    let ix = VoteInstruction::Vote {
        slot,
        ved_hash: [1; 32],
        ued: None,
        timestamp_ms: 0,
    };
    node_instruction(&node, vote_account, ix, recent)
}

/// A runtime on the default cluster in a temporary store, and the next block's clock.
pub struct Chain {
    pub genesis: Genesis,
    pub dir: TempDir,
    pub rt: Runtime,
    pub ts: i64,
    pub last_blockhash: [u8; 32],
    /// The blocks executed, with their outcomes.
    pub history: Vec<(Block, BlockOutcome)>,
    /// The operator slashes scheduled: before which block of the history, vote account, bps.
    pub slashes: Vec<(usize, Pubkey, u16)>,
}

impl Chain {
    pub fn new() -> Chain {
        Chain::with_genesis(Genesis::default_cluster())
    }

    pub fn with_genesis(genesis: Genesis) -> Chain {
        let dir = tempfile::tempdir().expect("temp dir");
        let rt = Runtime::open(&genesis, dir.path()).expect("genesis");
        Chain {
            ts: genesis.cluster.unix_timestamp_ms,
            last_blockhash: genesis.hash,
            genesis,
            dir,
            rt,
            history: Vec::new(),
            slashes: Vec::new(),
        }
    }

    /// The newest blockhash, for transactions of the next block.
    pub fn recent(&self) -> [u8; 32] {
        self.last_blockhash
    }

    /// The block at `slot` after the last one, 400 ms later, with `txs`.
    pub fn make_block(&self, slot: u64, txs: Vec<Vec<u8>>) -> Block {
        Block {
            header: BlockHeader {
                slot,
                parent_slot: self.rt.slot(),
                leader: pk(&key("validator-0")),
                unix_timestamp_ms: self.ts + 400,
                blockhash: Sha256::digest(format!("block {slot}")).into(),
            },
            transactions: txs.into(),
        }
    }

    /// Executes `block`, keeping the chain's clock and blockhash.
    pub fn run(&mut self, block: Block) -> Result<BlockOutcome, RuntimeError> {
        let outcome = self.rt.execute_block(&block)?;
        self.ts = block.header.unix_timestamp_ms;
        self.last_blockhash = block.header.blockhash;
        self.history.push((block, outcome.clone()));
        Ok(outcome)
    }

    /// Schedules an operator slash with the next block (`Runtime::schedule_slash`).
    pub fn schedule_slash(&mut self, vote_account: Pubkey, bps: u16) -> Result<(), RuntimeError> {
        self.rt.schedule_slash(vote_account, bps)?;
        self.slashes.push((self.history.len(), vote_account, bps));
        Ok(())
    }

    /// Runs the chain's blocks, and its slashes with the same blocks, through the asynchronous
    /// engine (`tandem_engine::pipeline`) on a store of its own, with one UED thread and with
    /// four (the UED pass in waves of transactions that share no written account), and checks
    /// that it gives the runtime's outcome of every block and votes with the runtime's VED
    /// hashes; gives the one-thread engine's metrics at the end (how it crossed the epoch
    /// boundaries).
    pub fn assert_engine_agrees(&self) -> MetricsSnapshot {
        let metrics = self.assert_engine_agrees_on(1);
        self.assert_engine_agrees_on(4);
        metrics
    }

    fn assert_engine_agrees_on(&self, ued_threads: usize) -> MetricsSnapshot {
        type Seen = Arc<Mutex<(Vec<BlockOutcome>, Vec<(u64, [u8; 32])>)>>;
        let seen: Seen = Arc::default();
        let (a, b) = (Arc::clone(&seen), Arc::clone(&seen));
        let hooks = EngineHooks {
            on_vote: Some(Box::new(move |v| {
                a.lock().unwrap().1.push((v.slot, v.ved_hash))
            })),
            on_outcome: Some(Box::new(move |o| b.lock().unwrap().0.push(o.clone()))),
            on_alert: None,
        };
        let dir = tempfile::tempdir().expect("temp dir");
        let config = EngineConfig {
            ued_threads,
            ..EngineConfig::default()
        };
        let engine = Engine::open(&self.genesis, dir.path(), config, hooks).expect("engine");
        for (i, (block, _)) in self.history.iter().enumerate() {
            for &(_, vote_account, bps) in self.slashes.iter().filter(|(at, ..)| *at == i) {
                // Checked against the UED's committed state, as the runtime checked it.
                engine
                    .wait_hash(
                        Domain::Ued,
                        block.header.parent_slot,
                        Duration::from_secs(60),
                    )
                    .expect("no failure");
                engine.schedule_slash(vote_account, bps).expect("slash");
            }
            engine.submit(block.clone()).expect("submit");
        }
        if let Some((last, _)) = self.history.last() {
            engine
                .wait_hash(Domain::Ued, last.header.slot, Duration::from_secs(60))
                .expect("no failure");
        }
        // After the stages stop: the VED counts a wait once the UED has answered, which may be
        // after the UED published the last slot.
        let metrics = std::sync::Arc::clone(engine.metrics());
        engine.finish().expect("finish");
        let metrics = metrics.snapshot();
        let (outcomes, votes) = &*seen.lock().unwrap();
        assert_eq!(outcomes.len(), self.history.len());
        for (got, (_, want)) in outcomes.iter().zip(&self.history) {
            assert!(
                got == want,
                "{ued_threads} UED threads: the engine's slot {} differs: {got:?} vs {want:?}",
                want.slot
            );
        }
        let want: Vec<(u64, [u8; 32])> = self
            .history
            .iter()
            .map(|(_, o)| (o.slot, o.ved_hash))
            .collect();
        assert_eq!(votes, &want, "the vote points");
        metrics
    }

    /// The next slot's block with `txs`.
    pub fn block(&mut self, txs: Vec<Vec<u8>>) -> BlockOutcome {
        self.block_at(self.rt.slot() + 1, txs)
    }

    /// A block at `slot` (skipping the slots between) with `txs`.
    pub fn block_at(&mut self, slot: u64, txs: Vec<Vec<u8>>) -> BlockOutcome {
        let block = self.make_block(slot, txs);
        self.run(block).expect("block executes")
    }

    /// An empty block at the first slot of `epoch`, and one at the first slot of every epoch
    /// before it that the chain has not reached: a block may cross at most one epoch boundary
    /// (SPEC §4).
    pub fn enter_epoch(&mut self, epoch: u64) -> BlockOutcome {
        let slots_per_epoch = self.genesis.cluster.slots_per_epoch;
        loop {
            let next = self.rt.slot() / slots_per_epoch + 1;
            let outcome = self.block_at(next * slots_per_epoch, vec![]);
            if next >= epoch {
                return outcome;
            }
        }
    }

    pub fn account(&self, key: &Pubkey) -> Option<Account> {
        self.rt.account(key)
    }

    pub fn lamports(&self, key: &Pubkey) -> u64 {
        self.account(key).map_or(0, |a| a.lamports)
    }

    pub fn mapping(&self, key: &Pubkey) -> Option<Mapping> {
        self.account(key).map(|a| a.mapping)
    }

    pub fn vote_state(&self, n: usize) -> VoteState {
        let account = self
            .account(&pk(&key(&format!("vote-{n}"))))
            .expect("vote account");
        VoteState::decode(&account.data).expect("vote state")
    }
}

/// The one transaction of a block's outcome.
pub fn only(outcome: &BlockOutcome) -> &TxOutcome {
    assert_eq!(outcome.transactions.len(), 1);
    &outcome.transactions[0]
}

/// Asserts a transaction's status and domain.
pub fn assert_status(outcome: &TxOutcome, status: TxStatus, domain: Option<Domain>) {
    assert_eq!(
        (outcome.status, outcome.domain),
        (status, domain),
        "{outcome:?}"
    );
}

pub const FEE: u64 = 5_000;
pub const SOL: u64 = 1_000_000_000;

/// Empty blocks of the default cluster for `slots`, each 400 ms after genesis times its slot.
pub fn empty_blocks(slots: std::ops::RangeInclusive<u64>) -> impl Iterator<Item = Block> {
    let genesis = Genesis::default_cluster();
    slots.map(move |slot| Block {
        header: BlockHeader {
            slot,
            parent_slot: slot - 1,
            leader: pk(&key("validator-0")),
            unix_timestamp_ms: genesis.cluster.unix_timestamp_ms + 400 * slot as i64,
            blockhash: Sha256::digest(format!("empty block {slot}")).into(),
        },
        transactions: vec![].into(),
    })
}

/// `funder` delegates `lamports` of stake to `vote_account` (`DelegateStake`).
pub fn delegate(
    funder: &SigningKey,
    vote_account: Pubkey,
    lamports: u64,
    recent: [u8; 32],
) -> Vec<u8> {
    tx(
        &[funder],
        vote_program_id(),
        &[
            AccountMeta::new(vote_account, false),
            AccountMeta::new(pk(funder), true),
        ],
        &VoteInstruction::DelegateStake { lamports }.encode(),
        recent,
    )
}

/// The vote instruction `ix` for `vote_account`, signed and paid by its node `n`.
pub fn node_instruction(
    n: &SigningKey,
    vote_account: Pubkey,
    ix: VoteInstruction,
    recent: [u8; 32],
) -> Vec<u8> {
    tx(
        &[n],
        vote_program_id(),
        &[
            AccountMeta::new(vote_account, false),
            AccountMeta::new_readonly(pk(n), true),
        ],
        &ix.encode(),
        recent,
    )
}

/// `funder` creates `new` (both sign) with `(lamports, space, owner)` (`CreateAccount`).
pub fn create_account(
    funder: &SigningKey,
    new: &SigningKey,
    (lamports, space, owner): (u64, u64, Pubkey),
    recent: [u8; 32],
) -> Vec<u8> {
    tx(
        &[funder, new],
        SYSTEM_PROGRAM_ID,
        &[
            AccountMeta::new(pk(funder), true),
            AccountMeta::new(pk(new), true),
        ],
        &SystemInstruction::CreateAccount {
            lamports,
            space,
            owner,
        }
        .encode(),
        recent,
    )
}

/// The transactions that make a new vote account `vote_key` for the node `node` (its voter),
/// paid for and staked by the node, whose fee payer is `fee_payer`: create, initialize,
/// delegate `stake`. It starts inactive, in the UED.
pub fn new_vote_account(
    node: &SigningKey,
    vote_key: &SigningKey,
    fee_payer: Pubkey,
    stake: u64,
    recent: [u8; 32],
) -> Vec<Vec<u8>> {
    let vote_account = pk(vote_key);
    let space = VOTE_STATE_LEN as u64;
    let create = create_account(node, vote_key, (SOL, space, vote_program_id()), recent);
    let init = node_instruction(
        node,
        vote_account,
        VoteInstruction::InitializeAccount {
            node: pk(node),
            authorized_voter: pk(node),
            fee_payer,
        },
        recent,
    );
    let stake = delegate(node, vote_account, stake, recent);
    vec![create, init, stake]
}

/// The transactions that make a new vote account `vote_key` for the node `node` (who pays and
/// stakes it) with the given voter and fee payer, delegate `stake` and, when `activate`,
/// activate it. It starts in the UED.
pub fn vote_account_for(
    node: &SigningKey,
    vote_key: &SigningKey,
    (authorized_voter, fee_payer): (Pubkey, Pubkey),
    stake: u64,
    activate: bool,
    recent: [u8; 32],
) -> Vec<Vec<u8>> {
    let vote_account = pk(vote_key);
    let mut txs = new_vote_account(node, vote_key, fee_payer, stake, recent);
    txs[1] = node_instruction(
        node,
        vote_account,
        VoteInstruction::InitializeAccount {
            node: pk(node),
            authorized_voter,
            fee_payer,
        },
        recent,
    );
    if activate {
        txs.push(node_instruction(
            node,
            vote_account,
            VoteInstruction::Activate,
            recent,
        ));
    }
    txs
}

/// `block` executed by the VED executor `ved` as the VED stage executes it, its signatures
/// verified on the CPU beforehand.
pub fn ved_executes(
    ved: &mut tandem_engine::runtime::executor::VedExecutor,
    block: &Block,
) -> tandem_engine::runtime::executor::VedSlot {
    use tandem_engine::runtime::ingest::{parse_block, verify_signatures};
    let (txs, payers) = parse_block(block).expect("parses");
    let verified: Vec<Option<bool>> = verify_signatures(tandem_engine::runtime::Backend::Cpu, &txs)
        .expect("verified")
        .into_iter()
        .map(Some)
        .collect();
    ved.execute(block, &payers, &verified)
        .expect("the VED executes it")
}
