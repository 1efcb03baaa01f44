//! The wgpu context every GPU kernel runs on: one adapter, device and queue, created once.
//!
//! Device setup is apart from execution: kernels take a `&GpuContext`, so tests and embedders can
//! build one from a device of their own ([`GpuContext::from_device`]). [`GpuContext::shared`] is
//! the process-wide context the `Backend::Auto`/`Gpu` entry points use.
//!
//! Where no adapter exists, every constructor returns [`GpuError::NoAdapter`]: asking for the GPU
//! backend on such a machine is an error, never a silent fallback to the CPU (SPEC §7).
//!
//! A device that fails while in use — lost (a driver reset, an unplugged card), or refusing an
//! operation (out of memory) — is recorded by its context instead of wgpu's default, which
//! panics the calling thread: every later kernel call on it returns [`GpuError::Failed`], and
//! `Backend::Auto` answers on the CPU from then on (the crate root says how).

use std::sync::{Arc, OnceLock};

/// Why the GPU cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GpuError {
    /// No adapter was found (no GPU and no software Vulkan driver such as Mesa's lavapipe).
    #[error(
        "no GPU adapter found ({0}); install a Vulkan driver (on Debian: mesa-vulkan-drivers libvulkan1 for the software one)"
    )]
    NoAdapter(String),
    /// The adapter refused the device.
    #[error("the GPU adapter refused a device: {0}")]
    Device(String),
    /// The device failed while in use (lost, or it refused an operation): it is not used again.
    #[error("the GPU failed and is not used again: {0}")]
    Failed(String),
    /// The device's answers on known inputs differ from the CPU reference's: its driver compiles
    /// the shaders wrongly, and it is not used (consensus needs the same answers everywhere).
    #[error("the GPU gives wrong answers on known inputs, so it is not used: {0}")]
    WrongAnswers(String),
}

/// An adapter, its device and queue.
pub struct GpuContext {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    info: wgpu::AdapterInfo,
    /// The first failure of the device (its loss, or an error of an operation), once it failed.
    failure: Arc<OnceLock<String>>,
}

impl std::fmt::Debug for GpuContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuContext")
            .field("adapter", &self.info.name)
            .field("backend", &self.info.backend)
            .field("device_type", &self.info.device_type)
            .finish()
    }
}

/// The adapter [`GpuContext::new`] opens its device on: high performance first,
/// `WGPU_BACKEND` and `WGPU_ADAPTER_NAME` narrowing the choice.
fn best_adapter() -> Result<wgpu::Adapter, GpuError> {
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
        power_preference: wgpu::PowerPreference::HighPerformance,
        force_fallback_adapter: false,
        compatible_surface: None,
        apply_limit_buckets: false,
    }))
    .map_err(|e| GpuError::NoAdapter(e.to_string()))
}

/// What the adapter [`GpuContext::new`] would choose is — name, backend, device type — found
/// once per process without opening a device: so that a caller can decide whether to open one
/// (`Backend::Auto` builds no shaders on a software adapter it will not use).
pub fn best_adapter_info() -> Result<&'static wgpu::AdapterInfo, GpuError> {
    static INFO: OnceLock<Result<wgpu::AdapterInfo, GpuError>> = OnceLock::new();
    INFO.get_or_init(|| best_adapter().map(|adapter| adapter.get_info()))
        .as_ref()
        .map_err(Clone::clone)
}

/// Whether an adapter is a CPU rasterizer (lavapipe, WARP, SwiftShader): correct, never fast.
pub fn is_software(info: &wgpu::AdapterInfo) -> bool {
    info.device_type == wgpu::DeviceType::Cpu
}

impl GpuContext {
    /// Finds the best adapter (high performance first; `WGPU_BACKEND` and `WGPU_ADAPTER_NAME`
    /// narrow the choice) and opens a device with the adapter's own limits.
    pub fn new() -> Result<GpuContext, GpuError> {
        GpuContext::with_limits(|limits| limits)
    }

    /// [`GpuContext::new`] with the device's limits narrowed from the adapter's by `narrow`
    /// (kernels cut their batches and grids to them): to hold a device to a share of a large
    /// GPU, or to run the kernels' splitting of batches on small ones (a test). Limits the
    /// adapter cannot give are the device's error.
    pub fn with_limits(
        narrow: impl FnOnce(wgpu::Limits) -> wgpu::Limits,
    ) -> Result<GpuContext, GpuError> {
        let adapter = best_adapter()?;
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("tandem"),
            required_features: wgpu::Features::empty(),
            required_limits: narrow(adapter.limits()),
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        }))
        .map_err(|e| GpuError::Device(e.to_string()))?;
        Ok(GpuContext::from_device(device, queue, adapter.get_info()))
    }

    /// Wraps a device the caller opened. The context becomes the device's handler of errors
    /// and of its loss (replacing any the caller set): a failure is recorded, not a panic.
    pub fn from_device(
        device: wgpu::Device,
        queue: wgpu::Queue,
        info: wgpu::AdapterInfo,
    ) -> GpuContext {
        let failure = Arc::new(OnceLock::new());
        let (on_error, on_loss) = (Arc::clone(&failure), Arc::clone(&failure));
        let (adapter, adapter_lost) = (info.name.clone(), info.name.clone());
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            record_failure(&on_error, &adapter, &e.to_string());
        }));
        device.set_device_lost_callback(move |reason, message| {
            let what = format!("device lost ({reason:?}): {message}");
            record_failure(&on_loss, &adapter_lost, &what);
        });
        GpuContext {
            device,
            queue,
            info,
            failure,
        }
    }

    /// Why the device failed, once it has ([`GpuError::Failed`]).
    pub fn failure(&self) -> Option<&str> {
        self.failure.get().map(String::as_str)
    }

    /// Records `what` as the device's failure (unless one came first, whose error this
    /// returns: the cause, where `what` may be its consequence).
    fn fail(&self, what: String) -> GpuError {
        record_failure(&self.failure, &self.info.name, &what);
        GpuError::Failed(self.failure().unwrap_or_default().to_owned())
    }

    /// `Ok` while the device has not failed ([`GpuError::Failed`] once it has); every kernel
    /// call checks before it starts and before it hands results back.
    pub fn usable(&self) -> Result<(), GpuError> {
        match self.failure() {
            None => Ok(()),
            Some(why) => Err(GpuError::Failed(why.to_owned())),
        }
    }

    /// The process-wide context, created on first use. The outcome (a context or the reason
    /// there is none) is kept, so a machine without a GPU does not search again on every call.
    pub fn shared() -> Result<Arc<GpuContext>, GpuError> {
        static SHARED: OnceLock<Result<Arc<GpuContext>, GpuError>> = OnceLock::new();
        SHARED
            .get_or_init(|| GpuContext::new().map(Arc::new))
            .clone()
    }

    /// The adapter: name, backend, driver, device type.
    pub fn info(&self) -> &wgpu::AdapterInfo {
        &self.info
    }

    /// Whether the adapter is a CPU rasterizer (lavapipe, WARP, SwiftShader): correct, never fast.
    pub fn is_software(&self) -> bool {
        is_software(&self.info)
    }

    /// The device's limits.
    pub fn limits(&self) -> wgpu::Limits {
        self.device.limits()
    }

    /// The device, for work of the caller's own on the adapter the kernels chose (a test
    /// harness for a shader file, say), so it needs no adapter selection of its own.
    pub fn device(&self) -> &wgpu::Device {
        &self.device
    }

    /// The queue of [`GpuContext::device`].
    pub fn queue(&self) -> &wgpu::Queue {
        &self.queue
    }

    /// Blocks until the submission `index` (and the queue's work before it) is done — not
    /// work other threads submitted after it, so one kernel's readback never waits behind
    /// another's later batch.
    pub(crate) fn wait_for(&self, index: wgpu::SubmissionIndex) -> Result<(), GpuError> {
        let wait = wgpu::PollType::Wait {
            submission_index: Some(index),
            timeout: Some(DEVICE_TIMEOUT),
        };
        self.fatal_as_failure("waiting for the device", || self.device.poll(wait))?
            .map(|_| ())
            .map_err(|e| self.fail(format!("waiting for the device: {e}")))
    }

    /// Runs `call`, a wgpu call that panics where the device fails in a way wgpu deems fatal:
    /// `Device::poll` (wgpu 30) returns only a timeout as an error and panics on a device lost
    /// or out of memory in the wait. Such a panic becomes the device's recorded failure — the
    /// caller gets [`GpuError::Failed`] and `Backend::Auto` answers on the CPU from then on, as
    /// for every other failure — instead of unwinding through the kernel's caller (a pipeline
    /// stage, which would stop the engine). wgpu's panic message still reaches the panic hook
    /// (standard error).
    fn fatal_as_failure<T>(&self, what: &str, call: impl FnOnce() -> T) -> Result<T, GpuError> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(call)).map_err(|payload| {
            let why = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("a panic in wgpu");
            self.fail(format!("{what}: {why}"))
        })
    }

    /// Copies the first `len` bytes of `source` (a buffer with `COPY_SRC` usage) into a mappable
    /// buffer, waits for that copy (and the work submitted before it), and returns them.
    ///
    /// # Panics
    /// If `len` is not a multiple of 4 ([`wgpu::COPY_BUFFER_ALIGNMENT`]) or exceeds the
    /// buffer's size: the caller's mistake, which would otherwise reach wgpu as a validation
    /// error and be recorded as the device's failure, ending every kernel's use of it.
    pub fn read_back(&self, source: &wgpu::Buffer, len: u64) -> Result<Vec<u8>, GpuError> {
        assert!(
            len.is_multiple_of(wgpu::COPY_BUFFER_ALIGNMENT) && len <= source.size(),
            "read_back of {len} bytes from a buffer of {}: a multiple of {} within it is needed",
            source.size(),
            wgpu::COPY_BUFFER_ALIGNMENT,
        );
        self.usable()?;
        if len == 0 {
            return Ok(Vec::new()); // (a zero-sized copy is no error, its mapping would be)
        }
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("tandem readback"),
            size: len,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut encoder = self.device.create_command_encoder(&Default::default());
        encoder.copy_buffer_to_buffer(source, 0, &staging, 0, len);
        let index = self.queue.submit([encoder.finish()]);
        let (tx, rx) = std::sync::mpsc::channel();
        staging.map_async(wgpu::MapMode::Read, .., move |result| {
            let _ = tx.send(result);
        });
        self.wait_for(index)?;
        // A failed device (its error recorded by the calls above) may never map the buffer:
        // what it would hand back is not an answer.
        self.usable()?;
        rx.recv()
            .map_err(|e| self.fail(format!("reading results back: {e}")))?
            .map_err(|e| self.fail(format!("reading results back: {e}")))?;
        let bytes = staging
            .get_mapped_range(..)
            .map_err(|e| self.fail(format!("reading results back: {e}")))?
            .to_vec();
        staging.unmap();
        self.usable()?;
        Ok(bytes)
    }
}

/// How long a kernel call waits for its submission before the device counts as hung (failed):
/// a backstop, far past any batch's time (lavapipe, a software rasterizer verifying some
/// thousands of signatures a second, is handed small batches only), so that a device that stops answering without being
/// reset stops its caller with an error instead of holding it, and every other caller of its
/// buffers, for good.
const DEVICE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

/// Records a device's first failure, on one line (wgpu's errors span several), and logs it.
fn record_failure(failure: &OnceLock<String>, adapter: &str, what: &str) {
    let what = what.split_whitespace().collect::<Vec<_>>().join(" ");
    if failure.set(what.clone()).is_ok() {
        log::error!("the GPU ({adapter}) failed, and is not used again: {what}");
    }
}

// ---- Helpers shared by the kernels' drivers --------------------------------------------

/// A storage buffer that grows (to the next power of two) and is otherwise reused.
pub(crate) struct GrowBuffer {
    label: &'static str,
    usage: wgpu::BufferUsages,
    buffer: Option<wgpu::Buffer>,
}

impl GrowBuffer {
    pub(crate) fn new(label: &'static str, usage: wgpu::BufferUsages) -> Self {
        GrowBuffer {
            label,
            usage,
            buffer: None,
        }
    }

    pub(crate) fn ensure(&mut self, device: &wgpu::Device, size: u64) -> &wgpu::Buffer {
        let size = size.max(16);
        if self.buffer.as_ref().is_none_or(|b| b.size() < size) {
            self.buffer = Some(device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(self.label),
                size: size.next_power_of_two(),
                usage: self.usage,
                mapped_at_creation: false,
            }));
        }
        self.buffer.as_ref().expect("just ensured")
    }
}

pub(crate) fn storage() -> wgpu::BufferUsages {
    wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::COPY_SRC
}

/// A 2-D dispatch grid covering `groups` workgroups within the per-dimension limit. The
/// callers cut their batches so that `groups` is at most the limit squared.
pub(crate) fn grid(groups: u32, max_per_dim: u32) -> (u32, u32) {
    let x = groups.clamp(1, max_per_dim);
    let y = groups.div_ceil(x).max(1);
    debug_assert!(
        y <= max_per_dim,
        "{groups} workgroups past a {max_per_dim}² grid"
    );
    (x, y)
}

pub(crate) fn storage_entry(binding: u32, read_only: bool) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Storage { read_only },
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

pub(crate) fn uniform_entry(binding: u32) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

pub(crate) fn pipeline(
    device: &wgpu::Device,
    layout: &wgpu::PipelineLayout,
    module: &wgpu::ShaderModule,
    entry: &str,
) -> wgpu::ComputePipeline {
    device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(entry),
        layout: Some(layout),
        module,
        entry_point: Some(entry),
        compilation_options: Default::default(),
        cache: None,
    })
}

/// A 16-byte uniform buffer for a kernel's parameters.
pub(crate) fn uniform_buffer(device: &wgpu::Device, label: &str) -> wgpu::Buffer {
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: 16,
        usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

/// A bind group binding `buffers[i]`, whole, at binding `i`.
pub(crate) fn bind_buffers(
    device: &wgpu::Device,
    label: &str,
    layout: &wgpu::BindGroupLayout,
    buffers: &[&wgpu::Buffer],
) -> wgpu::BindGroup {
    let entries: Vec<wgpu::BindGroupEntry<'_>> = buffers
        .iter()
        .enumerate()
        .map(|(i, b)| wgpu::BindGroupEntry {
            binding: i as u32,
            resource: b.as_entire_binding(),
        })
        .collect();
    device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some(label),
        layout,
        entries: &entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::gpu_or_skip;

    #[test]
    fn a_panic_wgpu_deems_fatal_is_the_device_failure() {
        // wgpu 30 panics in `Device::poll` on a device lost during the wait (no driver here
        // can be made to lose one on demand): the panic is recorded like any other failure.
        let Some(ctx) = gpu_or_skip("the fatal-panic test", GpuContext::new()) else {
            return;
        };
        let answer = ctx.fatal_as_failure("waiting for the device", || 7);
        assert_eq!(answer, Ok(7));
        assert!(ctx.usable().is_ok());
        let failed = ctx.fatal_as_failure("waiting for the device", || -> u32 {
            panic!("Error in Device::poll: Parent device is lost")
        });
        let Err(GpuError::Failed(why)) = failed else {
            panic!("{failed:?}");
        };
        assert!(why.contains("Parent device is lost"), "{why}");
        assert!(matches!(ctx.usable(), Err(GpuError::Failed(_))));
    }
}
