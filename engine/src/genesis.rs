//! The genesis file (SPEC §9): the TOML that describes slot 0 of a cluster.
//!
//! This module owns the file format, its parsing and every check on it, and hands back a
//! validated [`Genesis`]: the cluster parameters, the genesis blockhash, the accounts the file
//! lists and the validators. It also owns the default cluster shipped in
//! `engine/genesis/default.toml` and the deterministic secret keys of that cluster's accounts
//! ([`default_keypair_seed`]), so tools can sign for them.
//!
//! It must never build runtime state. The state at slot 0 is, together:
//! - the two builtin program accounts of [`sample::builtin_programs`] (the file may not list them);
//! - [`Genesis::accounts`], exactly as listed;
//! - one vote account per [`GenesisValidator`], owned by the vote program, holding `stake`
//!   lamports and the vote state, mapped RW-VED when [`GenesisValidator::starts_in_ved`] and RW-UED
//!   otherwise. The vote state's layout belongs to the runtime, so the runtime builds these
//!   accounts; the file may not list them.
//!
//! # Format
//!
//! ```toml
//! [cluster]
//! slots_per_epoch = 32              # u64, at least 1
//! epoch_reward_rate = 0.0001        # 0 ..= 1, at most 9 decimals (parts per billion)
//! unix_timestamp_ms = 0             # i64, the clock at genesis; default 0
//! genesis_hash = "…"                # base58, 32 bytes; default: SHA-256 of the file's bytes
//!
//! [[account]]
//! pubkey = "…"                      # base58
//! lamports = 1_000_000_000          # at least 1
//! owner = "…"                       # base58; default the system program
//! mapping = "rw-ued"                # rw-ued | rw-ved | rx-ued | rx-ued-ved
//! executable = false                # default false
//! data = "…"                        # base64 (standard alphabet, padded); default empty
//!
//! [[validator]]
//! node = "…"                        # base58; must be listed as an [[account]]
//! vote_account = "…"                # base58; must not be listed (genesis creates it)
//! stake = 10_000_000_000_000        # lamports, at least 1
//! active = true                     # default true
//! ```
//!
//! # Decisions
//!
//! - Unknown keys are errors, as are missing required keys; TOML integers are signed 64-bit, so
//!   no amount above `i64::MAX` lamports can be written.
//! - The first problem found is reported, as `field: reason (line L, column C)`, where `field` is
//!   the path of the offending value (`account[3].mapping`, `validator[1].stake`,
//!   `cluster.slots_per_epoch`). TOML syntax errors come through with toml's own message.
//! - `epoch_reward_rate` is converted once, at load, to an exact integer rate in parts per billion
//!   ([`ClusterParams::epoch_reward_rate_ppb`]); negative, NaN, infinite, above 1, and values with
//!   more precision than 1e-9 are rejected. The check is on the 64-bit float the TOML parser
//!   produces: a rate is accepted when it is the float nearest to some `n / 10⁹`, which every
//!   decimal with at most 9 places is (a literal that differs from one only beyond the 17th
//!   significant digit cannot be told apart from it and is read as it).
//! - An account needs at least 1 lamport and a validator at least 1 lamport of stake: an account
//!   without lamports does not exist (SPEC §4 hashes it as zeros). The total of all lamports
//!   (listed accounts, stakes and the builtins) must fit in a u64.
//! - SPEC §1 applies: programs only RX-*, non-executable accounts only RW-*, and `rx-ued-ved`
//!   belongs to the builtins alone ("every other program is RX-UED"), so a listed program must be
//!   `rx-ued`. The builtin ids (system, vote, native loader) may not be listed, nor used as a vote
//!   account. Owners are not checked: any 32 bytes may own an account, as in Solana.
//! - A validator's `node` pays the fees of its votes, so it must be a listed, non-executable
//!   account, and one node serves one validator. The file states the node's mapping explicitly and
//!   the loader checks it against the VED rule of SPEC §5 instead of silently overriding it: the
//!   node of a validator that starts in the VED ([`ved_eligible`]) must be `rw-ved`, any other
//!   node `rw-ued`.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use toml::Spanned;

use crate::account::{Account, Domain, MAX_ACCOUNT_DATA_LEN, Mapping, Pubkey};
use crate::sample::{self, SYSTEM_PROGRAM_ID};

/// The stake a validator must exceed, while active, to be in the VED: 5,000 SOL (SPEC §5).
pub const VED_STAKE_THRESHOLD_LAMPORTS: u64 = 5_000 * LAMPORTS_PER_SOL;

/// Lamports in one SOL.
pub const LAMPORTS_PER_SOL: u64 = 1_000_000_000;

/// The denominator of [`ClusterParams::epoch_reward_rate_ppb`]: a rate of 1.0.
pub const PARTS_PER_BILLION: u64 = 1_000_000_000;

/// The text of the shipped default cluster, `engine/genesis/default.toml`.
pub const DEFAULT_GENESIS_TOML: &str = include_str!("../genesis/default.toml");

/// What the secret keys of the default cluster's accounts are derived from; see
/// [`default_keypair_seed`].
const DEFAULT_KEY_DOMAIN: &[u8] = b"tandem:default-genesis:";

/// The SPEC §5 rule of VED membership: an active vote account whose stake exceeds
/// [`VED_STAKE_THRESHOLD_LAMPORTS`]. Genesis applies it to the listed validators; the runtime
/// applies it at every epoch boundary.
pub const fn ved_eligible(active: bool, stake: u64) -> bool {
    active && stake > VED_STAKE_THRESHOLD_LAMPORTS
}

/// The ed25519 secret key (the 32-byte seed of `ed25519_dalek::SigningKey::from_bytes`) of the
/// account called `name` in the default cluster: `SHA-256("tandem:default-genesis:" ‖ name)`.
///
/// The names are those in the comments of `engine/genesis/default.toml`: `validator-0` ..
/// `validator-3` (the nodes), `vote-0` .. `vote-3`, `user-0` .. `user-7` and `program-0`. These keys
/// are public knowledge: they exist so that workload generators and tests can sign for the
/// default cluster, and must never guard anything of value.
pub fn default_keypair_seed(name: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(DEFAULT_KEY_DOMAIN);
    hasher.update(name.as_bytes());
    hasher.finalize().into()
}

/// The cluster-wide parameters of the `[cluster]` table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClusterParams {
    /// Slots in one epoch, at least 1.
    pub slots_per_epoch: u64,
    /// The reward credited per epoch to each vote account in the VED, as parts per billion of its
    /// stake (`epoch_reward_rate` of the file × 10⁹, exact); at most [`PARTS_PER_BILLION`].
    pub epoch_reward_rate_ppb: u64,
    /// The clock at genesis, in milliseconds since the Unix epoch; the first block's timestamp is
    /// checked against it.
    pub unix_timestamp_ms: i64,
}

impl ClusterParams {
    /// The reward for `stake` at one epoch boundary: `stake × rate`, rounded down to a lamport.
    pub const fn epoch_reward(&self, stake: u64) -> u64 {
        // stake < 2⁶⁴ and ppb ≤ 10⁹, so the product fits in u128 and the quotient in u64.
        ((stake as u128 * self.epoch_reward_rate_ppb as u128) / PARTS_PER_BILLION as u128) as u64
    }
}

/// One `[[validator]]` entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GenesisValidator {
    /// The validator's identity; a listed account that pays the fees of its votes.
    pub node: Pubkey,
    /// The vote account genesis creates for it (not listed in [`Genesis::accounts`]).
    pub vote_account: Pubkey,
    /// The stake, in lamports: the vote account's balance at genesis.
    pub stake: u64,
    /// Whether the vote account starts active.
    pub active: bool,
}

impl GenesisValidator {
    /// Whether this validator starts in the VED ([`ved_eligible`]).
    pub const fn starts_in_ved(&self) -> bool {
        ved_eligible(self.active, self.stake)
    }

    /// The domain its node and vote account start in.
    pub const fn domain(&self) -> Domain {
        if self.starts_in_ved() {
            Domain::Ved
        } else {
            Domain::Ued
        }
    }

    /// The mapping of its node and vote account at genesis: RW-VED in the VED, RW-UED otherwise.
    pub const fn mapping(&self) -> Mapping {
        self.domain().writable_mapping()
    }
}

/// A validated genesis file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Genesis {
    /// The `[cluster]` parameters.
    pub cluster: ClusterParams,
    /// The genesis blockhash: `cluster.genesis_hash` when given, else the SHA-256 of the file.
    pub hash: [u8; 32],
    /// The `[[account]]` entries, in file order. Excludes the builtins and the vote accounts.
    pub accounts: Vec<Account>,
    /// The `[[validator]]` entries, in file order.
    pub validators: Vec<GenesisValidator>,
}

/// The longest genesis file read: a TOML file of a gigabyte is no genesis (a wrong path, such
/// as `/dev/zero`, is refused instead of read until memory runs out).
pub const MAX_GENESIS_BYTES: u64 = 1 << 30;

impl Genesis {
    /// Parses and validates a genesis file's text. Without `genesis_hash` the hash is the
    /// SHA-256 of `text`'s bytes, so pass the file exactly as it is on disk.
    pub fn from_toml_str(text: &str) -> Result<Genesis, GenesisError> {
        let de = toml::Deserializer::parse(text).map_err(GenesisError::Syntax)?;
        let raw: RawGenesis = serde_path_to_error::deserialize(de).map_err(|e| {
            let field = field_path(e.path());
            let inner = e.into_inner();
            GenesisError::Invalid {
                field,
                reason: inner.message().to_owned(),
                location: inner.span().map(|span| Location::of(text, span.start)),
            }
        })?;
        Validator { text }.genesis(raw)
    }

    /// Reads and validates the genesis file at `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<Genesis, GenesisError> {
        let path = path.as_ref();
        let bytes = crate::files::read_bounded(path, MAX_GENESIS_BYTES).map_err(|source| {
            GenesisError::Io {
                path: path.to_owned(),
                source,
            }
        })?;
        let text = std::str::from_utf8(&bytes).map_err(|source| GenesisError::NotUtf8 {
            path: path.to_owned(),
            source,
        })?;
        Genesis::from_toml_str(text)
    }

    /// The shipped default cluster, `engine/genesis/default.toml` ([`DEFAULT_GENESIS_TOML`]).
    pub fn default_cluster() -> Genesis {
        Genesis::from_toml_str(DEFAULT_GENESIS_TOML)
            .expect("engine/genesis/default.toml is valid (a unit test loads it)")
    }

    /// What the genesis is, as one hash, kept by a store beside the genesis hash: a
    /// `genesis_hash` given explicitly names the blockhash, not the cluster's parameters,
    /// accounts and validators, which a file giving the same one may change. The SHA-256 of a
    /// binary encoding of its own (version 1), not of any text: the same genesis spaced or
    /// with its keys ordered otherwise gives the same digest, and a change to how genesis files
    /// are written (`to_toml`) changes none. The order of the `[[account]]` and
    /// `[[validator]]` entries counts: it is the genesis's. Pinned by a test: a change to this
    /// encoding refuses every store made before it (`GenesisChanged`), so it needs a new
    /// version that stores of the old one keep.
    pub fn digest(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"tandem:genesis-digest:1");
        h.update(self.cluster.slots_per_epoch.to_le_bytes());
        h.update(self.cluster.epoch_reward_rate_ppb.to_le_bytes());
        h.update(self.cluster.unix_timestamp_ms.to_le_bytes());
        h.update(self.hash);
        h.update((self.accounts.len() as u64).to_le_bytes());
        for a in &self.accounts {
            h.update(a.pubkey.0);
            h.update(a.lamports.to_le_bytes());
            h.update(a.owner.0);
            h.update([u8::from(a.executable), a.mapping.tag()]);
            h.update((a.data.len() as u64).to_le_bytes());
            h.update(&a.data);
        }
        h.update((self.validators.len() as u64).to_le_bytes());
        for v in &self.validators {
            h.update(v.node.0);
            h.update(v.vote_account.0);
            h.update(v.stake.to_le_bytes());
            h.update([u8::from(v.active)]);
        }
        h.finalize().into()
    }

    /// The genesis as a file (SPEC §9) that [`Genesis::from_toml_str`] reads back as this
    /// genesis: every value written out, `genesis_hash` included (so the blockhash does not
    /// depend on the text's bytes), the reward rate as its exact decimal, accounts and
    /// validators in their order. For hosts that take a genesis by path — the C ABI's
    /// `tandem_engine_open` — and a cluster built in memory.
    pub fn to_toml(&self) -> String {
        use std::fmt::Write as _;
        let ppb = self.cluster.epoch_reward_rate_ppb;
        let fraction = format!("{:09}", ppb % PARTS_PER_BILLION);
        let fraction = match fraction.trim_end_matches('0') {
            "" => "0",
            digits => digits,
        };
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = write!(
            out,
            "[cluster]\nslots_per_epoch = {}\nepoch_reward_rate = {}.{fraction}\n\
             unix_timestamp_ms = {}\ngenesis_hash = \"{}\"\n",
            self.cluster.slots_per_epoch,
            ppb / PARTS_PER_BILLION,
            self.cluster.unix_timestamp_ms,
            bs58::encode(self.hash).into_string()
        );
        for account in &self.accounts {
            let _ = write!(
                out,
                "\n[[account]]\npubkey = \"{}\"\nlamports = {}\nmapping = \"{}\"\n",
                account.pubkey,
                account.lamports,
                account.mapping.name()
            );
            if account.owner != SYSTEM_PROGRAM_ID {
                let _ = writeln!(out, "owner = \"{}\"", account.owner);
            }
            if account.executable {
                out.push_str("executable = true\n");
            }
            if !account.data.is_empty() {
                let data = base64::engine::general_purpose::STANDARD.encode(&account.data);
                let _ = writeln!(out, "data = \"{data}\"");
            }
        }
        for validator in &self.validators {
            let _ = write!(
                out,
                "\n[[validator]]\nnode = \"{}\"\nvote_account = \"{}\"\nstake = {}\n\
                 active = {}\n",
                validator.node, validator.vote_account, validator.stake, validator.active
            );
        }
        out
    }

    /// The validators that start in the VED, in file order.
    pub fn ved_validators(&self) -> impl Iterator<Item = &GenesisValidator> {
        self.validators.iter().filter(|v| v.starts_in_ved())
    }

    /// The listed account with this pubkey.
    pub fn account(&self, pubkey: &Pubkey) -> Option<&Account> {
        self.accounts.iter().find(|a| a.pubkey == *pubkey)
    }
}

/// Where in the file a value is: 1-based line and column (in characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Location {
    /// The line, from 1.
    pub line: usize,
    /// The column, from 1, counted in characters.
    pub column: usize,
}

impl Location {
    /// The location of byte `offset` of `text`.
    fn of(text: &str, offset: usize) -> Location {
        let before = text.get(..offset).unwrap_or(text);
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Location {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// Why a genesis file was rejected.
#[derive(Debug, thiserror::Error)]
pub enum GenesisError {
    /// The file could not be read.
    #[error("cannot read genesis file {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not UTF-8, so it is not TOML.
    #[error("genesis file {} is not UTF-8 text: {source}", path.display())]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// Where the first invalid byte is.
        source: std::str::Utf8Error,
    },
    /// The text is not TOML; toml's message says where.
    #[error("genesis file is not valid TOML: {0}")]
    Syntax(toml::de::Error),
    /// A value is missing, unknown, of the wrong type, or breaks a rule.
    #[error("{field}: {reason}{}", location.map(|l| format!(" ({l})")).unwrap_or_default())]
    Invalid {
        /// The path of the value: `cluster.slots_per_epoch`, `account[3].mapping`, … (`genesis`
        /// for the file as a whole).
        field: String,
        /// What is wrong with it.
        reason: String,
        /// Where it is in the file, when known.
        location: Option<Location>,
    },
}

impl GenesisError {
    /// The path of the offending value, for [`GenesisError::Invalid`].
    pub fn field(&self) -> Option<&str> {
        match self {
            GenesisError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }
}

// ---- the file as written ---------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGenesis {
    cluster: RawCluster,
    #[serde(default)]
    account: Vec<RawAccount>,
    #[serde(default)]
    validator: Vec<RawValidator>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCluster {
    slots_per_epoch: Spanned<u64>,
    epoch_reward_rate: Spanned<f64>,
    #[serde(default)]
    unix_timestamp_ms: i64,
    genesis_hash: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccount {
    pubkey: Spanned<String>,
    lamports: Spanned<u64>,
    owner: Option<Spanned<String>>,
    mapping: Spanned<String>,
    #[serde(default)]
    executable: bool,
    data: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawValidator {
    node: Spanned<String>,
    vote_account: Spanned<String>,
    stake: Spanned<u64>,
    #[serde(default = "default_active")]
    active: bool,
}

fn default_active() -> bool {
    true
}

// ---- validation ------------------------------------------------------------------------------

/// Turns the file as written into a [`Genesis`], or the first problem into a [`GenesisError`].
struct Validator<'t> {
    text: &'t str,
}

/// Who already holds a pubkey, for the duplicate checks.
#[derive(Clone, Copy)]
enum Holder {
    Account(usize),
    VoteAccount(usize),
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Holder::Account(i) => write!(f, "account[{i}].pubkey"),
            Holder::VoteAccount(j) => write!(f, "validator[{j}].vote_account"),
        }
    }
}

impl Validator<'_> {
    fn error(&self, field: String, reason: String, span: Range<usize>) -> GenesisError {
        GenesisError::Invalid {
            field,
            reason,
            location: Some(Location::of(self.text, span.start)),
        }
    }

    fn pubkey(
        &self,
        field: impl FnOnce() -> String,
        value: &Spanned<String>,
    ) -> Result<Pubkey, GenesisError> {
        Pubkey::from_base58(value.get_ref())
            .map_err(|e| self.error(field(), e.to_string(), value.span()))
    }

    fn genesis(&self, raw: RawGenesis) -> Result<Genesis, GenesisError> {
        let cluster = self.cluster(&raw.cluster)?;
        let hash = match &raw.cluster.genesis_hash {
            Some(hash) => self.hash(hash)?,
            None => Sha256::digest(self.text.as_bytes()).into(),
        };

        let reserved = [
            (SYSTEM_PROGRAM_ID, "system program"),
            (sample::vote_program_id(), "vote program"),
            (sample::native_loader_id(), "native loader"),
        ];
        let reserved_name = |key: &Pubkey| reserved.iter().find(|(id, _)| id == key).map(|r| r.1);
        let builtin_lamports: u64 = sample::builtin_programs().iter().map(|a| a.lamports).sum();
        let mut supply = builtin_lamports;
        let mut holders: HashMap<Pubkey, Holder> = HashMap::new();

        let mut accounts = Vec::with_capacity(raw.account.len());
        for (i, entry) in raw.account.iter().enumerate() {
            let field = |name: &str| format!("account[{i}].{name}");
            let pubkey = self.pubkey(|| field("pubkey"), &entry.pubkey)?;
            if let Some(name) = reserved_name(&pubkey) {
                return Err(self.error(
                    field("pubkey"),
                    format!(
                        "{pubkey} is the {name} id; genesis adds the builtin program accounts itself"
                    ),
                    entry.pubkey.span(),
                ));
            }
            if let Some(holder) = holders.insert(pubkey, Holder::Account(i)) {
                return Err(self.error(
                    field("pubkey"),
                    format!("{pubkey} is listed twice (also {holder})"),
                    entry.pubkey.span(),
                ));
            }
            let lamports = *entry.lamports.get_ref();
            if lamports == 0 {
                return Err(self.error(
                    field("lamports"),
                    "must be at least 1 (an account without lamports does not exist)".to_owned(),
                    entry.lamports.span(),
                ));
            }
            supply = supply.checked_add(lamports).ok_or_else(|| {
                self.error(
                    field("lamports"),
                    "the total of all lamports in genesis overflows a u64".to_owned(),
                    entry.lamports.span(),
                )
            })?;
            let owner = match &entry.owner {
                Some(owner) => self.pubkey(|| field("owner"), owner)?,
                None => SYSTEM_PROGRAM_ID,
            };
            // A vote account's stake is what the VED's membership and rewards read: genesis
            // makes vote accounts from [[validator]] entries only, whose nodes it checks.
            if owner == sample::vote_program_id()
                && let Some(owner_field) = &entry.owner
            {
                return Err(self.error(
                    field("owner"),
                    "owned by the vote program: genesis makes vote accounts from [[validator]] \
                     entries only"
                        .to_owned(),
                    owner_field.span(),
                ));
            }
            let mapping = self.mapping(&field("mapping"), &entry.mapping, entry.executable)?;
            let data = match &entry.data {
                Some(data) => self.data(&field("data"), data)?,
                None => Vec::new(),
            };
            accounts.push(Account {
                pubkey,
                lamports,
                owner,
                executable: entry.executable,
                data,
                mapping,
            });
        }

        let mut validators = Vec::with_capacity(raw.validator.len());
        let mut nodes: HashMap<Pubkey, usize> = HashMap::new();
        for (j, entry) in raw.validator.iter().enumerate() {
            let field = |name: &str| format!("validator[{j}].{name}");
            let node = self.pubkey(|| field("node"), &entry.node)?;
            let vote_account = self.pubkey(|| field("vote_account"), &entry.vote_account)?;
            let stake = *entry.stake.get_ref();
            if stake == 0 {
                return Err(self.error(
                    field("stake"),
                    "must be at least 1 lamport (it is the vote account's balance)".to_owned(),
                    entry.stake.span(),
                ));
            }
            supply = supply.checked_add(stake).ok_or_else(|| {
                self.error(
                    field("stake"),
                    "the total of all lamports in genesis overflows a u64".to_owned(),
                    entry.stake.span(),
                )
            })?;

            let vote_span = entry.vote_account.span();
            if let Some(name) = reserved_name(&vote_account) {
                return Err(self.error(
                    field("vote_account"),
                    format!("{vote_account} is the {name} id, not a vote account"),
                    vote_span,
                ));
            }
            match holders.insert(vote_account, Holder::VoteAccount(j)) {
                Some(Holder::Account(i)) => {
                    return Err(self.error(
                        field("vote_account"),
                        format!(
                            "{vote_account} is also listed as account[{i}]; genesis creates vote \
                             accounts itself (owner = vote program, lamports = stake), so they \
                             must not be listed"
                        ),
                        vote_span,
                    ));
                }
                Some(holder @ Holder::VoteAccount(_)) => {
                    return Err(self.error(
                        field("vote_account"),
                        format!("{vote_account} is listed twice (also {holder})"),
                        vote_span,
                    ));
                }
                None => {}
            }

            let node_span = entry.node.span();
            // By the keys' map (a search of the accounts for each validator took minutes for a
            // genesis of a million of each).
            let Some(&Holder::Account(i)) = holders.get(&node) else {
                return Err(self.error(
                    field("node"),
                    format!(
                        "{node} is not listed as an [[account]]; a validator's node pays the \
                         fees of its votes, so genesis must fund it"
                    ),
                    node_span,
                ));
            };
            if accounts[i].executable {
                return Err(self.error(
                    field("node"),
                    format!("{node} is account[{i}], a program; a node must not be executable"),
                    node_span,
                ));
            }
            if let Some(other) = nodes.insert(node, j) {
                return Err(self.error(
                    field("node"),
                    format!("{node} is already the node of validator[{other}]; one node serves one validator"),
                    node_span,
                ));
            }

            let validator = GenesisValidator {
                node,
                vote_account,
                stake,
                active: entry.active,
            };
            if accounts[i].mapping != validator.mapping() {
                let (starts, expected) = if validator.starts_in_ved() {
                    ("starts in the VED", "rw-ved")
                } else {
                    ("does not start in the VED", "rw-ued")
                };
                return Err(self.error(
                    format!("account[{i}].mapping"),
                    format!("node of validator[{j}], which {starts}, must be {expected}"),
                    raw.account[i].mapping.span(),
                ));
            }
            validators.push(validator);
        }

        Ok(Genesis {
            cluster,
            hash,
            accounts,
            validators,
        })
    }

    fn cluster(&self, raw: &RawCluster) -> Result<ClusterParams, GenesisError> {
        let slots_per_epoch = *raw.slots_per_epoch.get_ref();
        if slots_per_epoch == 0 {
            return Err(self.error(
                "cluster.slots_per_epoch".to_owned(),
                "must be at least 1".to_owned(),
                raw.slots_per_epoch.span(),
            ));
        }
        let epoch_reward_rate_ppb =
            reward_rate_ppb(*raw.epoch_reward_rate.get_ref()).map_err(|reason| {
                self.error(
                    "cluster.epoch_reward_rate".to_owned(),
                    reason,
                    raw.epoch_reward_rate.span(),
                )
            })?;
        Ok(ClusterParams {
            slots_per_epoch,
            epoch_reward_rate_ppb,
            unix_timestamp_ms: raw.unix_timestamp_ms,
        })
    }

    fn hash(&self, raw: &Spanned<String>) -> Result<[u8; 32], GenesisError> {
        let field = "cluster.genesis_hash".to_owned();
        let text = raw.get_ref();
        if text.len() > crate::account::base58_max_len(32) {
            return Err(self.error(
                field,
                format!(
                    "a base58 text of {} characters: a hash has at most 44",
                    text.len()
                ),
                raw.span(),
            ));
        }
        let bytes = bs58::decode(text).into_vec().map_err(|e| {
            self.error(
                field.clone(),
                format!("{text:?} is not base58: {e}"),
                raw.span(),
            )
        })?;
        let len = bytes.len();
        bytes.try_into().map_err(|_| {
            self.error(
                field,
                format!("{text:?} decodes to {len} bytes, a hash has 32"),
                raw.span(),
            )
        })
    }

    fn mapping(
        &self,
        field: &str,
        raw: &Spanned<String>,
        executable: bool,
    ) -> Result<Mapping, GenesisError> {
        let name = raw.get_ref();
        let mapping = Mapping::from_name(name).ok_or_else(|| {
            self.error(
                field.to_owned(),
                format!("{name:?} is not one of rw-ued, rw-ved, rx-ued, rx-ued-ved"),
                raw.span(),
            )
        })?;
        if !mapping.admits(executable) {
            let reason = if executable {
                format!(
                    "{mapping} holds non-executable accounts only, but this account is executable (programs are rx-ued)"
                )
            } else {
                format!(
                    "{mapping} holds programs only, but this account is not executable (data accounts are rw-ued or rw-ved)"
                )
            };
            return Err(self.error(field.to_owned(), reason, raw.span()));
        }
        if mapping == Mapping::RxUedVed {
            // SPEC §1: only the builtins are executable in both domains.
            return Err(self.error(
                field.to_owned(),
                "rx-ued-ved is reserved for the builtin programs, which genesis adds itself; \
                 every other program is rx-ued"
                    .to_owned(),
                raw.span(),
            ));
        }
        Ok(mapping)
    }

    fn data(&self, field: &str, raw: &Spanned<String>) -> Result<Vec<u8>, GenesisError> {
        let data = base64::engine::general_purpose::STANDARD
            .decode(raw.get_ref())
            .map_err(|e| {
                self.error(
                    field.to_owned(),
                    format!("not base64 (standard alphabet, padded): {e}"),
                    raw.span(),
                )
            })?;
        if data.len() > MAX_ACCOUNT_DATA_LEN {
            return Err(self.error(
                field.to_owned(),
                format!(
                    "{} bytes, more than the {MAX_ACCOUNT_DATA_LEN} bytes (10 MiB) an account may hold",
                    data.len()
                ),
                raw.span(),
            ));
        }
        Ok(data)
    }
}

/// `account[3].mapping` for serde's path of a value: `toml::Spanned` wraps each value in a private
/// field, which is no part of the file, so it is left out. `genesis` for the file as a whole.
fn field_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        let key = match segment {
            Segment::Seq { index } => {
                out.push_str(&format!("[{index}]"));
                continue;
            }
            Segment::Map { key } if key.starts_with("$__serde_spanned") => continue,
            Segment::Map { key } | Segment::Enum { variant: key } => key.as_str(),
            Segment::Unknown => "?",
        };
        if !out.is_empty() {
            out.push('.');
        }
        out.push_str(key);
    }
    if out.is_empty() {
        out.push_str("genesis");
    }
    out
}

/// Converts `epoch_reward_rate` to parts per billion, exactly, or says why it cannot be.
fn reward_rate_ppb(rate: f64) -> Result<u64, String> {
    if rate.is_nan() {
        return Err("must be a number, not nan".to_owned());
    }
    if rate < 0.0 {
        return Err(format!(
            "{rate} is negative; the rate is a fraction of stake, 0 ..= 1"
        ));
    }
    if rate > 1.0 {
        return Err(format!(
            "{rate} is above 1; the rate is a fraction of stake, 0 ..= 1"
        ));
    }
    let ppb = (rate * PARTS_PER_BILLION as f64).round();
    // Exact: ppb ≤ 10⁹ is an exact f64, and IEEE division rounds correctly, so this is the float
    // nearest to ppb / 10⁹, the same float the TOML parser made of a ≤ 9-decimal literal.
    if ppb / PARTS_PER_BILLION as f64 != rate {
        return Err(format!(
            "{rate} has more precision than 1e-9; the rate is kept in parts per billion"
        ));
    }
    Ok(ppb as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_is_pinned_and_the_same_for_the_same_genesis_written_otherwise() {
        let genesis = Genesis::default_cluster();
        let hex: String = genesis
            .digest()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        // Pinned: a change of the encoding refuses every store made before it.
        assert_eq!(
            hex,
            "9e0ffba05b6602772ff26c40c045467278d1b1d63ef2b278580e58f7f0650fa3"
        );
        let rewritten = Genesis::from_toml_str(&genesis.to_toml()).expect("valid");
        assert_eq!(
            rewritten.digest(),
            genesis.digest(),
            "written out by to_toml"
        );
        let mut other = genesis.clone();
        other.cluster.epoch_reward_rate_ppb += 1;
        assert_ne!(other.digest(), genesis.digest());
        let mut other = genesis.clone();
        other.validators[0].active = !other.validators[0].active;
        assert_ne!(other.digest(), genesis.digest());
    }

    #[test]
    fn reward_rate_converts_exactly_to_parts_per_billion() {
        for (rate, ppb) in [
            (0.0, 0),
            (0.0005, 500_000),
            (0.0001, 100_000),
            (1e-9, 1),
            (0.123456789, 123_456_789),
            (0.999999999, 999_999_999),
            (0.1, 100_000_000),
            (1.0, 1_000_000_000),
        ] {
            assert_eq!(reward_rate_ppb(rate), Ok(ppb), "{rate}");
        }
        // Every 9-decimal literal round-trips, checked over a stride of the whole range.
        for ppb in (0..=PARTS_PER_BILLION).step_by(7_919) {
            let literal = format!("0.{ppb:09}");
            let rate: f64 = literal.parse().unwrap();
            assert_eq!(reward_rate_ppb(rate), Ok(ppb), "{literal}");
        }
        for bad in [
            -0.1,
            1.000000001,
            1.5,
            1e-10,
            0.1234567891,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ] {
            assert!(reward_rate_ppb(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn epoch_reward_rounds_down_and_never_overflows() {
        let params = |ppb| ClusterParams {
            slots_per_epoch: 1,
            epoch_reward_rate_ppb: ppb,
            unix_timestamp_ms: 0,
        };
        assert_eq!(
            params(100_000).epoch_reward(10_000 * LAMPORTS_PER_SOL),
            LAMPORTS_PER_SOL
        );
        assert_eq!(params(1).epoch_reward(999_999_999), 0);
        assert_eq!(params(PARTS_PER_BILLION).epoch_reward(u64::MAX), u64::MAX);
    }

    #[test]
    fn ved_rule_is_active_and_strictly_above_5000_sol() {
        assert_eq!(VED_STAKE_THRESHOLD_LAMPORTS, 5_000_000_000_000);
        assert!(!ved_eligible(true, VED_STAKE_THRESHOLD_LAMPORTS));
        assert!(ved_eligible(true, VED_STAKE_THRESHOLD_LAMPORTS + 1));
        assert!(!ved_eligible(false, u64::MAX));
    }

    #[test]
    fn location_counts_lines_and_characters() {
        let text = "a\nbé = 1\n";
        assert_eq!(Location::of(text, 0), Location { line: 1, column: 1 });
        assert_eq!(Location::of(text, 2), Location { line: 2, column: 1 });
        // "bé " is 4 bytes but 3 characters.
        assert_eq!(Location::of(text, 6), Location { line: 2, column: 4 });
    }

    /// Every key of default.toml marked `# name: NAME` is the public key of
    /// [`default_keypair_seed`]`(NAME)`, and every key of a user, validator or program is marked.
    #[test]
    fn default_cluster_keys_derive_from_their_names() {
        let mut pending: Option<&str> = None;
        let mut checked = HashMap::new();
        for (n, line) in DEFAULT_GENESIS_TOML.lines().enumerate() {
            let line = line.trim();
            if let Some(name) = line.strip_prefix("# name:") {
                assert!(pending.is_none(), "line {}: two names in a row", n + 1);
                pending = Some(name.trim());
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let key = key.trim();
            if !matches!(key, "pubkey" | "node" | "vote_account") {
                continue;
            }
            let name = pending
                .take()
                .unwrap_or_else(|| panic!("line {}: {key} without a `# name:` comment", n + 1));
            let value = value.trim().trim_matches('"');
            let secret = default_keypair_seed(name);
            let public = ed25519_dalek::SigningKey::from_bytes(&secret).verifying_key();
            assert_eq!(
                value,
                Pubkey(public.to_bytes()).to_string(),
                "line {}: the key of {name}",
                n + 1
            );
            checked.insert(value.to_owned(), name.to_owned());
        }
        assert!(
            pending.is_none(),
            "a `# name:` comment with no key after it"
        );

        // Every key of the parsed cluster went through the check above.
        let genesis = Genesis::default_cluster();
        for account in &genesis.accounts {
            assert!(checked.contains_key(&account.pubkey.to_string()));
        }
        for v in &genesis.validators {
            assert!(checked.contains_key(&v.node.to_string()));
            assert!(checked.contains_key(&v.vote_account.to_string()));
        }
    }

    #[test]
    fn default_cluster_is_as_documented() {
        let genesis = Genesis::default_cluster();
        assert_eq!(genesis.cluster.slots_per_epoch, 32);
        assert_eq!(genesis.cluster.epoch_reward_rate_ppb, 100_000);
        assert_eq!(genesis.cluster.unix_timestamp_ms, 1_700_000_000_000);
        let hash: [u8; 32] = Sha256::digest(DEFAULT_GENESIS_TOML.as_bytes()).into();
        assert_eq!(genesis.hash, hash);

        assert_eq!(genesis.validators.len(), 4);
        assert_eq!(genesis.ved_validators().count(), 3);
        for (j, v) in genesis.validators.iter().enumerate() {
            let node_key = |name: String| {
                let secret = default_keypair_seed(&name);
                Pubkey(
                    ed25519_dalek::SigningKey::from_bytes(&secret)
                        .verifying_key()
                        .to_bytes(),
                )
            };
            assert_eq!(v.node, node_key(format!("validator-{j}")));
            assert_eq!(v.vote_account, node_key(format!("vote-{j}")));
            assert!(v.active);
            let node = genesis.account(&v.node).unwrap();
            assert_eq!(node.lamports, 100 * LAMPORTS_PER_SOL);
            if j < 3 {
                assert_eq!(v.stake, 10_000 * LAMPORTS_PER_SOL);
                assert!(v.starts_in_ved());
                assert_eq!(node.mapping, Mapping::RwVed);
            } else {
                assert_eq!(v.stake, 1_000 * LAMPORTS_PER_SOL);
                assert!(!v.starts_in_ved());
                assert_eq!(node.mapping, Mapping::RwUed);
            }
        }

        let users: Vec<_> = (0..8)
            .map(|i| {
                let secret = default_keypair_seed(&format!("user-{i}"));
                Pubkey(
                    ed25519_dalek::SigningKey::from_bytes(&secret)
                        .verifying_key()
                        .to_bytes(),
                )
            })
            .collect();
        let user_lamports: u64 = users
            .iter()
            .map(|u| {
                let account = genesis.account(u).unwrap();
                assert_eq!(account.mapping, Mapping::RwUed);
                account.lamports
            })
            .sum();
        assert_eq!(user_lamports, 1_000_000 * LAMPORTS_PER_SOL);

        let programs: Vec<_> = genesis.accounts.iter().filter(|a| a.executable).collect();
        assert_eq!(programs.len(), 1);
        assert_eq!(programs[0].mapping, Mapping::RxUed);
        assert_eq!(
            programs[0].owner.to_string(),
            "BPFLoaderUpgradeab1e11111111111111111111111"
        );
        assert!(!programs[0].data.is_empty());
    }
}
