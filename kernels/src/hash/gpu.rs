//! The hashing kernels on a GPU, through wgpu and the WGSL shaders in `shaders/`.
//!
//! [`GpuHashKernels`] owns, for one [`GpuContext`], the compute pipelines (built once) and
//! buffers that grow as batches need and are reused by every later call; a call uploads its
//! batch, records its dispatches in one submission and reads the results back.
//!
//! - `blake3_many`: messages are packed into one storage buffer, each at a 64-byte aligned offset
//!   and zero-padded to a whole block, with an offset table; one invocation hashes one message.
//!   **Size rule:** an invocation hashes its message serially, so a message longer than
//!   [`GPU_MAX_MESSAGE_BYTES`] would hold its whole dispatch back; such messages are hashed on the
//!   CPU lanes instead (while the GPU works), and every length is right either way.
//! - LtHash: `roots` reduces each account's hash input to its root node; `xof_sum` runs workgroups
//!   of 32 invocations, invocation `t` computing output block `t` of every account of the
//!   workgroup's slice and summing its 32 u16 elements in registers, then adding them atomically
//!   into a 1,024-element sum; `pack` packs the sum, and only those 2,048 bytes come back.
//!   `xof_each` instead writes every account's own 2,048 bytes.
//!   The size rule holds here too: an account whose hash input is longer than
//!   [`GPU_MAX_MESSAGE_BYTES`] is hashed on the CPU.
//! - Batches larger than the device's buffer limits are cut into sub-batches.
//! - A device is used only after it hashed a set of known inputs as the CPU's portable kernels
//!   do ([`GpuHashKernels::checked`]): its output is `hash_VED` and `hash_UED`, and another
//!   driver compiles the WGSL with another compiler.

use std::sync::{Arc, Mutex, OnceLock};

use super::lthash::{AccountInput, LtHash};
use crate::Platform;
use crate::gpu::{
    GpuContext, GpuError, GrowBuffer, bind_buffers, grid, pipeline, storage, storage_entry,
    uniform_buffer, uniform_entry,
};

/// Messages longer than this are hashed on the CPU (see the module docs).
pub const GPU_MAX_MESSAGE_BYTES: usize = 64 * 1024;

const BLAKE3_WGSL: &str = include_str!("../../../shaders/blake3.wgsl");
const BLAKE3_MANY_WGSL: &str = include_str!("../../../shaders/blake3_many.wgsl");
const LTHASH_WGSL: &str = include_str!("../../../shaders/lthash.wgsl");

const NODE_BYTES: u64 = 28 * 4;
const MANY_WORKGROUP: u32 = 64;

/// A batch packed for the shaders: words of data and a (word offset, byte length) table.
struct Packed {
    data: Vec<u8>,
    table: Vec<[u32; 2]>,
}

impl Packed {
    fn with_capacity(bytes: usize, entries: usize) -> Self {
        Packed {
            data: Vec::with_capacity(bytes),
            table: Vec::with_capacity(entries),
        }
    }

    /// Bytes `push` will add for a message of `len` bytes.
    fn cost(len: usize) -> usize {
        len.div_ceil(64).max(1) * 64
    }

    fn push(&mut self, write: impl FnOnce(&mut Vec<u8>)) {
        let start = self.data.len();
        write(&mut self.data);
        let len = self.data.len() - start;
        self.data.resize(start + Packed::cost(len), 0);
        self.table.push([(start / 4) as u32, len as u32]);
    }
}

struct ManyBuffers {
    data: GrowBuffer,
    table: GrowBuffer,
    hashes: GrowBuffer,
    params: wgpu::Buffer,
}

struct LtHashBuffers {
    data: GrowBuffer,
    table: GrowBuffer,
    nodes: GrowBuffer,
    each: GrowBuffer,
    sum: wgpu::Buffer,
    packed: wgpu::Buffer,
    params: wgpu::Buffer,
}

/// The hashing kernels on one GPU context (see the module docs).
pub struct GpuHashKernels {
    ctx: Arc<GpuContext>,
    many_layout: wgpu::BindGroupLayout,
    many: wgpu::ComputePipeline,
    lthash_layout: wgpu::BindGroupLayout,
    roots: wgpu::ComputePipeline,
    xof_sum: wgpu::ComputePipeline,
    xof_each: wgpu::ComputePipeline,
    pack: wgpu::ComputePipeline,
    many_buffers: Mutex<ManyBuffers>,
    lthash_buffers: Mutex<LtHashBuffers>,
    /// Largest batch of packed bytes one dispatch takes.
    max_batch_bytes: usize,
    max_per_dim: u32,
}

impl std::fmt::Debug for GpuHashKernels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuHashKernels")
            .field("ctx", &self.ctx)
            .finish()
    }
}

impl GpuHashKernels {
    /// Builds the pipelines on `ctx`.
    pub fn new(ctx: Arc<GpuContext>) -> GpuHashKernels {
        let device = &ctx.device;
        let module = |label: &str, source: &str| {
            device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(label),
                source: wgpu::ShaderSource::Wgsl(format!("{BLAKE3_WGSL}\n{source}").into()),
            })
        };
        let many_module = module("blake3_many.wgsl", BLAKE3_MANY_WGSL);
        let lthash_module = module("lthash.wgsl", LTHASH_WGSL);

        let many_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("blake3_many bindings"),
            entries: &[
                storage_entry(0, true),
                storage_entry(1, true),
                storage_entry(2, false),
                uniform_entry(3),
            ],
        });
        let lthash_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("lthash bindings"),
            entries: &[
                storage_entry(0, true),
                storage_entry(1, true),
                storage_entry(2, false),
                storage_entry(3, false),
                storage_entry(4, false),
                storage_entry(5, false),
                uniform_entry(6),
            ],
        });
        let pipeline_layout = |layout: &wgpu::BindGroupLayout| {
            device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: None,
                bind_group_layouts: &[Some(layout)],
                immediate_size: 0,
            })
        };
        let many_pl = pipeline_layout(&many_layout);
        let lthash_pl = pipeline_layout(&lthash_layout);
        let uniform = |label| uniform_buffer(device, label);
        let fixed = |label, size| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size,
                usage: storage(),
                mapped_at_creation: false,
            })
        };
        let limits = ctx.limits();
        let max_binding = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        GpuHashKernels {
            many: pipeline(device, &many_pl, &many_module, "blake3_many"),
            roots: pipeline(device, &lthash_pl, &lthash_module, "roots"),
            xof_sum: pipeline(device, &lthash_pl, &lthash_module, "xof_sum"),
            xof_each: pipeline(device, &lthash_pl, &lthash_module, "xof_each"),
            pack: pipeline(device, &lthash_pl, &lthash_module, "pack"),
            many_layout,
            lthash_layout,
            many_buffers: Mutex::new(ManyBuffers {
                data: GrowBuffer::new("blake3_many data", storage()),
                table: GrowBuffer::new("blake3_many table", storage()),
                hashes: GrowBuffer::new("blake3_many hashes", storage()),
                params: uniform("blake3_many params"),
            }),
            lthash_buffers: Mutex::new(LtHashBuffers {
                data: GrowBuffer::new("lthash data", storage()),
                table: GrowBuffer::new("lthash table", storage()),
                nodes: GrowBuffer::new("lthash nodes", storage()),
                each: GrowBuffer::new("lthash each", storage()),
                sum: fixed("lthash sum", 4096),
                packed: fixed("lthash packed", 2048),
                params: uniform("lthash params"),
            }),
            // Keep each packed batch within half a binding (the per-account output, 2 KiB per
            // account, has the other half at most: a power of two up to the whole binding).
            max_batch_bytes: (max_binding / 2).min(1 << 30) as usize,
            max_per_dim: limits.max_compute_workgroups_per_dimension,
            ctx,
        }
    }

    /// Builds the pipelines on `ctx` and checks the device's answers on known inputs — messages
    /// and accounts at the lengths where chunks, blocks and the size rule change, lamports 1
    /// and `u64::MAX`, both executable flags — against the CPU's portable kernels:
    /// [`GpuError::WrongAnswers`] where one differs.
    pub fn checked(ctx: Arc<GpuContext>) -> Result<GpuHashKernels, GpuError> {
        let kernels = GpuHashKernels::new(ctx);
        let wrong =
            |what: String| GpuError::WrongAnswers(format!("{what} ({})", kernels.ctx.info().name));
        let lens = [
            0usize, 1, 63, 64, 65, 1_024, 1_025, 2_048, 8_192, 65_463, 65_464,
        ];
        let data: Vec<Vec<u8>> = lens
            .iter()
            .map(|&n| (0..n).map(|i| (i * 31 + n) as u8).collect())
            .collect();
        let messages: Vec<&[u8]> = data.iter().map(Vec::as_slice).collect();
        let mut gpu = vec![[0u8; 32]; messages.len()];
        let mut cpu = gpu.clone();
        kernels.blake3_many(&messages, &mut gpu)?;
        super::blake3_many(Platform::Portable, &messages, &mut cpu);
        if let Some(i) = (0..gpu.len()).find(|&i| gpu[i] != cpu[i]) {
            return Err(wrong(format!("BLAKE3 of {} bytes", lens[i])));
        }
        let (pubkey, owner) = ([0x11u8; 32], [0x22u8; 32]);
        let accounts: Vec<AccountInput<'_>> = data
            .iter()
            .enumerate()
            .map(|(i, d)| AccountInput {
                pubkey: &pubkey,
                owner: &owner,
                lamports: if i % 2 == 0 { u64::MAX } else { 1 },
                executable: i % 3 == 0,
                data: d,
            })
            .collect();
        let mut gpu = vec![LtHash::identity(); accounts.len()];
        let mut cpu = gpu.clone();
        kernels.lthash_accounts(&accounts, &mut gpu)?;
        super::lthash::lthash_accounts(Platform::Portable, &accounts, &mut cpu);
        if let Some(i) = (0..gpu.len()).find(|&i| gpu[i] != cpu[i]) {
            return Err(wrong(format!(
                "the LtHash of an account of {} bytes",
                lens[i]
            )));
        }
        let (mut gpu_sum, mut cpu_sum) = (LtHash::identity(), LtHash::identity());
        kernels.lthash_accumulate(&accounts, &mut gpu_sum)?;
        super::lthash::lthash_accumulate(Platform::Portable, &accounts, &mut cpu_sum);
        if gpu_sum != cpu_sum {
            return Err(wrong("the LtHash sum of the known accounts".into()));
        }
        Ok(kernels)
    }

    /// The kernels on the process-wide [`GpuContext::shared`], built and checked once.
    pub fn shared() -> Result<Arc<GpuHashKernels>, GpuError> {
        static SHARED: OnceLock<Result<Arc<GpuHashKernels>, GpuError>> = OnceLock::new();
        SHARED
            .get_or_init(|| {
                GpuContext::shared().and_then(|ctx| GpuHashKernels::checked(ctx).map(Arc::new))
            })
            .clone()
    }

    /// The context the kernels run on.
    pub fn context(&self) -> &Arc<GpuContext> {
        &self.ctx
    }

    /// BLAKE3 of every input; `out[i]` receives the hash of `inputs[i]`.
    ///
    /// # Panics
    /// If `out` and `inputs` differ in length.
    pub fn blake3_many(&self, inputs: &[&[u8]], out: &mut [[u8; 32]]) -> Result<(), GpuError> {
        assert_eq!(inputs.len(), out.len(), "one output per input");
        self.ctx.usable()?;
        // Past the size rule, or past a batch's share of the device's binding (which it may
        // not bind at all), a message is hashed on the CPU, as an account is (`lthash_live`).
        let (gpu, cpu): (Vec<usize>, Vec<usize>) = (0..inputs.len()).partition(|&i| {
            let len = inputs[i].len();
            len <= GPU_MAX_MESSAGE_BYTES && Packed::cost(len) <= self.max_batch_bytes
        });
        let mut cpu_done = cpu.is_empty();
        let hash_on_cpu = |out: &mut [[u8; 32]]| {
            let long: Vec<&[u8]> = cpu.iter().map(|&i| inputs[i]).collect();
            let mut hashes = vec![[0u8; 32]; long.len()];
            super::blake3_many(Platform::detect(), &long, &mut hashes);
            for (&i, h) in cpu.iter().zip(hashes) {
                out[i] = h;
            }
        };
        let max_messages = self.grid_items(MANY_WORKGROUP);
        let mut start = 0;
        while start < gpu.len() {
            let mut bytes = 0;
            let mut end = start;
            while end < gpu.len()
                && end - start < max_messages
                && (end == start
                    || bytes + Packed::cost(inputs[gpu[end]].len()) <= self.max_batch_bytes)
            {
                bytes += Packed::cost(inputs[gpu[end]].len());
                end += 1;
            }
            let batch = &gpu[start..end];
            let mut packed = Packed::with_capacity(bytes, batch.len());
            for &i in batch {
                packed.push(|d| d.extend_from_slice(inputs[i]));
            }
            // The buffers are shared by every caller: hold them from the upload until the hashes
            // are read back, or another caller's batch could overwrite them in between.
            let mut buffers = self.many_buffers.lock().unwrap_or_else(|e| e.into_inner());
            let hashes = self.submit_many(&mut buffers, &packed);
            if !cpu_done {
                // The long messages go to the CPU lanes while the GPU works.
                hash_on_cpu(out);
                cpu_done = true;
            }
            let bytes = self.ctx.read_back(hashes, batch.len() as u64 * 32)?;
            drop(buffers);
            for (&i, hash) in batch.iter().zip(bytes.chunks_exact(32)) {
                out[i].copy_from_slice(hash);
            }
            start = end;
        }
        if !cpu_done {
            hash_on_cpu(out);
        }
        Ok(())
    }

    /// Uploads `packed` and submits its dispatch; returns the buffer the hashes will be in. The
    /// caller holds `buffers` (the lock) until it has read them back.
    fn submit_many<'b>(&self, buffers: &'b mut ManyBuffers, packed: &Packed) -> &'b wgpu::Buffer {
        let ctx = &self.ctx;
        let n = packed.table.len() as u32;
        let ManyBuffers {
            data,
            table,
            hashes,
            params,
        } = buffers;
        let data = data.ensure(&ctx.device, packed.data.len() as u64);
        let table = table.ensure(&ctx.device, packed.table.len() as u64 * 8);
        let hashes = hashes.ensure(&ctx.device, n as u64 * 32);
        ctx.queue.write_buffer(data, 0, &packed.data);
        ctx.queue
            .write_buffer(table, 0, bytemuck::cast_slice(&packed.table));
        let (x, y) = grid(n.div_ceil(MANY_WORKGROUP), self.max_per_dim);
        ctx.queue.write_buffer(
            params,
            0,
            bytemuck::cast_slice(&[n, x * MANY_WORKGROUP, 0, 0]),
        );
        let bind = bind_buffers(
            &ctx.device,
            "blake3_many",
            &self.many_layout,
            &[data, table, hashes, params],
        );
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.set_pipeline(&self.many);
            pass.set_bind_group(0, &bind, &[]);
            pass.dispatch_workgroups(x, y, 1);
        }
        ctx.queue.submit([encoder.finish()]);
        hashes
    }

    /// Each account's own LtHash; `out[i]` receives that of `accounts[i]`.
    ///
    /// # Panics
    /// If the lengths differ.
    pub fn lthash_accounts(
        &self,
        accounts: &[AccountInput<'_>],
        out: &mut [LtHash],
    ) -> Result<(), GpuError> {
        assert_eq!(accounts.len(), out.len(), "one output per account");
        self.ctx.usable()?;
        let (live, too_large) = self.lthash_live(accounts);
        for hash in out.iter_mut() {
            *hash = LtHash::identity();
        }
        for i in too_large {
            let (account, hash) = (&accounts[i..=i], &mut out[i..=i]);
            super::lthash::lthash_accounts(Platform::detect(), account, hash);
        }
        // 2 KiB of output per account must fit a binding too, and xof_each's workgroup per
        // account the dispatch grid (far past any batch on a real device's limits).
        let max_accounts = (self.max_batch_bytes / LtHash::BYTES)
            .min(self.grid_items(1))
            .max(1);
        for batch in self.lthash_batches(accounts, &live, max_accounts) {
            let packed = pack_accounts(accounts, batch);
            let bytes = self.run_lthash(&packed, false)?;
            for (&i, chunk) in batch.iter().zip(bytes.chunks_exact(LtHash::BYTES)) {
                out[i] = LtHash::from_bytes(chunk.try_into().expect("2048 bytes"));
            }
        }
        Ok(())
    }

    /// Adds every account's LtHash to `sum`; only 2,048 bytes come back per batch. `sum` changes
    /// only once every batch is in: on an error it is as it was (a caller that does the work
    /// again on the CPU would otherwise count the accounts mixed in before the error twice).
    pub fn lthash_accumulate(
        &self,
        accounts: &[AccountInput<'_>],
        sum: &mut LtHash,
    ) -> Result<(), GpuError> {
        self.ctx.usable()?;
        let (live, too_large) = self.lthash_live(accounts);
        let too_large: Vec<AccountInput<'_>> = too_large.into_iter().map(|i| accounts[i]).collect();
        let mut mixed = sum.clone();
        super::lthash::lthash_accumulate(Platform::detect(), &too_large, &mut mixed);
        for batch in self.lthash_batches(accounts, &live, usize::MAX) {
            let packed = pack_accounts(accounts, batch);
            let bytes = self.run_lthash(&packed, true)?;
            mixed.mix_in(&LtHash::from_bytes(
                bytes[..LtHash::BYTES].try_into().expect("2048 bytes"),
            ));
        }
        *sum = mixed;
        Ok(())
    }

    /// The accounts with lamports (the others' LtHash is the identity), split into those the
    /// GPU hashes and those the CPU does: past the size rule's [`GPU_MAX_MESSAGE_BYTES`] (one
    /// invocation would reduce it alone, holding its dispatch back), and so also past half the
    /// device's largest storage binding, which the device may not bind at all. The same answer.
    fn lthash_live(&self, accounts: &[AccountInput<'_>]) -> (Vec<usize>, Vec<usize>) {
        (0..accounts.len())
            .filter(|&i| accounts[i].lamports != 0)
            .partition(|&i| {
                let len = accounts[i].hash_input_len();
                len <= GPU_MAX_MESSAGE_BYTES && Packed::cost(len) <= self.max_batch_bytes
            })
    }

    /// The most items one dispatch of workgroups of `per_group` items takes: the device's 2-D
    /// grid of workgroups (at least one item).
    fn grid_items(&self, per_group: u32) -> usize {
        let groups = (self.max_per_dim as usize).saturating_mul(self.max_per_dim as usize);
        groups.saturating_mul(per_group as usize).max(1)
    }

    /// Cuts `live` into batches within the buffer limits and the dispatch grid.
    fn lthash_batches<'a>(
        &self,
        accounts: &[AccountInput<'_>],
        live: &'a [usize],
        max_accounts: usize,
    ) -> Vec<&'a [usize]> {
        // The roots' dispatch takes a workgroup per MANY_WORKGROUP accounts.
        let node_limit = ((self.max_batch_bytes as u64 / NODE_BYTES) as usize)
            .min(self.grid_items(MANY_WORKGROUP));
        let mut batches = Vec::new();
        let mut start = 0;
        while start < live.len() {
            let mut bytes = 0;
            let mut end = start;
            while end < live.len()
                && end - start < max_accounts.min(node_limit)
                && (end == start
                    || bytes + Packed::cost(accounts[live[end]].hash_input_len())
                        <= self.max_batch_bytes)
            {
                bytes += Packed::cost(accounts[live[end]].hash_input_len());
                end += 1;
            }
            batches.push(&live[start..end]);
            start = end;
        }
        batches
    }

    /// Runs `roots` then `xof_sum` + `pack` (`sum`) or `xof_each`, and reads the result back:
    /// 2,048 bytes, or 2,048 per account.
    fn run_lthash(&self, packed: &Packed, sum: bool) -> Result<Vec<u8>, GpuError> {
        let ctx = &self.ctx;
        let n = packed.table.len() as u32;
        let mut buffers = self
            .lthash_buffers
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let LtHashBuffers {
            data,
            table,
            nodes,
            each,
            sum: sum_buf,
            packed: packed_buf,
            params,
        } = &mut *buffers;
        let data = data.ensure(&ctx.device, packed.data.len() as u64);
        let table = table.ensure(&ctx.device, packed.table.len() as u64 * 8);
        let nodes = nodes.ensure(&ctx.device, n as u64 * NODE_BYTES);
        let each = each.ensure(
            &ctx.device,
            if sum {
                16
            } else {
                n as u64 * LtHash::BYTES as u64
            },
        );
        ctx.queue.write_buffer(data, 0, &packed.data);
        ctx.queue
            .write_buffer(table, 0, bytemuck::cast_slice(&packed.table));
        let (rx, ry) = grid(n.div_ceil(MANY_WORKGROUP), self.max_per_dim);
        // Slices of accounts per xof_sum workgroup: enough workgroups to fill a large GPU, few
        // enough that the atomic adds (1,024 per workgroup) stay cheap.
        // And no more workgroups than the device's grid.
        let grid_groups = self.grid_items(1).min(u32::MAX as usize) as u32;
        let slice = n.div_ceil(4096).max(16).max(n.div_ceil(grid_groups));
        ctx.queue.write_buffer(
            params,
            0,
            bytemuck::cast_slice(&[n, rx * MANY_WORKGROUP, slice, 0]),
        );
        let bind = bind_buffers(
            &ctx.device,
            "lthash",
            &self.lthash_layout,
            &[data, table, nodes, sum_buf, packed_buf, each, params],
        );
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        if sum {
            encoder.clear_buffer(sum_buf, 0, None);
        }
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.set_bind_group(0, &bind, &[]);
            pass.set_pipeline(&self.roots);
            pass.dispatch_workgroups(rx, ry, 1);
            if sum {
                let (sx, sy) = grid(n.div_ceil(slice), self.max_per_dim);
                pass.set_pipeline(&self.xof_sum);
                pass.dispatch_workgroups(sx, sy, 1);
                pass.set_pipeline(&self.pack);
                pass.dispatch_workgroups(1, 1, 1);
            } else {
                let (ex, ey) = grid(n, self.max_per_dim);
                pass.set_pipeline(&self.xof_each);
                pass.dispatch_workgroups(ex, ey, 1);
            }
        }
        ctx.queue.submit([encoder.finish()]);
        if sum {
            ctx.read_back(packed_buf, LtHash::BYTES as u64)
        } else {
            ctx.read_back(each, n as u64 * LtHash::BYTES as u64)
        }
    }
}

fn pack_accounts(accounts: &[AccountInput<'_>], batch: &[usize]) -> Packed {
    let bytes = batch
        .iter()
        .map(|&i| Packed::cost(accounts[i].hash_input_len()))
        .sum();
    let mut packed = Packed::with_capacity(bytes, batch.len());
    for &i in batch {
        packed.push(|d| accounts[i].write_hash_input(d));
    }
    packed
}
