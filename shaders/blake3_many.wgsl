// BLAKE3 of many independent messages: one invocation per message.
//
// Bindings (the "function signature" of the CPU -> GPU call):
//   0 data    message bytes as little-endian words, each message at a 64-byte aligned offset,
//             zero-padded to a whole block
//   1 table   per message: (word offset in `data`, length in bytes)
//   2 hashes  per message: 8 words, the 32-byte hash
//   3 params  x = number of messages, y = invocations per row of the dispatch grid

@group(0) @binding(0) var<storage, read> data: array<u32>;
@group(0) @binding(1) var<storage, read> table: array<vec2<u32>>;
@group(0) @binding(2) var<storage, read_write> hashes: array<u32>;
@group(0) @binding(3) var<uniform> params: vec4<u32>;

@compute @workgroup_size(64)
fn blake3_many(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x + id.y * params.y;
    if (i >= params.x) {
        return;
    }
    let entry = table[i];
    let root = root_node(entry.x, entry.y);
    let o = compress(root.cv, root.block, 0u, root.block_len, root.flags | ROOT);
    hashes[i * 8u + 0u] = o.w0.x;
    hashes[i * 8u + 1u] = o.w0.y;
    hashes[i * 8u + 2u] = o.w0.z;
    hashes[i * 8u + 3u] = o.w0.w;
    hashes[i * 8u + 4u] = o.w1.x;
    hashes[i * 8u + 5u] = o.w1.y;
    hashes[i * 8u + 6u] = o.w1.z;
    hashes[i * 8u + 7u] = o.w1.w;
}
