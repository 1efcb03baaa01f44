//! The VED executor's kernels on GPU devices of their own: on the GPU backend its LtHash and
//! the signatures it checks itself never go to the process-wide device, where the UED's work
//! queues (and holds the kernels' locks through its readbacks) — a vote point never waits
//! behind user work. A separate test binary (process): it destroys the process-wide device.

mod chain;

use tandem_engine::genesis::Genesis;
use tandem_engine::runtime::ingest::parse_block;
use tandem_engine::runtime::{Backend, Runtime};
use tandem_engine::workload::WorkloadConfig;
use tandem_kernels::gpu::GpuContext;
use tandem_kernels::testing::gpu_or_skip;

#[test]
fn the_ved_executor_hashes_and_verifies_on_its_own_device_not_the_shared_one() {
    let Some(shared) = gpu_or_skip("the VED executor on the GPU", GpuContext::shared()) else {
        return;
    };
    let genesis = Genesis::default_cluster();
    let config = WorkloadConfig {
        slots: 4,
        seed: 5,
        transfers: 8,
        ..WorkloadConfig::default()
    };
    let (blocks, sequential) = chain::generated_blocks(&genesis, &config);
    let dir = tempfile::tempdir().expect("dir");
    let runtime = Runtime::open_with(&genesis, dir.path(), Backend::Gpu).expect("runtime");
    let mut ved = runtime.ved_executor();
    // The shared device — the UED's signatures and LtHashes — is lost: the VED goes on, and
    // computes what the CPU runtime did.
    shared.device().destroy();
    for (block, want) in blocks.iter().zip(&sequential) {
        let (_, payers) = parse_block(block).expect("parses");
        // No signature verified beforehand: the executor checks its own transactions.
        let verified = vec![None; block.transactions.len()];
        let done = ved
            .execute(block, &payers, &verified)
            .expect("the VED's kernels are not the shared device's");
        assert_eq!(done.ved_hash, want.ved_hash, "slot {}", want.slot);
    }
    assert!(
        shared.failure().is_none(),
        "the shared device was asked again: {:?}",
        shared.failure()
    );
}
