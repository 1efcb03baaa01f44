/*
 * C tests of the engine's C ABI (SPEC §8 "The engine"): drive libtandem's engine through
 * ffi/include/tandem.h as a C host would.
 *
 *   test_engine GENESIS LEDGER SCRATCH [REPORT]
 *
 * GENESIS is the genesis file, LEDGER a ledger for it (`tandem gen`), SCRATCH a directory for
 * the stores (made where missing) and REPORT, when given, the `tandem gen --json` report of the
 * ledger: the sequential runtime's hashes of every slot, which the engine's must equal.
 *
 * Built by `make ffi-ctest` (ffi/ffi.mk) against libtandem.so with -Werror, ASan and UBSan. It
 * submits every block of the ledger to an engine on the CPU backend and checks each slot's VED
 * and UED hash; checks every documented bad input of every engine export for its status code,
 * a tandem_last_error() naming the argument, and that it changed nothing (the engine goes on as
 * if it had not been called); the log sink; and that a closed engine resumes from its store.
 * Blocks and bad inputs are copied into buffers of exactly their length, so that ASan catches a
 * read past one. TANDEM_CTEST_GPU=1 adds the whole ledger on the GPU backend (lavapipe in CI);
 * without it the GPU backend is only opened where an adapter exists.
 */
/* dup2, mkdir, stat (POSIX); sched_getaffinity (GNU). */
#define _GNU_SOURCE

#include "tandem.h"

#include "check.h"
#include "ledger.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef TANDEM_EXPECTED_VERSION
#error "compile with -DTANDEM_EXPECTED_VERSION=\"x.y.z\" (the workspace version; see ffi/ffi.mk)"
#endif

/* Generous: a debug build of libtandem on two cores, lavapipe for the GPU backend. */
enum { WAIT_MS = 60000 };

/* The program-0 account of engine/genesis/default.toml: no transaction of `tandem gen` can
 * change it (a program: read-only to every builtin). */
static const char PROGRAM_PUBKEY[] = "9C3znjGewroKDPBmuj42hEFhtMWNJ1pGneUEuGyEhGAN";
static const char PROGRAM_OWNER[] = "BPFLoaderUpgradeab1e11111111111111111111111";
static const char PROGRAM_DATA[] = "tandem default-genesis sample program";
static const uint64_t PROGRAM_LAMPORTS = 1000000000;
/* validator-0's node account: rw-ved. */
static const char VALIDATOR_NODE[] = "65KK8royKfikuruF8MC1QXVB5idRxW1CcxFPGCcP13JH";

static const char *genesis_path;
static const char *scratch;
static ledger_t ledger;
static slot_hashes_t *expected; /* NULL without a report */

/* Each slot's hashes as the CPU engine gave them, for the GPU backend and the resume. */
static slot_hashes_t *computed;

/* A path under the scratch directory. */
static void scratch_path(char out[512], const char *name) {
    snprintf(out, 512, "%s/%s", scratch, name);
}

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* A copy of `len` bytes in a buffer of exactly that size (ASan catches a read past it). */
static uint8_t *exact_copy(const uint8_t *bytes, size_t len) {
    uint8_t *copy = malloc(len > 0 ? len : 1);
    if (copy == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    memcpy(copy, bytes, len);
    return copy;
}

static int32_t submit_bytes(tandem_engine *engine, const uint8_t *bytes, size_t len) {
    uint8_t *copy = exact_copy(bytes, len);
    int32_t status = tandem_engine_submit_block(engine, copy, len);
    free(copy);
    return status;
}

static const block_t *block_of(size_t i) {
    return &ledger.blocks[i];
}

static const block_t *last_block(void) {
    return &ledger.blocks[ledger.n - 1];
}

static tandem_engine_config cpu_config(void) {
    tandem_engine_config config;
    memset(&config, 0, sizeof config);
    config.size = sizeof config;
    config.backend = TANDEM_BACKEND_CPU;
    return config;
}

/* A config as a newer header's would be: this header's struct and more after it, zero; its
 * size the whole. */
typedef struct {
    tandem_engine_config config;
    uint8_t tail[8];
} newer_config_t;

static newer_config_t newer_cpu_config(void) {
    newer_config_t newer;
    memset(&newer, 0, sizeof newer);
    newer.config = cpu_config();
    newer.config.size = sizeof newer;
    return newer;
}

/* ---- the log sink ------------------------------------------------------------------------- */

enum { LOG_LINES = 256, LOG_LINE_LEN = 512 };

/* The lines a sink received. libtandem calls a sink one line at a time; the test reads them
 * only after replacing the sink, which waits for the call in progress (the header's promise). */
typedef struct {
    int count;
    uint32_t level[LOG_LINES];
    char line[LOG_LINES][LOG_LINE_LEN];
} log_lines_t;

static void collect(void *ctx, uint32_t level, const char *message) {
    log_lines_t *lines = ctx;
    if (lines->count < LOG_LINES) {
        lines->level[lines->count] = level;
        snprintf(lines->line[lines->count], LOG_LINE_LEN, "%s", message);
    }
    lines->count++;
}

/* The first line at `level` that starts with `prefix` and contains `part`; NULL if none. */
static const char *find_line(const log_lines_t *lines, uint32_t level, const char *prefix,
                             const char *part) {
    for (int i = 0; i < lines->count && i < LOG_LINES; i++) {
        if (lines->level[i] == level && strncmp(lines->line[i], prefix, strlen(prefix)) == 0 &&
            strstr(lines->line[i], part) != NULL) {
            return lines->line[i];
        }
    }
    return NULL;
}

/* ---- tandem_engine_open ------------------------------------------------------------------- */

/* tandem_engine_open must fail with `code` and a message starting with `prefix` (exactly
 * `message` when `exact`), leave *engine_out NULL, and create no store. */
static void open_refused_at(const char *genesis, const char *dir, const void *config, int32_t code,
                            const char *message, int exact, int line) {
    tandem_engine *engine = (tandem_engine *)(void *)&engine; /* not NULL: must become NULL */
    int32_t status = tandem_engine_open(genesis, dir, config, &engine);
    check_error(status, code, message, !exact, __FILE__, line, "tandem_engine_open");
    CHECK(engine == NULL);
    if (status == TANDEM_OK) {
        tandem_engine_close(engine);
    }
    if (dir != NULL) {
        CHECK(!exists(dir));
    }
}
#define OPEN_REFUSED(genesis, dir, config, code, message) \
    open_refused_at((genesis), (dir), (config), (code), (message), 1, __LINE__)
#define OPEN_REFUSED_PREFIX(genesis, dir, config, code, prefix) \
    open_refused_at((genesis), (dir), (config), (code), (prefix), 0, __LINE__)

static void write_file(const char *path, const void *bytes, size_t len) {
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(bytes, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
}

static void test_open_refused(void) {
    char dir[512], missing[512], garbage[512], invalid[512], bad_dir[600], message[1024];
    scratch_path(dir, "refused");
    scratch_path(missing, "no-such-genesis.toml");
    scratch_path(garbage, "garbage.toml");
    scratch_path(invalid, "invalid.toml");
    snprintf(bad_dir, sizeof bad_dir, "%s/\xff\xfe", scratch);
    tandem_engine_config config = cpu_config();

    /* NULL and non-UTF-8 arguments. */
    CHECK_ERROR(tandem_engine_open(genesis_path, dir, &config, NULL), TANDEM_ERR_INVALID_ARGUMENT,
                "tandem_engine_open: engine_out is NULL");
    CHECK(!exists(dir));
    OPEN_REFUSED(NULL, dir, &config, TANDEM_ERR_INVALID_ARGUMENT,
                 "tandem_engine_open: genesis_toml_path is NULL");
    OPEN_REFUSED(genesis_path, NULL, &config, TANDEM_ERR_INVALID_ARGUMENT,
                 "tandem_engine_open: store_dir is NULL");
    OPEN_REFUSED("", dir, &config, TANDEM_ERR_INVALID_ARGUMENT,
                 "tandem_engine_open: genesis_toml_path is empty");
    OPEN_REFUSED(genesis_path, "", &config, TANDEM_ERR_INVALID_ARGUMENT,
                 "tandem_engine_open: store_dir is empty");
    OPEN_REFUSED("\xff\xfe.toml", dir, &config, TANDEM_ERR_INVALID_ARGUMENT,
                 "tandem_engine_open: genesis_toml_path is not valid UTF-8 (byte 0)");
    snprintf(message, sizeof message,
             "tandem_engine_open: store_dir is not valid UTF-8 (byte %zu)", strlen(scratch) + 1);
    OPEN_REFUSED(genesis_path, bad_dir, &config, TANDEM_ERR_INVALID_ARGUMENT, message);

    /* The genesis file: missing (I/O), not TOML, TOML but not a genesis (corrupt). */
    static const char not_toml[] = "\x01\x02 not [ toml";
    static const char not_genesis[] = "[cluster]\nslots_per_epoch = \"many\"\n";
    write_file(garbage, not_toml, sizeof not_toml - 1);
    write_file(invalid, not_genesis, sizeof not_genesis - 1);
    snprintf(message, sizeof message,
             "tandem_engine_open: genesis_toml_path: cannot read genesis file %s: ", missing);
    OPEN_REFUSED_PREFIX(missing, dir, &config, TANDEM_ERR_IO, message);
    OPEN_REFUSED_PREFIX(garbage, dir, &config, TANDEM_ERR_CORRUPT,
                        "tandem_engine_open: genesis_toml_path: genesis file is not valid TOML: ");
    OPEN_REFUSED_PREFIX(invalid, dir, &config, TANDEM_ERR_CORRUPT,
                        "tandem_engine_open: genesis_toml_path: cluster.slots_per_epoch: ");
    /* A store directory that is a file: an I/O error naming it. */
    tandem_engine *engine = (tandem_engine *)(void *)&engine;
    CHECK_ERROR_PREFIX(tandem_engine_open(genesis_path, garbage, &config, &engine), TANDEM_ERR_IO,
                       "tandem_engine_open: ");
    CHECK(strstr(tandem_last_error(), garbage) != NULL && engine == NULL);

    /* Bad fields: a size smaller than this header's struct, unknown backends, too many UED
     * threads, a size left unset. */
    enum { BAD_FIELDS = 6 };
    tandem_engine_config bad[BAD_FIELDS];
    char expect[BAD_FIELDS][300];
    for (size_t i = 0; i < BAD_FIELDS; i++) {
        bad[i] = cpu_config();
    }
    bad[0].size = 4;
    bad[1].size = sizeof bad[1] - 1;
    bad[2].backend = 3;
    bad[3].backend = 0xFFFFFFFFu;
    bad[4].ued_threads = 1025;
    bad[5].size = 0xFFFFFFFFu;
    for (size_t i = 0; i < 2; i++) {
        snprintf(expect[i], sizeof expect[i],
                 "tandem_engine_open: config->size = %u is smaller than "
                 "sizeof(tandem_engine_config) = %zu: set it to sizeof(tandem_engine_config)",
                 bad[i].size, sizeof bad[i]);
    }
    for (size_t i = 2; i < 4; i++) {
        snprintf(expect[i], sizeof expect[i],
                 "tandem_engine_open: config->backend = %u is not TANDEM_BACKEND_AUTO (0), "
                 "TANDEM_BACKEND_CPU (1) or TANDEM_BACKEND_GPU (2)",
                 bad[i].backend);
    }
    snprintf(expect[4], sizeof expect[4],
             "tandem_engine_open: config->ued_threads = 1025: at most 1024");
    snprintf(expect[5], sizeof expect[5],
             "tandem_engine_open: config->size = 4294967295 is larger than any version of "
             "tandem_engine_config will be (1024 bytes at most): set it to "
             "sizeof(tandem_engine_config)");
    for (size_t i = 0; i < BAD_FIELDS; i++) {
        OPEN_REFUSED(genesis_path, dir, &bad[i], TANDEM_ERR_INVALID_ARGUMENT, expect[i]);
    }
    /* A larger size (a newer header) only where the fields this library does not know are
     * zero (a zero tail is accepted: the engine's main open, in open_cpu_engine). */
    newer_config_t newer = newer_cpu_config();
    newer.tail[3] = 1;
    snprintf(message, sizeof message,
             "tandem_engine_open: config->size = %zu: byte %zu is set, in a field this library "
             "(%s) does not know",
             sizeof newer, sizeof newer.config + 3, TANDEM_EXPECTED_VERSION);
    OPEN_REFUSED(genesis_path, dir, &newer, TANDEM_ERR_INVALID_ARGUMENT, message);

    /* cores settings that do not parse, or name a core this machine lacks. */
    struct {
        const char *cores;
        const char *message;
    } cores[] = {
        {"", "tandem_engine_open: config->cores: the setting is empty (expected e.g. "
             "\"sigverify=0-3;ved=4;ued=5-11;hash=12\")"},
        {"ved=", "tandem_engine_open: config->cores: `ved=`: the set of cores is empty"},
        {"bogus=1", "tandem_engine_open: config->cores: `bogus=1`: unknown stage `bogus` (the "
                    "stages are sigverify, ved, ued, hash, gpu)"},
        {"\xffved=1", "tandem_engine_open: config->cores is not valid UTF-8 (byte 0)"},
    };
    for (size_t i = 0; i < sizeof cores / sizeof cores[0]; i++) {
        tandem_engine_config c = cpu_config();
        c.cores = cores[i].cores;
        OPEN_REFUSED(genesis_path, dir, &c, TANDEM_ERR_INVALID_ARGUMENT, cores[i].message);
    }
    tandem_engine_config far = cpu_config();
    far.cores = "ved=9999";
    OPEN_REFUSED_PREFIX(genesis_path, dir, &far, TANDEM_ERR_INVALID_ARGUMENT,
                        "tandem_engine_open: config->cores: ved=9999: core 9999 does not exist "
                        "(this machine has PUs ");
}

/* The first PU this process may run on (0 where that cannot be read). */
static int first_allowed_pu(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        for (int pu = 0; pu < CPU_SETSIZE; pu++) {
            if (CPU_ISSET(pu, &set)) {
                return pu;
            }
        }
    }
    return 0;
}

/* The engine the ledger runs on: the CPU backend, 2 UED threads, the VED on the first PU this
 * process may use (a `cores` setting), with a config larger than this header's (as a newer header's would be) whose unknown
 * tail is zero. The log sink collects its lines at level 3: the "engine opened" line must
 * arrive, and a refused level leaves the sink as it was. */
static tandem_engine *open_cpu_engine(const char *dir, char ved_line[64]) {
    static log_lines_t lines;
    CHECK_OK(tandem_set_log_sink(collect, &lines, 3));
    CHECK_ERROR_PREFIX(tandem_set_log_sink(collect, NULL, 6), TANDEM_ERR_INVALID_ARGUMENT,
                       "tandem_set_log_sink: max_level = 6 is not 0 (nothing)");
    newer_config_t newer = newer_cpu_config();
    newer.config.ued_threads = 2;
    char cores[32];
    snprintf(cores, sizeof cores, "ved=%d", first_allowed_pu());
    snprintf(ved_line, 64, "stage ved: PUs %d (cores setting)", first_allowed_pu());
    newer.config.cores = cores;
    tandem_engine *engine = NULL;
    CHECK_OK(tandem_engine_open(genesis_path, dir, &newer.config, &engine));
    CHECK(engine != NULL);
    /* Back to stderr (errors and warnings): once this returns the sink is not called again. */
    CHECK_OK(tandem_set_log_sink(NULL, NULL, 2));
    char opened[600];
    snprintf(opened, sizeof opened, "engine opened on %s: ", dir);
    CHECK(find_line(&lines, 3, opened, "the UED resumes after slot 0") != NULL);
    if (find_line(&lines, 3, opened, "") == NULL) {
        fprintf(stderr, "  %d lines, none \"%s...\" at level 3\n", lines.count, opened);
    }
    return engine;
}

/* ---- tandem_engine_submit_block ----------------------------------------------------------- */

/* A copy of block i whose header field at `offset` is `value`. */
static uint8_t *edited(size_t i, size_t offset, uint64_t value) {
    uint8_t *copy = exact_copy(block_of(i)->bytes, block_of(i)->len);
    put_le64(copy + offset, value);
    return copy;
}

/* An empty block (no transaction) at `slot` after `parent`: the header of block i otherwise. */
static void empty_block(size_t i, uint64_t slot, uint64_t parent, int64_t timestamp_ms,
                        uint8_t out[BLOCK_TXS]) {
    memcpy(out, block_of(i)->bytes, HEADER_LEN);
    put_le64(out + HEADER_SLOT, slot);
    put_le64(out + HEADER_PARENT, parent);
    put_le64(out + HEADER_TIMESTAMP, (uint64_t)timestamp_ms);
    put_le32(out + HEADER_LEN, 0);
}

static uint64_t ved_slot(tandem_engine *engine) {
    tandem_metrics m;
    memset(&m, 0, sizeof m);
    m.size = sizeof m;
    CHECK_OK(tandem_engine_metrics(engine, &m));
    return m.ved_slot;
}

/* Every bad block before the first one: refused, and the engine is as it was (nothing executed,
 * and the first block of the ledger still follows). */
static void test_submit_refused(tandem_engine *engine) {
    const block_t *first = block_of(0);
    char message[512];
    const char *bad_block = "tandem_engine_submit_block: block: ";

    CHECK_ERROR(tandem_engine_submit_block(engine, NULL, 5), TANDEM_ERR_INVALID_ARGUMENT,
                "tandem_engine_submit_block: block is NULL but len = 5");
    const char *empty = "tandem_engine_submit_block: block: the block is empty: a block takes at "
                        "least 92 bytes (its header and count)";
    CHECK_ERROR(tandem_engine_submit_block(engine, NULL, 0), TANDEM_ERR_INVALID_ARGUMENT, empty);
    CHECK_ERROR(submit_bytes(engine, first->bytes, 0), TANDEM_ERR_INVALID_ARGUMENT, empty);

    /* Cut short: in the header, in the count, in a transaction's length, in its bytes, by one
     * byte at the end. */
    uint32_t tx_len = le32(first->bytes + BLOCK_TXS);
    size_t cuts[] = {1,
                     HEADER_TIMESTAMP + 3,
                     HEADER_LEN - 1,
                     HEADER_LEN + 2,
                     BLOCK_TXS,
                     BLOCK_TXS + 2,
                     BLOCK_TXS + 4 + tx_len / 2,
                     first->len - 1};
    CHECK(first->tx_count > 0 && BLOCK_TXS + 4 + tx_len < first->len);
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        CHECK_ERROR_PREFIX(submit_bytes(engine, first->bytes, cuts[i]),
                           TANDEM_ERR_INVALID_ARGUMENT, bad_block);
    }

    /* Garbage (a fixed xorshift stream), and one byte too many. */
    uint8_t garbage[300];
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < sizeof garbage; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        garbage[i] = (uint8_t)x;
    }
    CHECK_ERROR_PREFIX(submit_bytes(engine, garbage, sizeof garbage), TANDEM_ERR_INVALID_ARGUMENT,
                       bad_block);
    uint8_t *longer = malloc(first->len + 1);
    memcpy(longer, first->bytes, first->len);
    longer[first->len] = 0;
    snprintf(message, sizeof message,
             "tandem_engine_submit_block: block: 1 bytes follow the block's %zu bytes: give "
             "exactly one block",
             first->len);
    CHECK_ERROR(tandem_engine_submit_block(engine, longer, first->len + 1),
                TANDEM_ERR_INVALID_ARGUMENT, message);
    free(longer);

    /* Well formed, but breaking SPEC §4: rejected with the block's slot and the reason. */
    int64_t ts = (int64_t)le64(first->bytes + HEADER_TIMESTAMP);
    uint64_t clock_breakers[] = {0, (uint64_t)ts + 1000000};
    for (size_t i = 0; i < 2; i++) {
        uint8_t *b = edited(0, HEADER_TIMESTAMP, clock_breakers[i]);
        snprintf(message, sizeof message,
                 "tandem_engine_submit_block: the block of slot %llu: timestamp %lld ms breaks the "
                 "clock rule",
                 (unsigned long long)first->slot, (long long)clock_breakers[i]);
        CHECK_ERROR_PREFIX(tandem_engine_submit_block(engine, b, first->len), TANDEM_ERR_REJECTED,
                           message);
        free(b);
    }
    snprintf(message, sizeof message,
             "tandem_engine_submit_block: the block of slot %llu: its parent is slot %llu, but the "
             "last executed slot is 0",
             (unsigned long long)block_of(1)->slot,
             (unsigned long long)le64(block_of(1)->bytes + HEADER_PARENT));
    CHECK_ERROR(submit_bytes(engine, block_of(1)->bytes, block_of(1)->len), TANDEM_ERR_REJECTED,
                message);
    uint8_t *b = edited(0, HEADER_SLOT, 0);
    CHECK_ERROR(tandem_engine_submit_block(engine, b, first->len), TANDEM_ERR_REJECTED,
                "tandem_engine_submit_block: the block of slot 0: its slot is not after its parent "
                "slot 0");
    free(b);
    b = edited(0, HEADER_SLOT, 1000);
    CHECK_ERROR_PREFIX(tandem_engine_submit_block(engine, b, first->len), TANDEM_ERR_REJECTED,
                       "tandem_engine_submit_block: the block of slot 1000: it skips 1000 slots "
                       "after its parent slot 0, more than one epoch");
    free(b);
    /* A transaction that does not parse (SPEC §2). */
    uint8_t malformed[BLOCK_TXS + 4 + 3];
    memcpy(malformed, first->bytes, HEADER_LEN);
    put_le32(malformed + HEADER_LEN, 1);
    put_le32(malformed + BLOCK_TXS, 3);
    memcpy(malformed + BLOCK_TXS + 4, "abc", 3);
    snprintf(message, sizeof message,
             "tandem_engine_submit_block: the block of slot %llu: transaction 0 is malformed: ",
             (unsigned long long)first->slot);
    CHECK_ERROR_PREFIX(submit_bytes(engine, malformed, sizeof malformed), TANDEM_ERR_REJECTED,
                       message);

    /* Nothing changed: nothing executed, nothing waiting to be. */
    uint8_t hash[32];
    CHECK(tandem_engine_ved_hash(engine, first->slot, 50, hash) == TANDEM_ERR_TIMEOUT);
    CHECK(ved_slot(engine) == 0);
}

/* Submits every block of the ledger and waits for each slot's hashes into `out`; they must be
 * the report's. */
static void run_ledger(tandem_engine *engine, slot_hashes_t *out) {
    for (size_t i = 0; i < ledger.n; i++) {
        CHECK_OK(submit_bytes(engine, block_of(i)->bytes, block_of(i)->len));
    }
    int mismatches = 0;
    for (size_t i = 0; i < ledger.n; i++) {
        out[i].slot = block_of(i)->slot;
        memset(out[i].ved, 0, 32);
        memset(out[i].ued, 0, 32);
        CHECK_OK(tandem_engine_ved_hash(engine, out[i].slot, WAIT_MS, out[i].ved));
        CHECK_OK(tandem_engine_ued_hash(engine, out[i].slot, WAIT_MS, out[i].ued));
        if (expected != NULL && (memcmp(out[i].ved, expected[i].ved, 32) != 0 ||
                                 memcmp(out[i].ued, expected[i].ued, 32) != 0)) {
            fprintf(stderr, "  slot %llu: not the hashes of the report\n",
                    (unsigned long long)out[i].slot);
            mismatches++;
        }
    }
    CHECK(mismatches == 0);
}

/* After the ledger: blocks that do not follow its last one are refused; nothing changes. */
static void test_submit_refused_after(tandem_engine *engine) {
    const block_t *last = last_block();
    char message[512];
    for (size_t i = 0; i < ledger.n; i += ledger.n - 1) { /* the first and the last */
        snprintf(message, sizeof message,
                 "tandem_engine_submit_block: the block of slot %llu: its parent is slot %llu, but "
                 "the last executed slot is %llu",
                 (unsigned long long)block_of(i)->slot,
                 (unsigned long long)le64(block_of(i)->bytes + HEADER_PARENT),
                 (unsigned long long)last->slot);
        CHECK_ERROR(submit_bytes(engine, block_of(i)->bytes, block_of(i)->len),
                    TANDEM_ERR_REJECTED, message);
    }
    /* The next slot, but its clock before its parent's. */
    int64_t ts = (int64_t)le64(last->bytes + HEADER_TIMESTAMP);
    uint8_t next[BLOCK_TXS];
    empty_block(ledger.n - 1, last->slot + 1, last->slot, ts - 1, next);
    snprintf(message, sizeof message,
             "tandem_engine_submit_block: the block of slot %llu: timestamp %lld ms breaks the "
             "clock rule",
             (unsigned long long)last->slot + 1, (long long)ts - 1);
    CHECK_ERROR_PREFIX(submit_bytes(engine, next, sizeof next), TANDEM_ERR_REJECTED, message);
    CHECK(ved_slot(engine) == last->slot);
}

/* ---- the hash waits ----------------------------------------------------------------------- */

typedef int32_t (*hash_wait_fn)(tandem_engine *, uint64_t, uint32_t, uint8_t *);

static void test_hash_waits(tandem_engine *engine) {
    struct {
        hash_wait_fn wait;
        const char *name;
        const char *domain;
    } waits[] = {{tandem_engine_ved_hash, "tandem_engine_ved_hash", "VED"},
                 {tandem_engine_ued_hash, "tandem_engine_ued_hash", "UED"}};
    uint64_t last = last_block()->slot;
    char message[512];
    for (size_t w = 0; w < 2; w++) {
        uint8_t out[32];
        memset(out, 0x77, sizeof out);
        snprintf(message, sizeof message, "%s: out is NULL", waits[w].name);
        CHECK_ERROR(waits[w].wait(engine, last, 0, NULL), TANDEM_ERR_INVALID_ARGUMENT, message);
        snprintf(message, sizeof message, "%s: engine is NULL", waits[w].name);
        CHECK_ERROR(waits[w].wait(NULL, last, 0, out), TANDEM_ERR_INVALID_ARGUMENT, message);
        /* Far ahead: not there by the deadline (it may come later). */
        snprintf(message, sizeof message, "%s: slot %llu: no %s hash after 20 ms", waits[w].name,
                 (unsigned long long)last + 1000, waits[w].domain);
        CHECK_ERROR(waits[w].wait(engine, last + 1000, 20, out), TANDEM_ERR_TIMEOUT, message);
        snprintf(message, sizeof message, "%s: slot %llu: no %s hash after 0 ms", waits[w].name,
                 (unsigned long long)UINT64_MAX, waits[w].domain);
        CHECK_ERROR(waits[w].wait(engine, UINT64_MAX, 0, out), TANDEM_ERR_TIMEOUT, message);
        CHECK(all_bytes(out, sizeof out, 0x77)); /* written only on success */
        /* Executed: at once, also the genesis (slot 0, where the engine opened). */
        CHECK_OK(waits[w].wait(engine, last, 0, out));
        CHECK(memcmp(out, w == 0 ? computed[ledger.n - 1].ved : computed[ledger.n - 1].ued, 32) ==
              0);
        CHECK_OK(waits[w].wait(engine, 0, 0, out));
    }
}

/* A block that skips a slot: the skipped slot's hashes are NOT_FOUND once the next one's are
 * there. Returns the new last slot. */
static uint64_t test_skipped_slot(tandem_engine *engine) {
    const block_t *last = last_block();
    uint64_t skipped = last->slot + 1, slot = last->slot + 2;
    uint8_t block[BLOCK_TXS];
    empty_block(ledger.n - 1, slot, last->slot,
                (int64_t)le64(last->bytes + HEADER_TIMESTAMP) + 400, block);
    CHECK_OK(submit_bytes(engine, block, sizeof block));
    uint8_t ved[32], ued[32];
    CHECK_OK(tandem_engine_ved_hash(engine, slot, WAIT_MS, ved));
    CHECK_OK(tandem_engine_ued_hash(engine, slot, WAIT_MS, ued));
    char message[512];
    snprintf(message, sizeof message,
             "tandem_engine_ved_hash: slot %llu has no VED hash: the slot was skipped: the next "
             "slot executed is %llu",
             (unsigned long long)skipped, (unsigned long long)slot);
    CHECK_ERROR(tandem_engine_ved_hash(engine, skipped, WAIT_MS, ved), TANDEM_ERR_NOT_FOUND,
                message);
    snprintf(message, sizeof message,
             "tandem_engine_ued_hash: slot %llu has no UED hash: the slot was skipped: the next "
             "slot executed is %llu",
             (unsigned long long)skipped, (unsigned long long)slot);
    CHECK_ERROR(tandem_engine_ued_hash(engine, skipped, 0, ued), TANDEM_ERR_NOT_FOUND, message);
    return slot;
}

/* ---- reads: accounts, transactions, alerts, metrics, the description ---------------------- */

static void test_account(tandem_engine *engine) {
    uint8_t program[32], owner[32], node[32], nobody[32];
    CHECK(base58_32(PROGRAM_PUBKEY, program) == 0);
    CHECK(base58_32(PROGRAM_OWNER, owner) == 0);
    CHECK(base58_32(VALIDATOR_NODE, node) == 0);
    memset(nobody, 0xEE, sizeof nobody);
    size_t full = strlen(PROGRAM_DATA);

    tandem_account_info info;
    memset(&info, 0x5A, sizeof info);
    uint8_t data[64];
    memset(data, 0x5A, sizeof data);
    CHECK_ERROR(tandem_engine_account(engine, NULL, &info, data, sizeof data),
                TANDEM_ERR_INVALID_ARGUMENT, "tandem_engine_account: pubkey is NULL");
    CHECK_ERROR(tandem_engine_account(engine, program, NULL, data, sizeof data),
                TANDEM_ERR_INVALID_ARGUMENT, "tandem_engine_account: info_out is NULL");
    CHECK_ERROR(tandem_engine_account(engine, program, &info, NULL, 8), TANDEM_ERR_INVALID_ARGUMENT,
                "tandem_engine_account: data is NULL but data_cap = 8");
    CHECK_ERROR_PREFIX(tandem_engine_account(engine, nobody, &info, data, sizeof data),
                       TANDEM_ERR_NOT_FOUND, "tandem_engine_account: account ");
    CHECK(strstr(tandem_last_error(), "does not exist") != NULL);
    CHECK(all_bytes((const uint8_t *)&info, sizeof info, 0x5A)); /* nothing written */
    CHECK(all_bytes(data, sizeof data, 0x5A));

    /* data NULL with data_cap 0: the length only. */
    CHECK_OK(tandem_engine_account(engine, program, &info, NULL, 0));
    CHECK(info.lamports == PROGRAM_LAMPORTS);
    CHECK(memcmp(info.owner, owner, 32) == 0);
    CHECK(info.executable == 1);
    CHECK(info.mapping == 1); /* rx-ued */
    CHECK(info.data_len == full);
    /* Too small a buffer: data_cap bytes copied, data_len the whole. */
    memset(&info, 0, sizeof info);
    CHECK_OK(tandem_engine_account(engine, program, &info, data, 6));
    CHECK(info.data_len == full);
    CHECK(memcmp(data, PROGRAM_DATA, 6) == 0);
    CHECK(all_bytes(data + 6, sizeof data - 6, 0x5A));
    /* Large enough: all of it, nothing after it. */
    CHECK_OK(tandem_engine_account(engine, program, &info, data, sizeof data));
    CHECK(info.data_len == full);
    CHECK(memcmp(data, PROGRAM_DATA, full) == 0);
    CHECK(all_bytes(data + full, sizeof data - full, 0x5A));
    /* A validator's node account: in the VED's domain, not a program. */
    CHECK_OK(tandem_engine_account(engine, node, &info, NULL, 0));
    CHECK(info.mapping == 3 && info.executable == 0 && info.data_len == 0 && info.lamports > 0);
}

static void test_tx_status(tandem_engine *engine) {
    const uint8_t *known = first_signature(block_of(0), 0);
    CHECK(known != NULL);
    if (known == NULL) {
        return;
    }
    tandem_tx_status status;
    memset(&status, 0x5A, sizeof status);
    CHECK_ERROR(tandem_engine_tx_status(engine, NULL, 0, &status), TANDEM_ERR_INVALID_ARGUMENT,
                "tandem_engine_tx_status: signature is NULL");
    CHECK_ERROR(tandem_engine_tx_status(engine, known, 0, NULL), TANDEM_ERR_INVALID_ARGUMENT,
                "tandem_engine_tx_status: out is NULL");
    CHECK_ERROR(tandem_engine_tx_status(engine, known, 10001, &status),
                TANDEM_ERR_INVALID_ARGUMENT,
                "tandem_engine_tx_status: stake_bps = 10001: basis points are 0 ..= 10,000");
    CHECK_ERROR(tandem_engine_tx_status(engine, known, UINT32_MAX, &status),
                TANDEM_ERR_INVALID_ARGUMENT,
                "tandem_engine_tx_status: stake_bps = 4294967295: basis points are 0 ..= 10,000");
    CHECK(all_bytes((const uint8_t *)&status, sizeof status, 0x5A));
    /* A misaligned out (one byte into an aligned buffer): refused before it is written. */
    uint64_t raw[sizeof status / 8 + 2];
    memset(raw, 0x5A, sizeof raw);
    tandem_tx_status *misaligned = (tandem_tx_status *)(void *)((uint8_t *)raw + 1);
    CHECK_ERROR(tandem_engine_tx_status(engine, known, 0, misaligned), TANDEM_ERR_INVALID_ARGUMENT,
                "tandem_engine_tx_status: out is not aligned to 8 bytes");
    CHECK(all_bytes((const uint8_t *)raw, sizeof raw, 0x5A));

    uint8_t unknown[64];
    memset(unknown, 0x09, sizeof unknown);
    CHECK_OK(tandem_engine_tx_status(engine, unknown, 0, &status));
    CHECK(status.state == TANDEM_TX_UNKNOWN && status.slot == 0 && status.domain == 0 &&
          status.status == 0 && status.program_error == 0);

    /* The first transaction of every block: final with X = 0, in its block's slot. */
    int wrong = 0;
    for (size_t i = 0; i < ledger.n; i++) {
        const uint8_t *signature = first_signature(block_of(i), 0);
        if (signature == NULL) {
            continue;
        }
        memset(&status, 0x5A, sizeof status);
        CHECK_OK(tandem_engine_tx_status(engine, signature, 0, &status));
        int refused_early = status.status == 1 || status.status == 2; /* no domain then */
        if (status.state != TANDEM_TX_FINAL || status.slot != block_of(i)->slot ||
            (status.domain != 1 && status.domain != 2 && !refused_early) || status.status < 1 ||
            status.status > 11 || (status.status != 11 && status.program_error != 0)) {
            fprintf(stderr, "  block %zu: state %u slot %llu domain %u status %u\n", i,
                    status.state, (unsigned long long)status.slot, status.domain, status.status);
            wrong++;
        }
    }
    CHECK(wrong == 0);
    /* With the whole stake asked for: pending or final, still in its slot. */
    CHECK_OK(tandem_engine_tx_status(engine, known, 10000, &status));
    CHECK((status.state == TANDEM_TX_PENDING || status.state == TANDEM_TX_FINAL) &&
          status.slot == block_of(0)->slot);
}

static void test_poll_alert(tandem_engine *engine) {
    tandem_alert alert;
    uint8_t has = 9;
    memset(&alert, 0x5A, sizeof alert);
    CHECK_ERROR(tandem_engine_poll_alert(engine, NULL, &has), TANDEM_ERR_INVALID_ARGUMENT,
                "tandem_engine_poll_alert: out is NULL");
    CHECK_ERROR(tandem_engine_poll_alert(engine, &alert, NULL), TANDEM_ERR_INVALID_ARGUMENT,
                "tandem_engine_poll_alert: has_alert is NULL");
    CHECK(has == 9);
    CHECK_OK(tandem_engine_poll_alert(engine, &alert, &has));
    CHECK(has == 0);
    CHECK(all_bytes((const uint8_t *)&alert, sizeof alert, 0x5A));
}

static void test_metrics(tandem_engine *engine, uint64_t slot) {
    char message[512];
    CHECK_ERROR(tandem_engine_metrics(engine, NULL), TANDEM_ERR_INVALID_ARGUMENT,
                "tandem_engine_metrics: out is NULL");
    tandem_metrics m;
    /* Sizes smaller than this header's struct, and sizes left unset (stack garbage: trusted,
     * 0xFFFFFFFF had the library zero 4 GiB after the struct): refused, nothing written. */
    uint32_t bad_sizes[] = {0, 8, (uint32_t)sizeof m - 1, 1025, 0xFFFFFFFFu};
    for (size_t i = 0; i < sizeof bad_sizes / sizeof bad_sizes[0]; i++) {
        memset(&m, 0x5A, sizeof m);
        m.size = bad_sizes[i];
        if (m.size < sizeof m) {
            snprintf(message, sizeof message,
                     "tandem_engine_metrics: out->size = %u is smaller than "
                     "sizeof(tandem_metrics) = %zu: set it to sizeof(tandem_metrics)",
                     m.size, sizeof m);
        } else {
            snprintf(message, sizeof message,
                     "tandem_engine_metrics: out->size = %u is larger than any version of "
                     "tandem_metrics will be (1024 bytes at most): set it to "
                     "sizeof(tandem_metrics)",
                     m.size);
        }
        CHECK_ERROR(tandem_engine_metrics(engine, &m), TANDEM_ERR_INVALID_ARGUMENT, message);
        CHECK(m.size == bad_sizes[i] && all_bytes((const uint8_t *)&m + 4, sizeof m - 4, 0x5A));
    }
    uint64_t raw[sizeof m / 8 + 2];
    memset(raw, 0x5A, sizeof raw);
    tandem_metrics *misaligned = (tandem_metrics *)(void *)((uint8_t *)raw + 4);
    CHECK_ERROR(tandem_engine_metrics(engine, misaligned), TANDEM_ERR_INVALID_ARGUMENT,
                "tandem_engine_metrics: out is not aligned to 8 bytes");
    CHECK(all_bytes((const uint8_t *)raw, sizeof raw, 0x5A));
    /* A newer header's larger struct: the fields known here, zero after them, size kept. */
    struct {
        tandem_metrics m;
        uint8_t tail[24];
    } newer;
    memset(&newer, 0x5A, sizeof newer);
    newer.m.size = sizeof newer;
    CHECK_OK(tandem_engine_metrics(engine, &newer.m));
    CHECK(newer.m.size == sizeof newer);
    CHECK(all_bytes(newer.tail, sizeof newer.tail, 0));
    CHECK(newer.m.ved_slot == slot && newer.m.ued_slot == slot && newer.m.ued_lag_slots == 0);
    CHECK(newer.m.halted == 0);
    CHECK(newer.m.time_to_vote_p50_us > 0 &&
          newer.m.time_to_vote_p99_us >= newer.m.time_to_vote_p50_us);
    CHECK(newer.m.ved_tps >= 0 && newer.m.ued_tps >= 0);
    /* The size this header knows. */
    memset(&m, 0x5A, sizeof m);
    m.size = sizeof m;
    CHECK_OK(tandem_engine_metrics(engine, &m));
    CHECK(m.size == sizeof m && m.ved_slot == slot && m.halted == 0);
}

/* The description; it must contain each of the NULL-terminated `lines`. */
static void test_describe(tandem_engine *engine, const char *const *lines) {
    size_t len = 7;
    char small[16];
    memset(small, 0x5A, sizeof small);
    CHECK_ERROR(tandem_engine_describe(engine, small, sizeof small, NULL),
                TANDEM_ERR_INVALID_ARGUMENT, "tandem_engine_describe: len_out is NULL");
    CHECK_ERROR(tandem_engine_describe(engine, NULL, 8, &len), TANDEM_ERR_INVALID_ARGUMENT,
                "tandem_engine_describe: buf is NULL but cap = 8");
    CHECK(len == 7 && all_bytes((const uint8_t *)small, sizeof small, 0x5A)); /* untouched */
    /* cap 0, buf NULL: the length only. */
    CHECK_OK(tandem_engine_describe(engine, NULL, 0, &len));
    CHECK(len > sizeof small);
    char *text = malloc(len + 1);
    memset(text, 0x5A, len + 1);
    size_t again = 0;
    CHECK_OK(tandem_engine_describe(engine, text, len + 1, &again));
    CHECK(again == len && strlen(text) == len);
    char first[64];
    snprintf(first, sizeof first, "tandem %s on ", TANDEM_EXPECTED_VERSION);
    CHECK(strncmp(text, first, strlen(first)) == 0);
    for (const char *const *line = lines; *line != NULL; line++) {
        CHECK(strstr(text, *line) != NULL);
    }
    CHECK(text[len - 1] == '\n');
    /* A small buffer: cut, NUL-terminated, nothing written past cap. */
    memset(small, 0x5A, sizeof small);
    CHECK_OK(tandem_engine_describe(engine, small, 8, &again));
    CHECK(again == len && memcmp(small, text, 7) == 0 && small[7] == '\0');
    CHECK(all_bytes((const uint8_t *)small + 8, sizeof small - 8, 0x5A));
    /* One byte short: all but the last character. */
    char *short_by_one = malloc(len);
    CHECK_OK(tandem_engine_describe(engine, short_by_one, len, &again));
    CHECK(strlen(short_by_one) == len - 1 && memcmp(short_by_one, text, len - 1) == 0);
    free(short_by_one);
    free(text);
}

/* Every export refuses a NULL engine, naming it. */
static void test_null_engine(void) {
    uint8_t block[BLOCK_TXS] = {0}, key[64] = {0};
    tandem_account_info info;
    tandem_tx_status status;
    tandem_alert alert;
    uint8_t has;
    tandem_metrics m;
    m.size = sizeof m;
    size_t len;
    CHECK_ERROR(tandem_engine_submit_block(NULL, block, sizeof block),
                TANDEM_ERR_INVALID_ARGUMENT, "tandem_engine_submit_block: engine is NULL");
    CHECK_ERROR(tandem_engine_account(NULL, key, &info, NULL, 0), TANDEM_ERR_INVALID_ARGUMENT,
                "tandem_engine_account: engine is NULL");
    CHECK_ERROR(tandem_engine_tx_status(NULL, key, 0, &status), TANDEM_ERR_INVALID_ARGUMENT,
                "tandem_engine_tx_status: engine is NULL");
    CHECK_ERROR(tandem_engine_poll_alert(NULL, &alert, &has), TANDEM_ERR_INVALID_ARGUMENT,
                "tandem_engine_poll_alert: engine is NULL");
    CHECK_ERROR(tandem_engine_metrics(NULL, &m), TANDEM_ERR_INVALID_ARGUMENT,
                "tandem_engine_metrics: engine is NULL");
    CHECK_ERROR(tandem_engine_describe(NULL, NULL, 0, &len), TANDEM_ERR_INVALID_ARGUMENT,
                "tandem_engine_describe: engine is NULL");
    tandem_engine_close(NULL); /* nothing */
}

/* ---- close and reopen --------------------------------------------------------------------- */

/* While an engine holds the store, another cannot open it. */
static void test_store_in_use(const char *dir) {
    tandem_engine *second = (tandem_engine *)(void *)&second;
    tandem_engine_config config = cpu_config();
    CHECK_ERROR_PREFIX(tandem_engine_open(genesis_path, dir, &config, &second), TANDEM_ERR_IO,
                       "tandem_engine_open: ");
    CHECK(strstr(tandem_last_error(), dir) != NULL);
    CHECK(second == NULL);
}

/* A genesis that is not the store's: refused, naming the store. */
static void test_other_genesis(const char *dir) {
    char other[512];
    scratch_path(other, "other-genesis.toml");
    size_t len = 0;
    uint8_t *bytes = read_file(genesis_path, &len);
    if (bytes == NULL) {
        failed++;
        return;
    }
    uint8_t *more = realloc(bytes, len + 16);
    if (more == NULL) {
        free(bytes);
        failed++;
        return;
    }
    memcpy(more + len, "\n# not the same\n", 16);
    write_file(other, more, len + 16); /* another file: another genesis hash */
    free(more);
    tandem_engine *engine = (tandem_engine *)(void *)&engine;
    CHECK_ERROR_PREFIX(tandem_engine_open(other, dir, NULL, &engine), TANDEM_ERR_INVALID_ARGUMENT,
                       "tandem_engine_open: ");
    CHECK(strstr(tandem_last_error(), "the store was made from genesis") != NULL);
    CHECK(engine == NULL);
}

/* Reopens the closed store with a NULL config (the defaults) and the log at level 3 on stderr
 * (a NULL sink): the "engine opened" line goes there. It resumes after `slot`: its hashes at
 * once, older slots not found, the statuses of its transactions kept. */
static void test_resume(const char *dir, uint64_t slot, const uint8_t ved[32],
                        const uint8_t ued[32]) {
    char captured[512];
    scratch_path(captured, "stderr.txt");
    CHECK_OK(tandem_set_log_sink(NULL, NULL, 3));
    fflush(stderr);
    int saved = dup(2);
    int fd = open(captured, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(saved >= 0 && fd >= 0 && dup2(fd, 2) == 2);
    close(fd);
    tandem_engine *engine = NULL;
    int32_t opened = tandem_engine_open(genesis_path, dir, NULL, &engine);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    CHECK_OK(tandem_set_log_sink(NULL, NULL, 2));
    CHECK(opened == TANDEM_OK);
    if (opened != TANDEM_OK) {
        fprintf(stderr, "  reopen: %s\n", tandem_last_error());
        return;
    }
    size_t len = 0;
    uint8_t *bytes = read_file(captured, &len);
    char *text = bytes != NULL ? realloc(bytes, len + 1) : NULL;
    char line[600];
    snprintf(line, sizeof line, "engine opened on %s: the UED resumes after slot %llu", dir,
             (unsigned long long)slot);
    if (text != NULL) {
        text[len] = '\0';
    }
    CHECK(text != NULL && strstr(text, line) != NULL);
    free(text != NULL ? text : (char *)bytes);

    uint8_t out[32];
    CHECK_OK(tandem_engine_ued_hash(engine, slot, 0, out));
    CHECK(memcmp(out, ued, 32) == 0);
    CHECK_OK(tandem_engine_ved_hash(engine, slot, 0, out));
    CHECK(memcmp(out, ved, 32) == 0);
    char message[512];
    uint64_t older = block_of(ledger.n - 1)->slot;
    snprintf(message, sizeof message,
             "tandem_engine_ued_hash: slot %llu has no UED hash: the engine remembers hashes "
             "from slot %llu on",
             (unsigned long long)older, (unsigned long long)slot);
    CHECK_ERROR(tandem_engine_ued_hash(engine, older, 0, out), TANDEM_ERR_NOT_FOUND, message);
    CHECK(ved_slot(engine) == slot);
    tandem_tx_status status;
    CHECK_OK(tandem_engine_tx_status(engine, first_signature(block_of(0), 0), 0, &status));
    CHECK(status.state == TANDEM_TX_FINAL && status.slot == block_of(0)->slot);
    const char *lines[] = {"backend: auto\n", "stage ved: PUs ", NULL};
    test_describe(engine, lines);
    tandem_engine_close(engine);
}

/* ---- the GPU backend ---------------------------------------------------------------------- */

static void test_gpu(void) {
    char dir[512];
    scratch_path(dir, "store-gpu");
    tandem_engine_config config = cpu_config();
    config.backend = TANDEM_BACKEND_GPU;
    tandem_engine *engine = NULL;
    int32_t status = tandem_engine_open(genesis_path, dir, &config, &engine);
    if (status == TANDEM_ERR_BACKEND_UNAVAILABLE) {
        CHECK(strncmp(tandem_last_error(), "tandem_engine_open: backend gpu: no GPU adapter",
                      47) == 0);
        CHECK(engine == NULL);
    }
    if (!gpu_ran(status, "tandem_engine_open")) {
        return;
    }
    const char *lines[] = {"backend: gpu\n", "sigverify: GPU: ", NULL};
    test_describe(engine, lines);
    {
        slot_hashes_t *gpu = calloc(ledger.n, sizeof *gpu);
        run_ledger(engine, gpu);
        int same = 1;
        for (size_t i = 0; i < ledger.n; i++) {
            same &= memcmp(gpu[i].ved, computed[i].ved, 32) == 0 &&
                    memcmp(gpu[i].ued, computed[i].ued, 32) == 0;
        }
        CHECK(same);
        free(gpu);
    }
    tandem_engine_close(engine);
}

int main(int argc, char **argv) {
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: %s GENESIS LEDGER SCRATCH [REPORT]\n", argv[0]);
        return 2;
    }
    genesis_path = argv[1];
    scratch = argv[3];
    if (ledger_load(argv[2], &ledger) != 0 || ledger.n < 3) {
        fprintf(stderr, "%s: need a ledger of 3 blocks or more\n", argv[2]);
        return 2;
    }
    if (argc == 5) {
        expected = calloc(ledger.n, sizeof *expected);
        if (expected == NULL || expected_load(argv[4], &ledger, expected) != 0) {
            return 2;
        }
    }
    computed = calloc(ledger.n, sizeof *computed);
    if (computed == NULL || (mkdir(scratch, 0755) != 0 && errno != EEXIST)) {
        fprintf(stderr, "cannot make %s\n", scratch);
        return 2;
    }

    test_null_engine();
    test_open_refused();

    char dir[512];
    scratch_path(dir, "store-cpu");
    char ved_line[64];
    tandem_engine *engine = open_cpu_engine(dir, ved_line);
    if (engine == NULL) {
        return report("c-abi engine");
    }
    test_submit_refused(engine);
    run_ledger(engine, computed);
    test_submit_refused_after(engine);
    test_hash_waits(engine);
    test_account(engine);
    test_tx_status(engine);
    test_poll_alert(engine);
    test_metrics(engine, last_block()->slot);
    const char *lines[] = {"backend: cpu\n", "ued threads: 2\n", ved_line, NULL};
    test_describe(engine, lines);
    uint64_t last = test_skipped_slot(engine);
    uint8_t ved[32], ued[32];
    CHECK_OK(tandem_engine_ved_hash(engine, last, 0, ved));
    CHECK_OK(tandem_engine_ued_hash(engine, last, 0, ued));
    test_store_in_use(dir);
    tandem_engine_close(engine);

    test_other_genesis(dir);
    test_resume(dir, last, ved, ued);
    test_gpu();

    free(computed);
    free(expected);
    ledger_free(&ledger);
    return report("c-abi engine");
}
