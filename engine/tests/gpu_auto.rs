//! The engine on `Backend::Auto` with its batches on a GPU, and the device failing mid-run: the
//! results are the CPU runtime's throughout, and the engine goes on (SPEC §7: `auto` is where
//! the work runs, never what it computes). A separate test binary (process): it lets `Auto`
//! choose lavapipe, which it never does in production, with a threshold of a few items, and
//! destroys the process-wide device.

use std::sync::{Arc, Mutex};
use std::time::Duration;

mod chain;

use tandem_engine::Domain;
use tandem_engine::genesis::Genesis;
use tandem_engine::pipeline::{Engine, EngineConfig, EngineHooks};
use tandem_engine::runtime::{Backend, BlockOutcome};
use tandem_engine::workload::WorkloadConfig;
use tandem_kernels::gpu::GpuContext;
use tandem_kernels::testing::{gpu_or_skip, let_auto_use_software_adapters};

#[test]
fn auto_on_a_gpu_that_fails_mid_run_gives_the_cpus_results_and_goes_on() {
    let Some(shared) = gpu_or_skip("the engine on auto", GpuContext::shared()) else {
        return;
    };
    let_auto_use_software_adapters();
    tandem_kernels::set_auto_gpu_min_items(8);
    let genesis = Genesis::default_cluster();
    let config = WorkloadConfig {
        slots: 36,
        seed: 21,
        transfers: 40,
        ..WorkloadConfig::default()
    };
    let (blocks, sequential) = chain::generated_blocks(&genesis, &config);
    let seen: Arc<Mutex<Vec<BlockOutcome>>> = Arc::default();
    let outcomes = Arc::clone(&seen);
    let hooks = EngineHooks {
        on_outcome: Some(Box::new(move |o| outcomes.lock().unwrap().push(o.clone()))),
        ..EngineHooks::default()
    };
    let config = EngineConfig {
        backend: Backend::Auto,
        ued_threads: 2,
        ..EngineConfig::default()
    };
    let dir = tempfile::tempdir().expect("dir");
    let engine = Engine::open(&genesis, dir.path(), config, hooks).expect("open");
    let (before, after) = blocks.split_at(20);
    for block in before {
        engine.submit(block.clone()).expect("submit");
    }
    engine
        .wait_hash(
            Domain::Ued,
            before.last().unwrap().header.slot,
            Duration::from_secs(120),
        )
        .expect("no failure");
    assert!(shared.failure().is_none(), "the device worked until now");
    // The shared device (user signatures, LtHashes) is lost; the VED's own device goes on.
    shared.device().destroy();
    for block in after {
        engine.submit(block.clone()).expect("submit");
    }
    let summary = engine.finish().expect("auto goes on after the GPU failed");
    assert!(
        shared.failure().is_some(),
        "the engine's kernels met the failure"
    );
    let got = seen.lock().unwrap();
    assert_eq!(got.len(), sequential.len());
    for (got, want) in got.iter().zip(&sequential) {
        assert!(
            got == want,
            "slot {} differs from the CPU runtime's",
            want.slot
        );
    }
    let last = sequential.last().unwrap();
    assert_eq!(summary.hashes, [last.ved_hash, last.ued_hash]);
}
