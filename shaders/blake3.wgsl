// BLAKE3's compression function, shared by blake3_many.wgsl and lthash.wgsl (the kernels crate
// concatenates this file in front of them; WGSL has no includes).
//
// Representation: the 16-word state is four rows a = v0..v3, b = v4..v7, c = v8..v11,
// d = v12..v15. A round applies G to the four columns at once (vector ops on the rows), rotates
// rows b, c, d so the diagonals line up as columns, applies G again, and rotates them back.
// Invariants: every value is a u32 and every add wraps (WGSL u32 arithmetic is modular), so no
// bound needs tracking; the message schedule is BLAKE3's permutation applied between rounds.

const IV_LO: vec4<u32> = vec4<u32>(0x6A09E667u, 0xBB67AE85u, 0x3C6EF372u, 0xA54FF53Au);
const IV_HI: vec4<u32> = vec4<u32>(0x510E527Fu, 0x9B05688Cu, 0x1F83D9ABu, 0x5BE0CD19u);

const CHUNK_START: u32 = 1u;
const CHUNK_END: u32 = 2u;
const PARENT: u32 = 4u;
const ROOT: u32 = 8u;

// A chaining value: words 0..4 and 4..8.
struct Cv {
    lo: vec4<u32>,
    hi: vec4<u32>,
}

// All 16 output words of a compression: words 0..8 (the next chaining value, or the first 32
// output bytes of a root block) and words 8..16.
struct Out16 {
    w0: vec4<u32>,
    w1: vec4<u32>,
    w2: vec4<u32>,
    w3: vec4<u32>,
}

fn rotr(x: vec4<u32>, n: u32) -> vec4<u32> {
    return (x >> vec4<u32>(n)) | (x << vec4<u32>(32u - n));
}

fn g(a: ptr<function, vec4<u32>>, b: ptr<function, vec4<u32>>, c: ptr<function, vec4<u32>>,
     d: ptr<function, vec4<u32>>, mx: vec4<u32>, my: vec4<u32>) {
    *a = *a + *b + mx;
    *d = rotr(*d ^ *a, 16u);
    *c = *c + *d;
    *b = rotr(*b ^ *c, 12u);
    *a = *a + *b + my;
    *d = rotr(*d ^ *a, 8u);
    *c = *c + *d;
    *b = rotr(*b ^ *c, 7u);
}

fn permute(m: array<u32, 16>) -> array<u32, 16> {
    return array<u32, 16>(m[2], m[6], m[3], m[10], m[7], m[0], m[4], m[13],
                          m[1], m[11], m[12], m[5], m[9], m[14], m[15], m[8]);
}

fn compress(cv: Cv, block: array<u32, 16>, counter: u32, block_len: u32, flags: u32) -> Out16 {
    var a = cv.lo;
    var b = cv.hi;
    var c = IV_LO;
    // Counters here never reach 2^32: chunk indices of messages < 4 TiB, output block indices.
    var d = vec4<u32>(counter, 0u, block_len, flags);
    var m = block;
    for (var r = 0u; r < 7u; r = r + 1u) {
        g(&a, &b, &c, &d, vec4<u32>(m[0], m[2], m[4], m[6]), vec4<u32>(m[1], m[3], m[5], m[7]));
        b = b.yzwx;
        c = c.zwxy;
        d = d.wxyz;
        g(&a, &b, &c, &d, vec4<u32>(m[8], m[10], m[12], m[14]), vec4<u32>(m[9], m[11], m[13], m[15]));
        b = b.wxyz;
        c = c.zwxy;
        d = d.yzwx;
        m = permute(m);
    }
    return Out16(a ^ c, b ^ d, c ^ cv.lo, d ^ cv.hi);
}

fn chain(cv: Cv, block: array<u32, 16>, counter: u32, block_len: u32, flags: u32) -> Cv {
    let o = compress(cv, block, counter, block_len, flags);
    return Cv(o.w0, o.w1);
}

// The block of a parent node: two chaining values side by side.
fn parent_block(left: Cv, right: Cv) -> array<u32, 16> {
    return array<u32, 16>(left.lo.x, left.lo.y, left.lo.z, left.lo.w,
                          left.hi.x, left.hi.y, left.hi.z, left.hi.w,
                          right.lo.x, right.lo.y, right.lo.z, right.lo.w,
                          right.hi.x, right.hi.y, right.hi.z, right.hi.w);
}

fn parent_cv(left: Cv, right: Cv) -> Cv {
    return chain(Cv(IV_LO, IV_HI), parent_block(left, right), 0u, 64u, PARENT);
}

// A message reduced to its root compression (see lanes.rs): all but the ROOT flag and counter.
struct RootNode {
    cv: Cv,
    block: array<u32, 16>,
    block_len: u32,
    flags: u32,
}

// ---- Reading messages ---------------------------------------------------------------------
// Messages are packed into `data` (bound by the including shader) at word offsets that are
// multiples of 16 (64 bytes), zero-padded to a whole block, so every block is 16 whole words and
// a partial last block reads as zero-padded.

fn load_block(word: u32) -> array<u32, 16> {
    var m: array<u32, 16>;
    for (var w = 0u; w < 16u; w = w + 1u) {
        m[w] = data[word + w];
    }
    return m;
}

// The chaining value of a whole chunk (1,024 bytes, or the last chunk's `len` bytes).
fn chunk_cv(word: u32, len: u32, counter: u32) -> Cv {
    var cv = Cv(IV_LO, IV_HI);
    let blocks = max(1u, (len + 63u) / 64u);
    for (var b = 0u; b < blocks; b = b + 1u) {
        var flags = 0u;
        if (b == 0u) { flags = flags | CHUNK_START; }
        if (b + 1u == blocks) { flags = flags | CHUNK_END; }
        let block_len = min(64u, len - b * 64u);
        cv = chain(cv, load_block(word + b * 16u), counter, block_len, flags);
    }
    return cv;
}

// Reduces the message of `len` bytes at word offset `word` to its root node, with the
// incremental chaining-value stack of the BLAKE3 reference (a merge after every completed chunk
// but the last, as many times as the chunk count has trailing zero bits).
fn root_node(word: u32, len: u32) -> RootNode {
    let chunks = max(1u, (len + 1023u) / 1024u);
    var stack: array<Cv, 32>;
    var depth = 0u;
    for (var c = 0u; c + 1u < chunks; c = c + 1u) {
        var cv = chunk_cv(word + c * 256u, 1024u, c);
        var total = c + 1u;
        while ((total & 1u) == 0u) {
            depth = depth - 1u;
            cv = parent_cv(stack[depth], cv);
            total = total >> 1u;
        }
        stack[depth] = cv;
        depth = depth + 1u;
    }
    let last = chunks - 1u;
    let last_word = word + last * 256u;
    let last_len = len - last * 1024u;
    if (chunks == 1u) {
        // The chunk is the root: chain all but its last block.
        let blocks = max(1u, (last_len + 63u) / 64u);
        var cv = Cv(IV_LO, IV_HI);
        for (var b = 0u; b + 1u < blocks; b = b + 1u) {
            var flags = 0u;
            if (b == 0u) { flags = CHUNK_START; }
            cv = chain(cv, load_block(last_word + b * 16u), 0u, 64u, flags);
        }
        var flags = CHUNK_END;
        if (blocks == 1u) { flags = flags | CHUNK_START; }
        let tail = last_len - (blocks - 1u) * 64u;
        return RootNode(cv, load_block(last_word + (blocks - 1u) * 16u), tail, flags);
    }
    var right = chunk_cv(last_word, last_len, last);
    while (depth > 1u) {
        depth = depth - 1u;
        right = parent_cv(stack[depth], right);
    }
    return RootNode(Cv(IV_LO, IV_HI), parent_block(stack[0], right), 64u, PARENT);
}
