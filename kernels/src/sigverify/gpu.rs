//! ed25519 verification on a GPU, through wgpu and `shaders/ed25519*.wgsl`.
//!
//! **Validation.** `tests/sigverify_gpu.rs` holds it to ed25519-dalek on every class of input
//! (on lavapipe in CI), and `tests/gpu_challenge.rs` holds the SHA-512/mod-L part to sha2 and
//! curve25519-dalek over thousands of values. Where it runs, a device is used only after it
//! answered a set of known inputs as the reference does ([`GpuEd25519::checked`]): a driver
//! elsewhere compiles the same WGSL with another compiler, and a wrong answer there would fork
//! the validator from the cluster.
//!
//! **Why field elements are five `vec4<u32>`.** As 20-word private arrays, Mesa's compiler took
//! 47 s to build the pipeline and ~300 s per verification on lavapipe (a harness with field
//! arithmetic alone was fast; the point layer inlined on top was not). Accessed only by constant
//! index, they stay in registers: the pipeline builds in ~4 s and a verification is milliseconds.

use std::sync::{Arc, Mutex, OnceLock};

use super::reference;
use crate::gpu::{
    GpuContext, GpuError, GrowBuffer, bind_buffers, grid, pipeline, storage, storage_entry,
    uniform_buffer, uniform_entry,
};

const CHALLENGE_WGSL: &str = include_str!("../../../shaders/ed25519_challenge.wgsl");
const FIELD_WGSL: &str = include_str!("../../../shaders/ed25519.wgsl");
const VERIFY_WGSL: &str = include_str!("../../../shaders/ed25519_verify.wgsl");
const WORKGROUP: u32 = 64;

/// SHA-512's padding of `parts` concatenated: 0x80, zeros, the 128-bit big-endian bit length, to a
/// multiple of 128 bytes. Appends to `out`; returns the number of 128-byte blocks.
pub(crate) fn sha512_pad_into(parts: &[&[u8]], out: &mut Vec<u8>) -> u32 {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let start = out.len();
    for part in parts {
        out.extend_from_slice(part);
    }
    out.push(0x80);
    let total = (len + 1 + 16).div_ceil(128) * 128;
    out.resize(start + total - 16, 0);
    out.extend_from_slice(&((len as u128) * 8).to_be_bytes());
    (total / 128) as u32
}

struct Buffers {
    hash_input: GrowBuffer,
    table: GrowBuffer,
    sigs: GrowBuffer,
    keys: GrowBuffer,
    results: GrowBuffer,
    params: wgpu::Buffer,
}

/// The ed25519 verifier on one GPU context.
pub struct GpuEd25519 {
    ctx: Arc<GpuContext>,
    layout: wgpu::BindGroupLayout,
    verify: wgpu::ComputePipeline,
    buffers: Mutex<Buffers>,
    max_batch_bytes: usize,
    max_per_dim: u32,
}

impl std::fmt::Debug for GpuEd25519 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuEd25519")
            .field("ctx", &self.ctx)
            .finish()
    }
}

impl GpuEd25519 {
    /// Builds the pipeline on `ctx`.
    pub fn new(ctx: Arc<GpuContext>) -> GpuEd25519 {
        let device = &ctx.device;
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("ed25519_verify.wgsl"),
            source: wgpu::ShaderSource::Wgsl(
                format!("{CHALLENGE_WGSL}\n{FIELD_WGSL}\n{VERIFY_WGSL}").into(),
            ),
        });
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("ed25519 bindings"),
            entries: &[
                storage_entry(0, true),
                storage_entry(1, true),
                storage_entry(2, true),
                storage_entry(3, true),
                storage_entry(4, false),
                uniform_entry(5),
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: None,
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let limits = ctx.limits();
        let max_binding = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        GpuEd25519 {
            verify: pipeline(device, &pipeline_layout, &module, "ed25519_verify"),
            layout,
            buffers: Mutex::new(Buffers {
                hash_input: GrowBuffer::new("ed25519 hash input", storage()),
                table: GrowBuffer::new("ed25519 table", storage()),
                sigs: GrowBuffer::new("ed25519 signatures", storage()),
                keys: GrowBuffer::new("ed25519 keys", storage()),
                results: GrowBuffer::new("ed25519 results", storage()),
                params: uniform_buffer(device, "ed25519 params"),
            }),
            max_batch_bytes: (max_binding / 2).min(1 << 30) as usize,
            max_per_dim: limits.max_compute_workgroups_per_dimension,
            ctx,
        }
    }

    /// Builds the pipeline on `ctx` and checks the device's answers on known inputs — valid
    /// and tampered signatures, S at and past L, small-order and non-canonical points — against
    /// the reference verifier: [`GpuError::WrongAnswers`] where one differs.
    pub fn checked(ctx: Arc<GpuContext>) -> Result<GpuEd25519, GpuError> {
        let verifier = GpuEd25519::new(ctx);
        let (sigs, keys, msgs) = known_inputs();
        let msgs: Vec<&[u8]> = msgs.iter().map(Vec::as_slice).collect();
        let mut results = vec![2u8; sigs.len()];
        verifier.verify_batch(&sigs, &keys, &msgs, &mut results)?;
        for (i, got) in results.iter().enumerate() {
            let want = u8::from(reference::verify(&sigs[i], &keys[i], msgs[i]));
            if *got != want {
                return Err(GpuError::WrongAnswers(format!(
                    "ed25519 known input {i} of {} ({}): the device answered {got}, the \
                     reference {want}",
                    sigs.len(),
                    verifier.ctx.info().name
                )));
            }
        }
        Ok(verifier)
    }

    /// The verifier on the process-wide [`GpuContext::shared`], built and checked once.
    pub fn shared() -> Result<Arc<GpuEd25519>, GpuError> {
        static SHARED: OnceLock<Result<Arc<GpuEd25519>, GpuError>> = OnceLock::new();
        SHARED
            .get_or_init(|| {
                GpuContext::shared().and_then(|ctx| GpuEd25519::checked(ctx).map(Arc::new))
            })
            .clone()
    }

    /// The context the verifier runs on.
    pub fn context(&self) -> &Arc<GpuContext> {
        &self.ctx
    }

    /// Verifies every signature; `results[i]` is 1 when signature `i` is valid, else 0.
    ///
    /// Batches are cut so that their SHA-512 input stays within half the largest storage
    /// binding the device allows (`plan`). A message longer than [`GPU_MAX_MESSAGE_BYTES`] is
    /// verified by the reference on the CPU — the same answer: on the GPU one thread would hash
    /// it alone, holding its whole dispatch back (a message of hundreds of MiB could pass the
    /// device's hang timeout and retire the GPU), and past the binding limit the device could
    /// not hold it at all. SPEC §7's common case is up to 1,232 bytes.
    ///
    /// # Panics
    /// If the slices differ in length.
    pub fn verify_batch(
        &self,
        signatures: &[[u8; 64]],
        public_keys: &[[u8; 32]],
        messages: &[&[u8]],
        results: &mut [u8],
    ) -> Result<(), GpuError> {
        let n = signatures.len();
        assert!(
            public_keys.len() == n && messages.len() == n && results.len() == n,
            "one public key, message and result per signature"
        );
        self.ctx.usable()?;
        for step in plan(messages, self.max_batch_bytes) {
            match step {
                Step::Cpu(i) => {
                    let valid = reference::verify(&signatures[i], &public_keys[i], messages[i]);
                    results[i] = u8::from(valid);
                }
                Step::Gpu { range, hash_bytes } => self.run(
                    &signatures[range.clone()],
                    &public_keys[range.clone()],
                    &messages[range.clone()],
                    &mut results[range],
                    hash_bytes,
                )?,
            }
        }
        Ok(())
    }

    fn run(
        &self,
        signatures: &[[u8; 64]],
        public_keys: &[[u8; 32]],
        messages: &[&[u8]],
        results: &mut [u8],
        hash_bytes: usize,
    ) -> Result<(), GpuError> {
        let ctx = &self.ctx;
        let n = signatures.len() as u32;
        let mut hash_input = Vec::with_capacity(hash_bytes);
        let mut table = Vec::with_capacity(signatures.len());
        for i in 0..signatures.len() {
            let first = (hash_input.len() / 4) as u32;
            let blocks = sha512_pad_into(
                &[&signatures[i][..32], &public_keys[i], messages[i]],
                &mut hash_input,
            );
            table.push([first, blocks]);
        }
        let mut buffers = self.buffers.lock().unwrap_or_else(|e| e.into_inner());
        let Buffers {
            hash_input: hash_buf,
            table: table_buf,
            sigs,
            keys,
            results: results_buf,
            params,
        } = &mut *buffers;
        let hash_buf = hash_buf.ensure(&ctx.device, hash_input.len() as u64);
        let table_buf = table_buf.ensure(&ctx.device, table.len() as u64 * 8);
        let sigs = sigs.ensure(&ctx.device, n as u64 * 64);
        let keys = keys.ensure(&ctx.device, n as u64 * 32);
        let results_buf = results_buf.ensure(&ctx.device, n as u64 * 4);
        ctx.queue.write_buffer(hash_buf, 0, &hash_input);
        ctx.queue
            .write_buffer(table_buf, 0, bytemuck::cast_slice(&table));
        ctx.queue.write_buffer(sigs, 0, signatures.as_flattened());
        ctx.queue.write_buffer(keys, 0, public_keys.as_flattened());
        let (x, y) = grid(n.div_ceil(WORKGROUP), self.max_per_dim);
        ctx.queue
            .write_buffer(params, 0, bytemuck::cast_slice(&[n, x * WORKGROUP, 1, 0]));
        let bind = bind_buffers(
            &ctx.device,
            "ed25519",
            &self.layout,
            &[hash_buf, table_buf, sigs, keys, results_buf, params],
        );
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.set_pipeline(&self.verify);
            pass.set_bind_group(0, &bind, &[]);
            pass.dispatch_workgroups(x, y, 1);
        }
        ctx.queue.submit([encoder.finish()]);
        let words = ctx.read_back(results_buf, n as u64 * 4)?;
        for (out, word) in results.iter_mut().zip(words.chunks_exact(4)) {
            *out = u8::from(word[0] == 1);
        }
        Ok(())
    }
}

/// Messages longer than this are verified on the CPU ([`GpuEd25519::verify_batch`]): the
/// hashing kernels' size rule ([`crate::hash::gpu::GPU_MAX_MESSAGE_BYTES`]).
pub const GPU_MAX_MESSAGE_BYTES: usize = crate::hash::gpu::GPU_MAX_MESSAGE_BYTES;

/// One step of a batch's verification ([`plan`]).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    /// Signature `i` on the CPU, by the reference.
    Cpu(usize),
    /// The signatures of `range` in one dispatch, whose padded SHA-512 input is `hash_bytes`.
    Gpu {
        range: std::ops::Range<usize>,
        hash_bytes: usize,
    },
}

/// How a batch of `messages` is verified, in order: runs of messages within the size rule cut
/// where their padded hash inputs (R ‖ A ‖ M) would pass `max_batch_bytes`, and each message
/// past the rule (or too large for any batch) alone on the CPU.
fn plan(messages: &[&[u8]], max_batch_bytes: usize) -> Vec<Step> {
    let cost = |i: usize| (64 + messages[i].len() + 17).div_ceil(128) * 128;
    let on_gpu =
        |i: usize| messages[i].len() <= GPU_MAX_MESSAGE_BYTES && cost(i) <= max_batch_bytes;
    let mut steps = Vec::new();
    let mut start = 0;
    while start < messages.len() {
        if !on_gpu(start) {
            steps.push(Step::Cpu(start));
            start += 1;
            continue;
        }
        let (mut end, mut hash_bytes) = (start, 0);
        while end < messages.len() && on_gpu(end) && hash_bytes + cost(end) <= max_batch_bytes {
            hash_bytes += cost(end);
            end += 1;
        }
        steps.push(Step::Gpu {
            range: start..end,
            hash_bytes,
        });
        start = end;
    }
    steps
}

/// Signatures, keys and messages, index by index.
type KnownInputs = (Vec<[u8; 64]>, Vec<[u8; 32]>, Vec<Vec<u8>>);

/// The inputs [`GpuEd25519::checked`] runs: a valid signature, a flipped bit in R, in S, in the
/// key and in the message, S + L (the equation holds), S = L, S past 2^252, a small-order key
/// with `R = [S]B` (the equation holds), a non-canonical R, and an off-curve key.
fn known_inputs() -> KnownInputs {
    use curve25519_dalek::constants::ED25519_BASEPOINT_POINT as B;
    use curve25519_dalek::edwards::EdwardsPoint;
    use curve25519_dalek::scalar::Scalar;
    use ed25519_dalek::{Signer, SigningKey};
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let key = SigningKey::from_bytes(&[0x5e; 32]);
    let pk = key.verifying_key().to_bytes();
    let msg = b"tandem: the device's known answers".to_vec();
    let sig = key.sign(&msg).to_bytes();
    let mut inputs = vec![(sig, pk, msg.clone())];
    let flipped = |at: usize, what: u8| {
        let (mut s, mut k, mut m) = (sig, pk, msg.clone());
        match what {
            0 => s[at] ^= 1,
            1 => k[at] ^= 1,
            _ => m[at] ^= 1,
        }
        (s, k, m)
    };
    inputs.extend([flipped(5, 0), flipped(40, 0), flipped(9, 1), flipped(3, 2)]);
    let mut s_plus_l = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let v = u16::from(sig[32 + i]) + u16::from(L[i]) + carry;
        s_plus_l[i] = v as u8;
        carry = v >> 8;
    }
    let mut top = [0u8; 32];
    top.copy_from_slice(&sig[32..]);
    top[31] |= 0xF0;
    for s in [s_plus_l, L, top] {
        let mut x = sig;
        x[32..].copy_from_slice(&s);
        inputs.push((x, pk, msg.clone()));
    }
    let identity = EdwardsPoint::default().compress().to_bytes();
    let five = Scalar::from(5u64);
    let mut small = [0u8; 64];
    small[..32].copy_from_slice((B * five).compress().as_bytes());
    small[32..].copy_from_slice(five.as_bytes());
    inputs.push((small, identity, msg.clone()));
    let mut non_canonical_r = sig;
    non_canonical_r[..32].fill(0xFF);
    non_canonical_r[0] = 0xEE; // p + 1
    non_canonical_r[31] = 0x7F;
    inputs.push((non_canonical_r, pk, msg.clone()));
    let mut off_curve = [0u8; 32];
    off_curve[0] = 2; // y = 2 is not on the curve
    inputs.push((sig, off_curve, msg));
    let mut sigs = Vec::new();
    let mut keys = Vec::new();
    let mut msgs = Vec::new();
    for (s, k, m) in inputs {
        sigs.push(s);
        keys.push(k);
        msgs.push(m);
    }
    (sigs, keys, msgs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_known_inputs_hold_one_valid_signature_among_every_kind_of_rejection() {
        let (sigs, keys, msgs) = known_inputs();
        let answers: Vec<bool> = (0..sigs.len())
            .map(|i| reference::verify(&sigs[i], &keys[i], &msgs[i]))
            .collect();
        assert!(answers[0], "the first is valid");
        assert!(answers[1..].iter().all(|a| !a), "{answers:?}");
        assert_eq!(answers.len(), 11);
    }

    #[test]
    fn a_message_past_the_size_rule_is_verified_on_the_cpu_alone() {
        let short = vec![1u8; 1_232];
        let long = vec![2u8; GPU_MAX_MESSAGE_BYTES + 1];
        let at_rule = vec![3u8; GPU_MAX_MESSAGE_BYTES];
        let messages: Vec<&[u8]> = vec![&short, &short, &long, &at_rule, &short];
        let cost = |len: usize| (64 + len + 17).div_ceil(128) * 128;
        assert_eq!(
            plan(&messages, 128 << 20),
            [
                Step::Gpu {
                    range: 0..2,
                    hash_bytes: 2 * cost(1_232)
                },
                Step::Cpu(2),
                Step::Gpu {
                    range: 3..5,
                    hash_bytes: cost(GPU_MAX_MESSAGE_BYTES) + cost(1_232)
                },
            ]
        );
        // Batches cut at the buffer limit; one past it on the CPU whatever its length.
        let limit = 2 * cost(1_232);
        assert_eq!(
            plan(&messages[..2], limit - 1),
            [
                Step::Gpu {
                    range: 0..1,
                    hash_bytes: cost(1_232)
                },
                Step::Gpu {
                    range: 1..2,
                    hash_bytes: cost(1_232)
                },
            ]
        );
        assert_eq!(plan(&messages[..1], 64), [Step::Cpu(0)]);
    }

    #[test]
    fn padding_is_sha512s() {
        // The message, 0x80, zeros, the 128-bit big-endian bit length, whole 128-byte blocks; the
        // GPU tests check the digests themselves against sha2.
        for len in [0usize, 1, 111, 112, 113, 127, 128, 129, 239, 240, 1000] {
            let msg = vec![0xA5u8; len];
            let mut out = Vec::new();
            let blocks = sha512_pad_into(&[&msg[..len / 2], &msg[len / 2..]], &mut out);
            assert_eq!(out.len(), blocks as usize * 128, "{len}");
            assert_eq!(&out[..len], &msg[..]);
            assert_eq!(out[len], 0x80);
            let bits = u128::from_be_bytes(out[out.len() - 16..].try_into().unwrap());
            assert_eq!(bits, len as u128 * 8);
            assert!(out.len() - len >= 17 && out.len() - len < 128 + 17);
        }
    }
}
