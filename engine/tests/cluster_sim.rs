//! The cluster simulation (issue #11): who halts, by stake, when some validators compute other
//! UED hashes (SPEC §6).

use tandem_engine::cluster::sim::{ClusterConfig, ClusterReport, run_cluster};

fn run(stakes_sol: &[u64], faulty: &[usize]) -> ClusterReport {
    let dir = tempfile::tempdir().expect("dir");
    let config = ClusterConfig {
        stakes_sol: stakes_sol.to_vec(),
        faulty: faulty.to_vec(),
        fault_slot: 4,
        slots: 16,
        transfers: 20,
        seed: 3,
    };
    run_cluster(&config, dir.path(), |_| {}).expect("the run")
}

fn halted(report: &ClusterReport) -> Vec<(usize, Option<u64>)> {
    report
        .validators
        .iter()
        .filter(|v| v.halted)
        .map(|v| (v.index, v.halt_slot))
        .collect()
}

#[test]
fn four_equal_validators_one_faulty_only_the_faulty_one_halts_naming_the_first_divergent_slot() {
    let report = run(&[10_000; 4], &[3]);
    assert_eq!(halted(&report), [(3, Some(4))]);
    assert!(!report.honest_halted);
    let honest: Vec<_> = report.validators.iter().filter(|v| !v.faulty).collect();
    // The honest ones agree with each other and keep confirming: 3/4 of the stake behind them.
    assert!(
        honest
            .windows(2)
            .all(|w| w[0].final_ued_hash == w[1].final_ued_hash)
    );
    assert!(
        honest
            .iter()
            .all(|v| v.ued_agreement * 4 >= report.ved_stake * 3)
    );
    assert_ne!(
        report.validators[3].final_ued_hash,
        honest[0].final_ued_hash
    );
    assert_eq!(
        honest[0].final_ved_hash, report.validators[3].final_ved_hash,
        "the VED agrees"
    );
}

#[test]
fn four_equal_validators_two_faulty_everyone_halts() {
    let report = run(&[10_000; 4], &[2, 3]);
    assert_eq!(halted(&report).len(), 4, "{:?}", report.validators);
    assert!(report.honest_halted);
}

#[test]
fn a_faulty_validator_under_a_third_of_the_stake_halts_nobody_honest_and_one_above_does() {
    let report = run(&[50_000, 30_000, 20_000], &[1]);
    assert!(!report.honest_halted, "{:?}", report.validators);
    assert!(
        report.validators[1].halted,
        "the faulty one sees 70 % disagree"
    );
    // The disagreement shows: the honest ones have 70 % of the stake behind their UED hash, and
    // their metrics saw 30 % report otherwise.
    assert_eq!(report.validators[0].ued_agreement, 70_000_000_000_000);
    for honest in [0, 2] {
        assert_eq!(report.validators[honest].max_ued_disagreement_bps, 3_000);
    }
    let report = run(&[40_000, 34_000, 26_000], &[1]);
    assert!(
        report.honest_halted,
        "34 % disagrees: {:?}",
        report.validators
    );
    assert!(report.validators.iter().all(|v| v.halted));
}

/// Two validators of 10,000 SOL over two slots, `faulty` from slot 4.
fn small(faulty: Vec<usize>) -> ClusterConfig {
    ClusterConfig {
        stakes_sol: vec![10_000; 2],
        faulty,
        fault_slot: 4,
        slots: 2,
        transfers: 1,
        seed: 3,
    }
}

#[test]
fn stakes_that_do_not_fit_in_lamports_are_refused_naming_the_setting() {
    // 18,446,744,074 SOL is past u64::MAX lamports: it wrapped to 0.29 SOL (out of the VED);
    // two halves of the range overflowed the total; a stake of 0 built an empty vote account.
    let dir = tempfile::tempdir().expect("dir");
    for stakes in [
        vec![18_446_744_074, 10_000],
        vec![10_000_000_000; 2],
        vec![0, 10_000],
    ] {
        let config = ClusterConfig {
            stakes_sol: stakes.clone(),
            ..small(Vec::new())
        };
        let e = run_cluster(&config, dir.path(), |_| {}).expect_err("refused");
        assert!(e.starts_with("--stakes"), "{stakes:?}: {e}");
    }
    // As the flag is written, not as a Rust list ("--stakes [0, 10000]").
    let config = ClusterConfig {
        stakes_sol: vec![0, 10_000],
        ..small(Vec::new())
    };
    let e = run_cluster(&config, dir.path(), |_| {}).expect_err("refused");
    assert!(e.starts_with("--stakes 0,10000: "), "{e}");
}

#[test]
fn faults_that_would_never_happen_are_refused() {
    // A validator named faulty twice, and a fault slot after the last: accepted, and the table
    // showed "faulty yes" beside full agreement.
    let dir = tempfile::tempdir().expect("dir");
    let config = |faulty: Vec<usize>, fault_slot| ClusterConfig {
        stakes_sol: vec![10_000; 4],
        faulty,
        fault_slot,
        slots: 4,
        transfers: 1,
        seed: 3,
    };
    let e = run_cluster(&config(vec![1, 1], 2), dir.path(), |_| {}).expect_err("refused");
    assert_eq!(e, "--faulty: validator 1 is named twice");
    let e = run_cluster(&config(vec![3], 5), dir.path(), |_| {}).expect_err("refused");
    assert_eq!(
        e,
        "--fault-slot 5: after the last slot (4), so the faulty validators would never compute \
         differently"
    );
}
