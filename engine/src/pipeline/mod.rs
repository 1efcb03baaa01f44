//! The pipeline of pinned stages (issue #10). What it owns:
//! - [`engine`]: the asynchronous engine — ingest, the two sigverify stages, the VED and UED
//!   executors on their own pinned threads (a file per stage), bounded queues between them,
//!   the vote point, the live status index, the cluster view's halts;
//! - [`guess`]: ingest's guess of each transaction's domain, which splits the signature checks
//!   between the two sigverify stages;
//! - [`topology`]: the machine read from hwloc — packages, NUMA nodes, cores, PUs, the GPU's
//!   NUMA node, memory protection keys — with a stated fallback where hwloc fails;
//! - [`placement`]: the plan of which PUs each stage (sigverify, VED, UED, hash, GPU feeder)
//!   runs on;
//! - [`cores`]: the `cores` setting that overrides the plan stage by stage;
//! - [`interrupts`]: where the machine's disks deliver their interrupts, and a note when that
//!   is a sigverify PU;
//! - [`pin`]: the pinning of a thread to a PU;
//! - [`spread`](mod@spread): a batch shared between a stage's thread and helper threads pinned to other
//!   PUs, started once and parked between batches ([`HelperPool`]);
//! - [`metrics`]: what every stage and the engine report (items, busy/idle/blocked time, queue
//!   depth, time-to-vote, the UED's lag, transactions per second), and the Prometheus endpoint.
//!
//! The engine's stages take their PUs from a [`Placement`], pin with
//! [`Placement::pin_thread_to_stage`] and report through a [`metrics::StageMetrics`]; only the
//! UED executor (the [`crate::runtime::Runtime`]) touches the store.

pub mod cores;
pub mod engine;
pub mod guess;
pub mod interrupts;
pub mod metrics;
pub mod pin;
pub mod placement;
pub mod spread;
pub mod survey;
pub mod topology;

pub use cores::{CoreSpec, CoresError};
pub use engine::{
    DEFAULT_UED_YIELD_LIMIT, Engine, EngineConfig, EngineError, EngineHooks, EngineSummary,
    Failure, NotFound, SPARE_BLOCK_BUFFERS, TxView, VOTE_SIGNER_CACHE, Vote, Waited,
    vote_signer_places,
};
pub use guess::{VedPayers, guess_ved};
pub use pin::{PinError, pin_current_thread, unpin_current_thread};
pub use placement::{Origin, Placement, Stage, StagePlacement};
pub use spread::{
    HelperPool, SetOnDrop, Threads, spread, spread_in_chunks, spread_in_chunks_beside,
    spread_in_chunks_over, spread_over,
};
pub use survey::{Backends, NoGpuAdapter, Survey, backend_name};
pub use topology::{GpuAdapter, ProtectionKeys, SyntheticShape, Topology, TopologySource};
