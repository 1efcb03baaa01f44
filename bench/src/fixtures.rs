//! Fixtures shared by the criterion benches (`benches/`) and the suites of `tandem bench`
//! ([`crate::suite`], [`crate::isolation`]): deterministic keys, signed batches, messages,
//! accounts, stores, signed transfers and blocks of votes. One builder per input, so a figure
//! of `tandem bench` and the criterion bench of the same kernel measure the same work.

use std::path::Path;

use ed25519_dalek::{Signer, SigningKey};
use sha2::{Digest, Sha256};
use tandem_engine::cluster::sim::{generated_genesis, generated_key};
use tandem_engine::genesis::{Genesis, default_keypair_seed};
use tandem_engine::ledger::{Block, BlockHeader};
use tandem_engine::runtime::builtins::vote::VoteInstruction;
use tandem_engine::runtime::{Runtime, TxStatus};
use tandem_engine::sample::{SplitMix64, sample_account, vote_program_id};
use tandem_engine::store::{SlotChanges, Store, StoreError};
use tandem_engine::tx::{AccountMeta, MessageBuilder, Transaction};
use tandem_engine::{Account, Domain, Mapping, Pubkey};
use tandem_kernels::AccountInput;
use tandem_kernels::testing::bytes;

pub use tandem_engine::sample::transfer_message;

/// The unsigned message of `vote` by the validator `node` (its signer and fee payer) for its
/// vote account `vote_account`.
pub fn vote_message(
    node: Pubkey,
    vote_account: Pubkey,
    vote: &VoteInstruction,
    recent: [u8; 32],
) -> Vec<u8> {
    MessageBuilder::new(node)
        .instruction(
            vote_program_id(),
            &[
                AccountMeta::new(vote_account, false),
                AccountMeta::new_readonly(node, true),
            ],
            &vote.encode(),
        )
        .build_legacy(recent)
        .expect("a small message")
}

/// A new account's key, numbered `n` in the family `tag`.
pub fn numbered_key(n: u64, tag: u8) -> Pubkey {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&n.to_le_bytes());
    key[8] = tag;
    Pubkey(key)
}

/// Creates a store in `dir` holding `n` RW-UED accounts of `data_len` bytes each (committed at
/// slot 0, in slots of at most 100,000 accounts) and returns it with the accounts; the store's
/// error where it cannot (a full disk).
pub fn store_with_accounts(
    dir: &Path,
    n: usize,
    data_len: usize,
    seed: u64,
) -> Result<(Store, Vec<Account>), StoreError> {
    let mut store = Store::create(dir)?;
    let mut rng = SplitMix64::new(seed);
    let accounts: Vec<Account> = (0..n)
        .map(|_| sample_account(&mut rng, Mapping::RwUed, data_len))
        .collect();
    for (slot, chunk) in accounts.chunks(100_000).enumerate() {
        let mut changes = SlotChanges::new();
        for account in chunk {
            changes.load(account.clone());
        }
        store.commit(slot as u64, changes)?;
    }
    Ok((store, accounts))
}

/// `count` indices into `0..n`, drawn at random (with repetition) from `seed`.
pub fn random_indices(n: usize, count: usize, seed: u64) -> Vec<usize> {
    let mut rng = SplitMix64::new(seed);
    (0..count).map(|_| rng.below(n as u64) as usize).collect()
}

/// `n` messages of `len` bytes, message `i` drawn from seed `i`.
pub fn messages(n: usize, len: usize) -> Vec<Vec<u8>> {
    (0..n).map(|i| bytes(i as u64, len)).collect()
}

/// An account as the LtHash kernels take it, owned.
pub struct HashAccount {
    /// Its key.
    pub pubkey: [u8; 32],
    /// Its owner program.
    pub owner: [u8; 32],
    /// Its balance.
    pub lamports: u64,
    /// Its data.
    pub data: Vec<u8>,
}

/// `n` accounts of 200 bytes of data, account `i` drawn from seed `i`.
pub fn hash_accounts(n: usize) -> Vec<HashAccount> {
    (0..n)
        .map(|i| {
            let seeded = bytes(i as u64, 264);
            HashAccount {
                pubkey: seeded[..32].try_into().expect("32 bytes"),
                owner: seeded[32..64].try_into().expect("32 bytes"),
                lamports: 1 + i as u64,
                data: seeded[64..].to_vec(),
            }
        })
        .collect()
}

/// The kernels' view of `accounts` (none executable).
pub fn account_inputs(accounts: &[HashAccount]) -> Vec<AccountInput<'_>> {
    accounts
        .iter()
        .map(|a| AccountInput {
            pubkey: &a.pubkey,
            owner: &a.owner,
            lamports: a.lamports,
            executable: false,
            data: &a.data,
        })
        .collect()
}

/// The signing key numbered `seed` (its secret is BLAKE3's XOF of the seed).
pub fn signing_key(seed: u64) -> SigningKey {
    SigningKey::from_bytes(&bytes(seed, 32).try_into().expect("32 bytes"))
}

/// A batch of signatures as the verifiers take it, owned.
#[derive(Clone, Debug, Default)]
pub struct SignatureBatch {
    /// The signatures, R then S.
    pub sigs: Vec<[u8; 64]>,
    /// The signers' public keys.
    pub keys: Vec<[u8; 32]>,
    /// The signed messages.
    pub msgs: Vec<Vec<u8>>,
}

impl SignatureBatch {
    /// `n` valid signatures over `msg_len`-byte messages by `signers` in turn, for slot `slot`
    /// (the slot and the signature's index open each message, so every slot's batch is new).
    pub fn signed(signers: &[SigningKey], n: usize, msg_len: usize, slot: u64) -> SignatureBatch {
        let mut b = SignatureBatch::default();
        for i in 0..n {
            let signer = &signers[i % signers.len()];
            let mut msg = vec![0u8; msg_len];
            msg[..8].copy_from_slice(&slot.to_le_bytes());
            msg[8..16].copy_from_slice(&(i as u64).to_le_bytes());
            b.sigs.push(signer.sign(&msg).to_bytes());
            b.keys.push(*signer.verifying_key().as_bytes());
            b.msgs.push(msg);
        }
        b
    }

    /// Signatures `range` of the batch.
    pub fn slice(&self, range: std::ops::Range<usize>) -> SignatureBatch {
        SignatureBatch {
            sigs: self.sigs[range.clone()].to_vec(),
            keys: self.keys[range.clone()].to_vec(),
            msgs: self.msgs[range].to_vec(),
        }
    }

    /// How many signatures it holds.
    pub fn len(&self) -> usize {
        self.sigs.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.sigs.is_empty()
    }

    /// The messages, borrowed, as the verifiers take them.
    pub fn message_refs(&self) -> Vec<&[u8]> {
        self.msgs.iter().map(Vec::as_slice).collect()
    }
}

/// `from` pays a transfer of 0.001 SOL to the new account numbered `to` (tagged `tag`), signed.
pub fn signed_transfer(from: &SigningKey, to: u64, tag: u8, recent: [u8; 32]) -> Vec<u8> {
    let from_key = Pubkey(from.verifying_key().to_bytes());
    let message = transfer_message(from_key, numbered_key(to, tag), 1_000_000, recent);
    Transaction::sign(&message, &[from]).expect("sign")
}

/// Slot 1 of `genesis` with `transactions`.
pub fn slot_1(genesis: &Genesis, transactions: Vec<Vec<u8>>) -> Block {
    Block {
        header: BlockHeader {
            slot: 1,
            parent_slot: 0,
            leader: Pubkey([1; 32]),
            unix_timestamp_ms: genesis.cluster.unix_timestamp_ms + 400,
            blockhash: [7; 32],
        },
        transactions: transactions.into(),
    }
}

/// A genesis of the default cluster's shape plus `n` funded users `payer-i`, and a block at slot 1
/// in which each pays a transfer to a new account: transactions that share no account.
pub fn independent_transfers(n: usize) -> (Genesis, Block) {
    let payers: Vec<SigningKey> = (0..n)
        .map(|i| SigningKey::from_bytes(&default_keypair_seed(&format!("payer-{i}"))))
        .collect();
    let mut toml = String::from(tandem_engine::genesis::DEFAULT_GENESIS_TOML);
    for payer in &payers {
        let key = bs58::encode(payer.verifying_key().to_bytes()).into_string();
        toml.push_str(&format!(
            "\n[[account]]\npubkey = \"{key}\"\nlamports = 1_000_000_000\nmapping = \"rw-ued\"\n"
        ));
    }
    let genesis = Genesis::from_toml_str(&toml).expect("genesis");
    let transactions = payers
        .iter()
        .enumerate()
        .map(|(i, from)| signed_transfer(from, i as u64, 0xed, genesis.hash))
        .collect();
    let block = slot_1(&genesis, transactions);
    (genesis, block)
}

/// A cluster whose validators all vote in the VED, and its users: the isolation suite's and
/// the VED executor's workload. Keys come from `generated_key("bench:isolation", …)`.
pub struct VoteCluster {
    /// Its genesis: `validators` validators of 10,000 SOL, `payers` users of 1,000 SOL.
    pub genesis: Genesis,
}

/// The label of [`VoteCluster`]'s generated keys.
const VOTE_CLUSTER: &str = "bench:isolation";

impl VoteCluster {
    /// `validators` validators of 10,000 SOL (all in the VED) and `payers` users with 1,000 SOL
    /// each.
    pub fn new(validators: usize, payers: usize) -> VoteCluster {
        VoteCluster {
            genesis: generated_genesis(VOTE_CLUSTER, &vec![10_000; validators], payers, 1_000),
        }
    }

    /// The signing key of `kind` (`node`, `user`) number `i`.
    pub fn key(kind: &str, i: usize) -> SigningKey {
        generated_key(VOTE_CLUSTER, kind, i)
    }

    /// The header of `slot` (its parent the slot before, 400 ms apart).
    pub fn header(&self, slot: u64) -> BlockHeader {
        let genesis = &self.genesis;
        BlockHeader {
            slot,
            parent_slot: slot - 1,
            leader: genesis.validators[slot as usize % genesis.validators.len()].node,
            unix_timestamp_ms: genesis.cluster.unix_timestamp_ms + 400 * slot as i64,
            blockhash: Sha256::new()
                .chain_update(b"tandem:bench:isolation:block")
                .chain_update(slot.to_le_bytes())
                .finalize()
                .into(),
        }
    }

    /// The recent blockhash the transactions of `slot` name: the block before's (the genesis
    /// hash for slot 1). It stays among the 150 a transaction may name (SPEC §2) however long
    /// a run is; the genesis hash leaves them after slot 150.
    pub fn recent_blockhash(&self, slot: u64) -> [u8; 32] {
        match slot {
            0 | 1 => self.genesis.hash,
            _ => self.header(slot - 1).blockhash,
        }
    }

    /// Slots 1..=`slots`, each a vote by every validator carrying the VED hash of the slot
    /// before (a sequential pre-run of the votes alone computes them). Slot 1's votes, on slot
    /// 0, fail with `VoteSlotTooOld` (a warm-up block in every suite); from slot 2 on, a vote
    /// the pre-run does not execute successfully is an error naming its slot, since a suite
    /// would measure blocks that do not do the work it names.
    pub fn vote_blocks(&self, slots: u64) -> Result<Vec<Block>, String> {
        let genesis = &self.genesis;
        let scratch = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
        let mut runtime = Runtime::open(genesis, scratch.path()).map_err(|e| e.to_string())?;
        let nodes: Vec<SigningKey> = (0..genesis.validators.len())
            .map(|i| VoteCluster::key("node", i))
            .collect();
        let mut blocks = Vec::new();
        for slot in 1..=slots {
            let ved_hash = runtime.hash(Domain::Ved);
            let recent = self.recent_blockhash(slot);
            let messages = nodes
                .iter()
                .zip(&genesis.validators)
                .map(|(node, v)| {
                    let vote = VoteInstruction::Vote {
                        slot: slot - 1,
                        ved_hash,
                        ued: None,
                        timestamp_ms: genesis.cluster.unix_timestamp_ms,
                    };
                    let message = vote_message(v.node, v.vote_account, &vote, recent);
                    (message, node.clone())
                })
                .collect();
            let block = Block {
                header: self.header(slot),
                transactions: sign_all(messages).into(),
            };
            let outcome = runtime.execute_block(&block).map_err(|e| e.to_string())?;
            let failed = outcome
                .transactions
                .iter()
                .find(|t| t.status != TxStatus::Success);
            if let (2.., Some(failed)) = (slot, failed) {
                return Err(format!(
                    "slot {slot}: a vote of the generated workload failed with {:?}",
                    failed.status
                ));
            }
            blocks.push(block);
        }
        Ok(blocks)
    }

    /// `transfers` user transfers for `slot`, each from one of `payers` (in turn) to a new
    /// account.
    pub fn transfers(&self, payers: &[SigningKey], slot: u64, transfers: usize) -> Vec<Vec<u8>> {
        let recent = self.recent_blockhash(slot);
        let messages = (0..transfers)
            .map(|i| {
                let from = &payers[i % payers.len()];
                let to = numbered_key(slot << 32 | i as u64, 0x15);
                let from_key = Pubkey(from.verifying_key().to_bytes());
                let message = transfer_message(from_key, to, 1_000_000, recent);
                (message, from.clone())
            })
            .collect();
        sign_all(messages)
    }

    /// The keys that sign forged transactions: as many as are needed for `n` a block, at most
    /// one per validator (derived once, for every block).
    pub fn forgers(&self, n: usize) -> Vec<SigningKey> {
        (0..n.min(self.genesis.validators.len()))
            .map(|i| VoteCluster::key("forger", i))
            .collect()
    }

    /// `n` transactions for `slot` whose fee payers are accounts of the VED — the validators'
    /// nodes or their vote accounts, in turn ([`ForgedPayers`]) — and whose signatures are
    /// another key's: well-formed, so a verifier does all its work before it finds them wrong —
    /// a leader's junk aimed at the vote path (each fails with `InvalidSignature`, is charged
    /// nothing and changes nothing). The signatures are `forgers`' (in turn; [`Self::forgers`]).
    ///
    /// # Panics
    /// If `n > 0` and there are no forgers.
    pub fn forged(
        &self,
        forgers: &[SigningKey],
        slot: u64,
        n: usize,
        payers: ForgedPayers,
    ) -> Vec<Vec<u8>> {
        let recent = self.recent_blockhash(slot);
        let validators = &self.genesis.validators;
        assert!(
            n == 0 || !forgers.is_empty(),
            "forged transactions need forgers"
        );
        (0..n)
            .map(|i| {
                let validator = &validators[i % validators.len()];
                let payer = match payers {
                    ForgedPayers::Nodes => validator.node,
                    ForgedPayers::Votes => validator.vote_account,
                };
                let to = numbered_key(slot << 32 | i as u64, 0x16);
                let message = transfer_message(payer, to, 1, recent);
                let signature = forgers[i % forgers.len()].sign(&message).to_bytes();
                Transaction::assemble(&[signature], &message)
            })
            .collect()
    }
}

/// Whose keys forged transactions ([`VoteCluster::forged`]) name as their fee payer: both are
/// the VED's accounts, so the VED's verifier checks them before the vote point.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ForgedPayers {
    /// The validators' nodes: the keys that sign the votes, whose signer tables the engine
    /// builds before their first vote.
    #[default]
    Nodes,
    /// The validators' vote accounts: keys that sign nothing, so the engine prepares no table
    /// for them; the VED's signer cache builds one on a key's second sighting, on the vote's
    /// path, where it has room and budget (its policy).
    Votes,
}

/// Signs `messages` over the available cores (generation is not what a bench measures).
pub fn sign_all(messages: Vec<(Vec<u8>, SigningKey)>) -> Vec<Vec<u8>> {
    sign_all_on(messages, std::thread::Builder::new)
}

/// [`sign_all`] on threads `builder` makes.
fn sign_all_on(
    messages: Vec<(Vec<u8>, SigningKey)>,
    builder: impl Fn() -> std::thread::Builder,
) -> Vec<Vec<u8>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per = messages.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        // A part whose thread cannot start (a process at its thread limit) is signed here:
        // `tandem bench` panicked there (stop 73's resource-limit test).
        let parts: Vec<_> = messages
            .chunks(per)
            .map(|part| {
                let sign = move || {
                    part.iter()
                        .map(|(m, k)| Transaction::sign(m, &[k]).expect("one signer"))
                        .collect::<Vec<_>>()
                };
                builder().spawn_scoped(scope, sign).map_err(|_| sign())
            })
            .collect();
        parts
            .into_iter()
            .flat_map(|p| match p {
                Ok(thread) => thread.join().expect("signing thread"),
                Err(signed) => signed,
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_pointer_width = "64")] // testing::unstartable_thread
    fn signing_goes_on_where_no_thread_can_be_started() {
        // Every start fails, as at a thread limit.
        let unstartable = tandem_kernels::testing::unstartable_thread;
        let messages: Vec<(Vec<u8>, SigningKey)> = (0..5u8)
            .map(|i| {
                let from = SigningKey::from_bytes(&[i + 1; 32]);
                let from_key = Pubkey(from.verifying_key().to_bytes());
                let to = numbered_key(u64::from(i), 0x15);
                (transfer_message(from_key, to, 1, [i; 32]), from)
            })
            .collect();
        let here = sign_all_on(messages.clone(), unstartable);
        assert_eq!(here, sign_all(messages));
        assert_eq!(here.len(), 5);
    }

    #[test]
    fn forged_transactions_are_the_veds_and_fail_their_signature_check_changing_nothing() {
        // Their payers are the VED's, so the VED's verifier checks them, and each is well-formed
        // (its signature another key's), so the check does all its work before it fails.
        let cluster = VoteCluster::new(3, 1);
        let blocks = cluster.vote_blocks(3).expect("the votes execute");
        for payers in [ForgedPayers::Nodes, ForgedPayers::Votes] {
            let scratch = tempfile::tempdir().expect("temporary directory");
            let mut runtime = Runtime::open(&cluster.genesis, scratch.path()).expect("runtime");
            let other = tempfile::tempdir().expect("temporary directory");
            let mut with = Runtime::open(&cluster.genesis, other.path()).expect("runtime");
            for block in &blocks {
                let slot = block.header.slot;
                let plain = runtime.execute_block(block).expect("the block executes");
                let mut forged = block.clone();
                forged
                    .transactions
                    .extend(cluster.forged(&cluster.forgers(5), slot, 5, payers));
                for tx in forged.transactions.iter().skip(3) {
                    let tx = Transaction::parse(tx).expect("well-formed");
                    let payer = tx.message().account_keys()[0];
                    let named = cluster.genesis.validators.iter().any(|v| match payers {
                        ForgedPayers::Nodes => v.node == payer,
                        ForgedPayers::Votes => v.vote_account == payer,
                    });
                    assert!(named, "{payers:?}: the payer is one of theirs");
                    let mapping = with.account(&payer).map(|a| a.mapping);
                    assert_eq!(mapping, Some(Mapping::RwVed), "a payer of the VED");
                }
                let outcome = with.execute_block(&forged).expect("the block executes");
                let statuses: Vec<_> = outcome.transactions[3..].iter().map(|t| t.status).collect();
                assert_eq!(statuses, [TxStatus::InvalidSignature; 5], "slot {slot}");
                assert_eq!(
                    (outcome.ved_hash, outcome.ued_hash),
                    (plain.ved_hash, plain.ued_hash),
                    "{payers:?}, slot {slot}: nothing changed"
                );
            }
        }
    }

    /// The genesis hash leaves the 150 blockhashes a transaction may name after slot 150: a
    /// longer run signed with it measured blocks whose every transaction failed check 3.
    #[test]
    fn a_vote_cluster_run_longer_than_the_blockhash_window_keeps_executing_its_transactions() {
        let slots = 155;
        let cluster = VoteCluster::new(2, 2);
        let payers: Vec<SigningKey> = (0..2).map(|i| VoteCluster::key("user", i)).collect();
        let blocks = cluster.vote_blocks(slots).expect("the votes execute");
        let scratch = tempfile::tempdir().expect("temporary directory");
        let mut runtime = Runtime::open(&cluster.genesis, scratch.path()).expect("runtime");
        for mut block in blocks {
            let slot = block.header.slot;
            block
                .transactions
                .extend(cluster.transfers(&payers, slot, 2));
            let outcome = runtime.execute_block(&block).expect("the block executes");
            let statuses: Vec<_> = outcome.transactions.iter().map(|t| t.status).collect();
            let votes = if slot == 1 {
                vec![TxStatus::ProgramError(514); 2] // VoteSlotTooOld: slot 0 has no vote
            } else {
                vec![TxStatus::Success; 2]
            };
            assert_eq!(statuses[..2], votes, "slot {slot}'s votes");
            assert_eq!(
                statuses[2..],
                [TxStatus::Success; 2],
                "slot {slot}'s transfers"
            );
        }
    }

    #[test]
    fn a_store_that_cannot_be_made_is_an_error_not_a_panic() {
        // `bench --suite store` on a disk too small for its store panicked with a backtrace.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a file");
        std::fs::write(&file, "not a directory").unwrap();
        assert!(super::store_with_accounts(&file, 10, 200, 1).is_err());
        let (store, accounts) = super::store_with_accounts(&dir.path().join("s"), 10, 200, 1)
            .expect("a store where there is room");
        assert_eq!((store.len(), accounts.len()), (10, 10));
    }
}
