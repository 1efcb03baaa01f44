//! The genesis file of SPEC §9: the shipped default cluster, and one test per class of invalid
//! field, each checking that the error names the field.

use sha2::{Digest, Sha256};
use tandem_engine::genesis::{
    DEFAULT_GENESIS_TOML, Genesis, GenesisError, LAMPORTS_PER_SOL, VED_STAKE_THRESHOLD_LAMPORTS,
};
use tandem_engine::sample::SYSTEM_PROGRAM_ID;
use tandem_engine::{Mapping, Pubkey};

/// A key that is no builtin id.
fn key(n: u8) -> String {
    Pubkey([n; 32]).to_string()
}

const CLUSTER: &str = "[cluster]\nslots_per_epoch = 8\nepoch_reward_rate = 0.0005\n";

fn account(n: u8, mapping: &str) -> String {
    format!(
        "[[account]]\npubkey = \"{}\"\nlamports = 1_000_000\nmapping = \"{mapping}\"\n",
        key(n)
    )
}

fn validator(node: u8, vote: u8, stake: u64) -> String {
    format!(
        "[[validator]]\nnode = \"{}\"\nvote_account = \"{}\"\nstake = {stake}\n",
        key(node),
        key(vote)
    )
}

/// A valid file: account[0] and account[1] are the nodes of validator[0] (VED) and validator[1]
/// (UED), account[2] a user, account[3] a program.
fn base() -> String {
    [
        CLUSTER.to_owned(),
        account(1, "rw-ved"),
        account(2, "rw-ued"),
        account(3, "rw-ued"),
        format!(
            "[[account]]\npubkey = \"{}\"\nlamports = 5\nowner = \"BPFLoaderUpgradeab1e11111111111111111111111\"\n\
             mapping = \"rx-ued\"\nexecutable = true\ndata = \"AAEC\"\n",
            key(4)
        ),
        validator(1, 11, 10_000 * LAMPORTS_PER_SOL),
        validator(2, 12, 1_000 * LAMPORTS_PER_SOL),
    ]
    .concat()
}

fn invalid(text: &str) -> GenesisError {
    match Genesis::from_toml_str(text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e,
    }
}

/// The error names `field` (as its path and at the start of the message) and says `why`.
#[track_caller]
fn assert_rejects(text: &str, field: &str, why: &str) {
    let error = invalid(text);
    let message = error.to_string();
    assert_eq!(error.field(), Some(field), "{message}");
    assert!(message.starts_with(&format!("{field}: ")), "{message}");
    assert!(message.contains(why), "{message:?} does not say {why:?}");
    assert!(message.contains("line "), "{message:?} does not say where");
}

#[test]
fn the_base_file_is_valid() {
    let genesis = Genesis::from_toml_str(&base()).unwrap();
    assert_eq!(genesis.accounts.len(), 4);
    assert_eq!(genesis.validators.len(), 2);
    assert_eq!(genesis.ved_validators().count(), 1);
    let user = &genesis.accounts[2];
    assert_eq!(
        user.owner, SYSTEM_PROGRAM_ID,
        "owner defaults to the system program"
    );
    assert!(!user.executable, "executable defaults to false");
    assert!(user.data.is_empty(), "data defaults to empty");
    assert_eq!(user.mapping, Mapping::RwUed);
    let program = &genesis.accounts[3];
    assert_eq!(program.data, [0, 1, 2]);
    assert_eq!(program.mapping, Mapping::RxUed);
    assert!(
        genesis.validators.iter().all(|v| v.active),
        "active defaults to true"
    );
    assert_eq!(
        genesis.cluster.unix_timestamp_ms, 0,
        "the clock defaults to 0"
    );
}

#[test]
fn the_default_cluster_loads_from_its_file() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/genesis/default.toml");
    let genesis = Genesis::load(path).unwrap();
    assert_eq!(genesis, Genesis::default_cluster());
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(bytes, DEFAULT_GENESIS_TOML.as_bytes());
    assert_eq!(genesis.hash, <[u8; 32]>::from(Sha256::digest(&bytes)));
    assert_eq!(genesis.validators.len(), 4);
    assert_eq!(genesis.ved_validators().count(), 3);
}

#[test]
fn a_missing_file_is_an_io_error_naming_the_path() {
    let error = Genesis::load("/nonexistent/tandem-genesis.toml").unwrap_err();
    assert!(matches!(error, GenesisError::Io { .. }));
    assert!(
        error
            .to_string()
            .contains("/nonexistent/tandem-genesis.toml")
    );
}

#[test]
fn a_file_that_is_not_utf8_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("genesis.toml");
    std::fs::write(&path, b"[cluster]\n\xff\n").unwrap();
    let error = Genesis::load(&path).unwrap_err();
    assert!(matches!(error, GenesisError::NotUtf8 { .. }), "{error}");
    assert!(error.to_string().contains("genesis.toml"));
}

#[test]
fn toml_syntax_errors_keep_tomls_line_and_column() {
    let text = format!("{CLUSTER}[[account]]\npubkey = \"unterminated\n");
    let error = invalid(&text);
    assert!(matches!(error, GenesisError::Syntax(_)), "{error}");
    assert!(error.to_string().contains("line 5"), "{error}");
}

#[test]
fn unknown_keys_are_rejected() {
    assert_rejects(
        &format!("{}stake_weight = 1\n", CLUSTER),
        "cluster.stake_weight",
        "unknown field",
    );
    let text = base().replacen(
        "mapping = \"rw-ued\"\n",
        "mapping = \"rw-ued\"\ncolour = 1\n",
        1,
    );
    assert_rejects(&text, "account[1].colour", "unknown field `colour`");
    assert_rejects(
        &format!("{}commission = 5\n", base()),
        "validator[1].commission",
        "unknown field",
    );
    assert_rejects(
        &format!("{}[[program]]\nid = 1\n", base()),
        "program",
        "unknown field",
    );
}

#[test]
fn missing_keys_are_rejected() {
    assert_rejects(
        "[cluster]\nslots_per_epoch = 8\n",
        "cluster",
        "missing field `epoch_reward_rate`",
    );
    let text = format!(
        "{CLUSTER}[[validator]]\nnode = \"{}\"\nvote_account = \"{}\"\n",
        key(1),
        key(2)
    );
    assert_rejects(&text, "validator[0]", "missing field `stake`");
    let error = invalid("# an empty file\n");
    assert!(
        error.to_string().contains("missing field `cluster`"),
        "{error}"
    );
}

#[test]
fn values_of_the_wrong_type_are_rejected() {
    let text = base().replacen(
        &format!("stake = {}\n", 1_000 * LAMPORTS_PER_SOL),
        "stake = -5\n",
        1,
    );
    assert_rejects(&text, "validator[1].stake", "invalid value");
    let text = base().replacen("lamports = 5\n", "lamports = \"five\"\n", 1);
    assert_rejects(&text, "account[3].lamports", "invalid type");
    let text = base().replacen("executable = true", "executable = \"yes\"", 1);
    assert_rejects(&text, "account[3].executable", "invalid type");
    assert_rejects(
        &format!("{CLUSTER}unix_timestamp_ms = 1.5\n"),
        "cluster.unix_timestamp_ms",
        "invalid type",
    );
}

#[test]
fn slots_per_epoch_must_be_at_least_one() {
    let text = base().replacen("slots_per_epoch = 8", "slots_per_epoch = 0", 1);
    assert_rejects(&text, "cluster.slots_per_epoch", "must be at least 1");
}

#[test]
fn the_reward_rate_converts_to_exact_parts_per_billion() {
    for (literal, ppb) in [
        ("0.0005", 500_000),
        ("0.0001", 100_000),
        ("0", 0),
        ("0.0", 0),
        ("1", 1_000_000_000),
        ("1e-9", 1),
        ("0.123456789", 123_456_789),
    ] {
        let text = base().replacen("0.0005", literal, 1);
        let genesis = Genesis::from_toml_str(&text).unwrap_or_else(|e| panic!("{literal}: {e}"));
        assert_eq!(genesis.cluster.epoch_reward_rate_ppb, ppb, "{literal}");
    }
    let genesis = Genesis::from_toml_str(&base()).unwrap();
    assert_eq!(
        genesis.cluster.epoch_reward(10_000 * LAMPORTS_PER_SOL),
        5 * LAMPORTS_PER_SOL
    );

    for (literal, why) in [
        ("-0.1", "negative"),
        ("1.0000001", "above 1"),
        ("2", "above 1"),
        ("0.0000000001", "more precision than 1e-9"),
        ("0.00050000001", "more precision than 1e-9"),
        ("nan", "nan"),
        ("inf", "above 1"),
        ("-inf", "negative"),
    ] {
        let text = base().replacen("0.0005", literal, 1);
        assert_rejects(&text, "cluster.epoch_reward_rate", why);
    }
}

#[test]
fn genesis_hash_is_explicit_or_the_files_sha256() {
    let text = base();
    let derived = Genesis::from_toml_str(&text).unwrap().hash;
    assert_eq!(derived, <[u8; 32]>::from(Sha256::digest(text.as_bytes())));
    // Any byte of the file changes it, even a comment.
    let commented = format!("# a comment\n{text}");
    assert_ne!(Genesis::from_toml_str(&commented).unwrap().hash, derived);

    let explicit = [0x42u8; 32];
    let text = base().replacen(
        "[cluster]\n",
        &format!(
            "[cluster]\ngenesis_hash = \"{}\"\n",
            bs58::encode(explicit).into_string()
        ),
        1,
    );
    assert_eq!(Genesis::from_toml_str(&text).unwrap().hash, explicit);
    // Given explicitly, the hash no longer depends on the file's bytes.
    assert_eq!(
        Genesis::from_toml_str(&format!("# another\n{text}"))
            .unwrap()
            .hash,
        explicit
    );
}

#[test]
fn a_bad_genesis_hash_is_rejected() {
    let with_hash = |hash: &str| {
        base().replacen(
            "[cluster]\n",
            &format!("[cluster]\ngenesis_hash = \"{hash}\"\n"),
            1,
        )
    };
    assert_rejects(&with_hash("0OIl"), "cluster.genesis_hash", "not base58");
    assert_rejects(
        &with_hash(&bs58::encode([1u8; 31]).into_string()),
        "cluster.genesis_hash",
        "decodes to 31 bytes",
    );
}

#[test]
fn bad_pubkeys_are_rejected() {
    let text = base().replacen(&key(3), "not-base58!", 1);
    assert_rejects(&text, "account[2].pubkey", "not base58");
    let text = base().replacen(
        "BPFLoaderUpgradeab1e11111111111111111111111",
        "BPFLoader",
        1,
    );
    assert_rejects(&text, "account[3].owner", "decodes to");
    let text = base().replacen(
        &format!("vote_account = \"{}\"", key(12)),
        "vote_account = \"\"",
        1,
    );
    assert_rejects(&text, "validator[1].vote_account", "decodes to 0 bytes");
}

#[test]
fn an_unknown_mapping_is_rejected() {
    let text = base().replacen("mapping = \"rw-ued\"", "mapping = \"rw-foo\"", 1);
    let error = invalid(&text);
    assert_eq!(error.field(), Some("account[1].mapping"));
    assert!(
        error.to_string().starts_with(
            "account[1].mapping: \"rw-foo\" is not one of rw-ued, rw-ved, rx-ued, rx-ued-ved (line "
        ),
        "{error}"
    );
}

#[test]
fn mapping_must_fit_executable() {
    // A program in a data mapping.
    let text = base().replacen("mapping = \"rx-ued\"", "mapping = \"rw-ued\"", 1);
    assert_rejects(&text, "account[3].mapping", "non-executable accounts only");
    // A data account in a program mapping.
    let text = base().replacen(&account(3, "rw-ued"), &account(3, "rx-ued"), 1);
    assert_rejects(&text, "account[2].mapping", "programs only");
    // RX-UED-VED belongs to the builtins alone (SPEC §1).
    let text = base().replacen("mapping = \"rx-ued\"", "mapping = \"rx-ued-ved\"", 1);
    assert_rejects(
        &text,
        "account[3].mapping",
        "reserved for the builtin programs",
    );
}

#[test]
fn data_must_be_base64_and_at_most_10_mib() {
    let text = base().replacen("data = \"AAEC\"", "data = \"not base64!\"", 1);
    assert_rejects(&text, "account[3].data", "not base64");

    use base64::Engine as _;
    let encode = |len| base64::engine::general_purpose::STANDARD.encode(vec![7u8; len]);
    let at_limit = base().replacen("AAEC", &encode(10 * 1024 * 1024), 1);
    let genesis = Genesis::from_toml_str(&at_limit).unwrap();
    assert_eq!(genesis.accounts[3].data.len(), 10 * 1024 * 1024);
    let over = base().replacen("AAEC", &encode(10 * 1024 * 1024 + 1), 1);
    assert_rejects(&over, "account[3].data", "10 MiB");
}

#[test]
fn an_account_needs_lamports() {
    let text = base().replacen("lamports = 5\n", "lamports = 0\n", 1);
    assert_rejects(&text, "account[3].lamports", "at least 1");
}

#[test]
fn the_total_supply_must_fit_in_a_u64() {
    let big = i64::MAX;
    let text = base().replacen("lamports = 1_000_000\n", &format!("lamports = {big}\n"), 2);
    assert_rejects(&text, "account[1].lamports", "overflows");
}

#[test]
fn duplicate_account_pubkeys_are_rejected() {
    let text = format!("{}{}", base(), account(3, "rw-ued"));
    assert_rejects(
        &text,
        "account[4].pubkey",
        "listed twice (also account[2].pubkey)",
    );
}

#[test]
fn builtin_ids_may_not_be_listed() {
    for (id, name) in [
        ("11111111111111111111111111111111", "system program"),
        (
            "Vote111111111111111111111111111111111111111",
            "vote program",
        ),
        (
            "NativeLoader1111111111111111111111111111111",
            "native loader",
        ),
    ] {
        let text = base().replacen(&key(3), id, 1);
        assert_rejects(&text, "account[2].pubkey", name);
        let text = base().replacen(&key(12), id, 1);
        assert_rejects(&text, "validator[1].vote_account", name);
    }
}

#[test]
fn a_vote_account_may_not_be_listed_as_an_account() {
    let text = base().replacen(&key(12), &key(3), 1);
    assert_rejects(
        &text,
        "validator[1].vote_account",
        "also listed as account[2]",
    );
}

#[test]
fn duplicate_vote_accounts_are_rejected() {
    let text = base().replacen(&key(12), &key(11), 1);
    assert_rejects(
        &text,
        "validator[1].vote_account",
        "listed twice (also validator[0].vote_account)",
    );
}

#[test]
fn a_validator_needs_stake() {
    let text = base().replacen(
        &format!("stake = {}\n", 1_000 * LAMPORTS_PER_SOL),
        "stake = 0\n",
        1,
    );
    assert_rejects(&text, "validator[1].stake", "at least 1 lamport");
}

#[test]
fn a_node_must_be_a_listed_data_account_of_one_validator() {
    let text = base().replacen(
        &format!("node = \"{}\"", key(2)),
        &format!("node = \"{}\"", key(9)),
        1,
    );
    assert_rejects(&text, "validator[1].node", "not listed as an [[account]]");

    let text = base().replacen(
        &format!("node = \"{}\"", key(2)),
        &format!("node = \"{}\"", key(4)),
        1,
    );
    assert_rejects(&text, "validator[1].node", "must not be executable");

    let text = format!("{}{}", base(), validator(2, 13, 1_000 * LAMPORTS_PER_SOL));
    assert_rejects(
        &text,
        "validator[2].node",
        "already the node of validator[1]",
    );
}

#[test]
fn a_nodes_mapping_must_follow_its_ved_membership() {
    // validator[0] (10,000 SOL, active) starts in the VED; its node is account[0].
    let text = base().replacen(&account(1, "rw-ved"), &account(1, "rw-ued"), 1);
    let error = invalid(&text);
    assert_eq!(error.field(), Some("account[0].mapping"));
    assert!(
        error.to_string().starts_with(
            "account[0].mapping: node of validator[0], which starts in the VED, must be rw-ved"
        ),
        "{error}"
    );

    // validator[1] (1,000 SOL) does not; its node is account[1].
    let text = base().replacen(&account(2, "rw-ued"), &account(2, "rw-ved"), 1);
    assert_rejects(
        &text,
        "account[1].mapping",
        "node of validator[1], which does not start in the VED, must be rw-ued",
    );

    // An inactive validator does not start in the VED, whatever its stake.
    let text = base().replacen(
        &format!("stake = {}\n", 10_000 * LAMPORTS_PER_SOL),
        &format!("stake = {}\nactive = false\n", 10_000 * LAMPORTS_PER_SOL),
        1,
    );
    assert_rejects(&text, "account[0].mapping", "does not start in the VED");
}

#[test]
fn the_ved_threshold_is_strict() {
    let at = base().replacen(
        &format!("stake = {}", 10_000 * LAMPORTS_PER_SOL),
        &format!("stake = {VED_STAKE_THRESHOLD_LAMPORTS}"),
        1,
    );
    // Exactly 5,000 SOL is not above the threshold, so its node must be rw-ued.
    assert_rejects(&at, "account[0].mapping", "does not start in the VED");
    let at = at.replacen(&account(1, "rw-ved"), &account(1, "rw-ued"), 1);
    let genesis = Genesis::from_toml_str(&at).unwrap();
    assert_eq!(genesis.ved_validators().count(), 0);

    let above = base().replacen(
        &format!("stake = {}", 10_000 * LAMPORTS_PER_SOL),
        &format!("stake = {}", VED_STAKE_THRESHOLD_LAMPORTS + 1),
        1,
    );
    let genesis = Genesis::from_toml_str(&above).unwrap();
    let ved: Vec<_> = genesis.ved_validators().collect();
    assert_eq!(ved.len(), 1);
    assert_eq!(ved[0].node, Pubkey([1; 32]));
    assert_eq!(ved[0].mapping(), Mapping::RwVed);
}

#[test]
fn an_account_owned_by_the_vote_program_may_not_be_listed() {
    // Its data could hold any stake: the VED's membership, rewards and total stake would count
    // it, with no node checked behind it.
    let forged = format!(
        "[[account]]\npubkey = \"{}\"\nlamports = 1\nowner = \"{}\"\nmapping = \"rw-ved\"\n",
        key(9),
        tandem_engine::sample::vote_program_id()
    );
    let text = base().replacen("[[validator]]", &format!("{forged}[[validator]]"), 1);
    assert_rejects(&text, "account[4].owner", "owned by the vote program");
}

/// `Genesis::to_toml` reads back as the same genesis — blockhash included — for the base
/// file with every optional field varied, the default cluster, and rates and clocks at their
/// edges; and writing what was read back gives the same text.
#[test]
fn a_written_genesis_reads_back_as_itself() {
    let inactive = format!(
        "{}active = false\n",
        validator(3, 13, 20_000 * LAMPORTS_PER_SOL)
    );
    let mut cases = vec![
        Genesis::default_cluster(),
        Genesis::from_toml_str(&base()).unwrap(),
        Genesis::from_toml_str(&(base() + &inactive)).unwrap(),
        Genesis::from_toml_str(CLUSTER).unwrap(),
    ];
    for (rate, clock) in [
        ("0", i64::MIN),
        ("1.0", i64::MAX),
        ("0.123456789", -1),
        ("1e-9", 1_700_000_000_000),
    ] {
        let text = format!(
            "[cluster]\nslots_per_epoch = 1\nepoch_reward_rate = {rate}\nunix_timestamp_ms = {clock}\n"
        );
        cases.push(Genesis::from_toml_str(&text).unwrap());
    }
    for genesis in cases {
        let text = genesis.to_toml();
        let back = Genesis::from_toml_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(back, genesis, "{text}");
        assert_eq!(back.to_toml(), text);
    }
}
