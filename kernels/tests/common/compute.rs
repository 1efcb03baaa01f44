//! A compute shader written for a test, run once over a small batch: its inputs bound first (a
//! storage buffer, read-only, or a uniform each), then one storage buffer it writes, read back.

use tandem_kernels::gpu::GpuContext;

/// How an input is bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Binding {
    /// `var<storage, read>`.
    Storage,
    /// `var<uniform>`.
    Uniform,
}

/// A test kernel: its pipeline and bindings (inputs `0..n`, the output at `n`).
pub struct TestKernel {
    inputs: Vec<Binding>,
    layout: wgpu::BindGroupLayout,
    pipeline: wgpu::ComputePipeline,
}

fn entry(binding: u32, ty: wgpu::BufferBindingType) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty,
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

impl TestKernel {
    /// Compiles `source` and its entry point `entry_point`, bound as the module docs say.
    pub fn new(ctx: &GpuContext, source: String, entry_point: &str, inputs: &[Binding]) -> Self {
        let device = ctx.device();
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(entry_point),
            source: wgpu::ShaderSource::Wgsl(source.into()),
        });
        let mut entries: Vec<_> = inputs
            .iter()
            .enumerate()
            .map(|(i, input)| {
                let ty = match input {
                    Binding::Storage => wgpu::BufferBindingType::Storage { read_only: true },
                    Binding::Uniform => wgpu::BufferBindingType::Uniform,
                };
                entry(i as u32, ty)
            })
            .collect();
        let out = wgpu::BufferBindingType::Storage { read_only: false };
        entries.push(entry(inputs.len() as u32, out));
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some(entry_point),
            entries: &entries,
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: None,
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(entry_point),
            layout: Some(&pipeline_layout),
            module: &module,
            entry_point: Some(entry_point),
            compilation_options: Default::default(),
            cache: None,
        });
        TestKernel {
            inputs: inputs.to_vec(),
            layout,
            pipeline,
        }
    }

    /// Runs `workgroups` workgroups over `inputs` (one per binding given to `new`) and returns
    /// the `out_words` words of the output, which starts as all ones: a word the shader never
    /// wrote shows as a wrong answer.
    pub fn run(
        &self,
        ctx: &GpuContext,
        inputs: &[&[u32]],
        out_words: usize,
        workgroups: u32,
    ) -> Vec<u32> {
        assert_eq!(
            inputs.len(),
            self.inputs.len(),
            "one buffer per input binding"
        );
        let (device, queue) = (ctx.device(), ctx.queue());
        let buffer = |words: &[u32], usage| {
            let bytes: &[u8] = bytemuck::cast_slice(words);
            let buffer = device.create_buffer(&wgpu::BufferDescriptor {
                label: None,
                size: bytes.len() as u64,
                usage: usage | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            queue.write_buffer(&buffer, 0, bytes);
            buffer
        };
        let mut buffers: Vec<wgpu::Buffer> = inputs
            .iter()
            .zip(&self.inputs)
            .map(|(words, input)| match input {
                Binding::Storage => buffer(words, wgpu::BufferUsages::STORAGE),
                Binding::Uniform => buffer(words, wgpu::BufferUsages::UNIFORM),
            })
            .collect();
        let usage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC;
        buffers.push(buffer(&vec![u32::MAX; out_words], usage));
        let entries: Vec<wgpu::BindGroupEntry<'_>> = buffers
            .iter()
            .enumerate()
            .map(|(i, b)| wgpu::BindGroupEntry {
                binding: i as u32,
                resource: b.as_entire_binding(),
            })
            .collect();
        let bind = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &self.layout,
            entries: &entries,
        });
        let mut encoder = device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.set_pipeline(&self.pipeline);
            pass.set_bind_group(0, &bind, &[]);
            pass.dispatch_workgroups(workgroups, 1, 1);
        }
        queue.submit([encoder.finish()]);
        let out = buffers.last().expect("the output buffer");
        let bytes = ctx
            .read_back(out, out_words as u64 * 4)
            .expect("reading the results back");
        bytemuck::cast_slice(&bytes).to_vec()
    }
}
