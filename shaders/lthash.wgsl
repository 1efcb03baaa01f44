// The account lattice hash (SPEC §4) on the GPU, in three entry points over one set of bindings.
//
//   roots       one invocation per account: reduce its hash input to a root node
//   xof_sum     workgroup k, invocation t (0..32): output block t of every account in slice k,
//               summed per u16 element in registers, then one atomic add per element into `sum`
//   xof_each    invocation (account, t): output block t of one account into `each`
//   pack        one workgroup: `sum` (one u32 per element, low 16 bits significant) into 512
//               words of packed u16 pairs, the 2,048 bytes that go back to the CPU
//
// Bindings:
//   0 data    hash inputs (lamports ‖ data ‖ executable ‖ owner ‖ pubkey) as in blake3_many
//   1 table   per account: (word offset, length in bytes)
//   2 nodes   per account: its root node (28 words: cv 8, block 16, block_len, flags, 2 unused)
//   3 sum     1,024 atomic u32, one per LtHash element
//   4 packed  512 u32: the packed sum
//   5 each    per account: 512 words, its own LtHash
//   6 params  x = accounts, y = invocations per grid row, z = accounts per xof_sum slice

@group(0) @binding(0) var<storage, read> data: array<u32>;
@group(0) @binding(1) var<storage, read> table: array<vec2<u32>>;
@group(0) @binding(2) var<storage, read_write> nodes: array<u32>;
@group(0) @binding(3) var<storage, read_write> sum: array<atomic<u32>, 1024>;
@group(0) @binding(4) var<storage, read_write> packed: array<u32, 512>;
@group(0) @binding(5) var<storage, read_write> each: array<u32>;
@group(0) @binding(6) var<uniform> params: vec4<u32>;

const NODE_WORDS: u32 = 28u;

fn store_node(i: u32, n: RootNode) {
    let base = i * NODE_WORDS;
    nodes[base + 0u] = n.cv.lo.x;
    nodes[base + 1u] = n.cv.lo.y;
    nodes[base + 2u] = n.cv.lo.z;
    nodes[base + 3u] = n.cv.lo.w;
    nodes[base + 4u] = n.cv.hi.x;
    nodes[base + 5u] = n.cv.hi.y;
    nodes[base + 6u] = n.cv.hi.z;
    nodes[base + 7u] = n.cv.hi.w;
    for (var w = 0u; w < 16u; w = w + 1u) {
        nodes[base + 8u + w] = n.block[w];
    }
    nodes[base + 24u] = n.block_len;
    nodes[base + 25u] = n.flags;
}

fn xof_block(i: u32, t: u32) -> Out16 {
    let base = i * NODE_WORDS;
    let cv = Cv(vec4<u32>(nodes[base + 0u], nodes[base + 1u], nodes[base + 2u], nodes[base + 3u]),
                vec4<u32>(nodes[base + 4u], nodes[base + 5u], nodes[base + 6u], nodes[base + 7u]));
    var block: array<u32, 16>;
    for (var w = 0u; w < 16u; w = w + 1u) {
        block[w] = nodes[base + 8u + w];
    }
    return compress(cv, block, t, nodes[base + 24u], nodes[base + 25u] | ROOT);
}

@compute @workgroup_size(64)
fn roots(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x + id.y * params.y;
    if (i >= params.x) {
        return;
    }
    let entry = table[i];
    store_node(i, root_node(entry.x, entry.y));
}

// Adds the two u16 halves of each word of `v` to separate u32 sums (lo, hi): element 2w is the
// low half of word w. The sums wrap mod 2^32, which keeps them right mod 2^16.
fn add_halves(lo: ptr<function, vec4<u32>>, hi: ptr<function, vec4<u32>>, v: vec4<u32>) {
    *lo = *lo + (v & vec4<u32>(0xFFFFu));
    *hi = *hi + (v >> vec4<u32>(16u));
}

@compute @workgroup_size(32)
fn xof_sum(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
           @builtin(num_workgroups) groups: vec3<u32>) {
    let t = lid.x;
    let slice = wg.x + wg.y * groups.x;
    let first = slice * params.z;
    let end = min(first + params.z, params.x);
    var lo0 = vec4<u32>(0u); var hi0 = vec4<u32>(0u);
    var lo1 = vec4<u32>(0u); var hi1 = vec4<u32>(0u);
    var lo2 = vec4<u32>(0u); var hi2 = vec4<u32>(0u);
    var lo3 = vec4<u32>(0u); var hi3 = vec4<u32>(0u);
    for (var i = first; i < end; i = i + 1u) {
        let o = xof_block(i, t);
        add_halves(&lo0, &hi0, o.w0);
        add_halves(&lo1, &hi1, o.w1);
        add_halves(&lo2, &hi2, o.w2);
        add_halves(&lo3, &hi3, o.w3);
    }
    if (first >= end) {
        return;
    }
    // Element of word w, half h of block t: t * 32 + 2w + h.
    let e = t * 32u;
    var los = array<vec4<u32>, 4>(lo0, lo1, lo2, lo3);
    var his = array<vec4<u32>, 4>(hi0, hi1, hi2, hi3);
    for (var q = 0u; q < 4u; q = q + 1u) {
        for (var k = 0u; k < 4u; k = k + 1u) {
            let w = q * 4u + k;
            atomicAdd(&sum[e + 2u * w], los[q][k]);
            atomicAdd(&sum[e + 2u * w + 1u], his[q][k]);
        }
    }
}

@compute @workgroup_size(32)
fn xof_each(@builtin(global_invocation_id) id: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
            @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = wg.x + wg.y * groups.x;
    if (i >= params.x) {
        return;
    }
    let t = lid.x;
    let o = xof_block(i, t);
    let base = i * 512u + t * 16u;
    var words = array<vec4<u32>, 4>(o.w0, o.w1, o.w2, o.w3);
    for (var q = 0u; q < 4u; q = q + 1u) {
        for (var k = 0u; k < 4u; k = k + 1u) {
            each[base + q * 4u + k] = words[q][k];
        }
    }
}

@compute @workgroup_size(64)
fn pack(@builtin(local_invocation_id) lid: vec3<u32>) {
    for (var j = lid.x; j < 512u; j = j + 64u) {
        let lo = atomicLoad(&sum[2u * j]) & 0xFFFFu;
        let hi = atomicLoad(&sum[2u * j + 1u]) & 0xFFFFu;
        packed[j] = lo | (hi << 16u);
    }
}
