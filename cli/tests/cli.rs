//! What the `tandem` skin adds over the library: arguments, exit codes, tables and JSON.

use std::process::Command;

fn tandem(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(args)
        .output()
        .expect("run tandem")
}

#[test]
fn store_demo_then_check_succeeds_and_writes_json() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let store = store.to_str().unwrap();
    let demo = tandem(&[
        "store",
        "demo",
        "--dir",
        store,
        "--accounts",
        "500",
        "--slots",
        "2",
    ]);
    assert!(demo.status.success(), "{demo:?}");
    let text = String::from_utf8_lossy(&demo.stdout);
    assert!(text.contains("last committed slot: 2"), "{text}");
    assert!(text.contains("accounts verified"), "{text}");

    let json_path = dir.path().join("check.json");
    let check = tandem(&[
        "store",
        "check",
        store,
        "--json",
        json_path.to_str().unwrap(),
    ]);
    assert!(check.status.success(), "{check:?}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json_path).unwrap()).unwrap();
    assert_eq!(report["committed_slot"], 2);
    let mappings: Vec<&str> = report["regions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["mapping"].as_str().unwrap())
        .collect();
    assert_eq!(mappings, ["rx-ued", "rx-ued-ved", "rw-ved", "rw-ued"]);
    let total: u64 = report["regions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["accounts"].as_u64().unwrap())
        .sum();
    assert!(total >= 506, "{report}");

    // JSON to standard output, and nothing else there.
    let check = tandem(&["store", "check", store, "--json", "-"]);
    assert!(check.status.success());
    let parsed: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    assert_eq!(parsed["committed_slot"], 2);
}

#[test]
fn store_check_fails_with_the_file_and_page_on_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let demo = tandem(&[
        "store",
        "demo",
        "--dir",
        store.to_str().unwrap(),
        "--accounts",
        "300",
        "--slots",
        "0",
    ]);
    assert!(demo.status.success(), "{demo:?}");
    let region = store.join("rw-ued.pages");
    let mut bytes = std::fs::read(&region).unwrap();
    bytes[4096 + 100] ^= 0x01; // a byte in the body of page 1
    std::fs::write(&region, &bytes).unwrap();

    let check = tandem(&["store", "check", store.to_str().unwrap()]);
    assert!(!check.status.success());
    let err = String::from_utf8_lossy(&check.stderr);
    assert!(err.contains("rw-ued.pages"), "{err}");
    assert!(err.contains("page 1"), "{err}");
    assert!(err.contains("checksum mismatch"), "{err}");
}

#[test]
fn store_check_of_a_missing_store_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let check = tandem(&["store", "check", dir.path().to_str().unwrap()]);
    assert!(!check.status.success());
    let err = String::from_utf8_lossy(&check.stderr);
    assert!(err.contains("is not a tandem store"), "{err}");
}
