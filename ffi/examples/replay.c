/*
 * replay.c: replays a tandem ledger through libtandem's engine and prints each slot's hashes.
 *
 *     replay GENESIS.toml LEDGER STORE_DIR [--backend cpu|auto|gpu]
 *
 * stdout: one line per block, "<slot> <VED hash> <UED hash>" in lowercase hex, the hashes that
 * `tandem replay --json` writes. stderr: the engine's description, its log, alerts, metrics.
 *
 * What a validator does with the engine, in order: open it on a genesis and a store directory,
 * hand it each block as it arrives (tandem_engine_submit_block), wait for the block's VED hash
 * (the hash it votes with), collect the UED hash later, watch for alerts, close it. This program
 * does the same with blocks read from a ledger file (SPEC §9).
 *
 * Ownership: tandem_engine_open gives us the engine; we free it with tandem_engine_close and
 * nothing else. Every buffer is ours (tandem copies what it needs before a call returns). Strings
 * tandem returns (tandem_last_error) belong to tandem: never free them, and copy them if they
 * must outlive the next tandem call on the same thread.
 *
 * Threads: every engine function except tandem_engine_close may be called from several threads
 * at once on the same engine; this program uses one. tandem_engine_close comes last, once no
 * other thread uses the engine. The log sink is called from any thread, tandem's own included.
 *
 * replay.cpp is the same program in C++. Each example stands alone on purpose, so that either can
 * be read, copied and built by itself; the shared structure is deliberate.
 *
 * Build: cc -std=c11 replay.c $(pkg-config --cflags --libs tandem) -o replay
 */
#include <tandem.h>

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* SPEC §9: a ledger starts with these 8 bytes; a block header is slot, parent slot, leader,
 * timestamp, blockhash. */
static const char LEDGER_MAGIC[8] = {'T', 'N', 'D', 'M', 'L', 'D', 'G', '1'};
enum { BLOCK_HEADER_LEN = 8 + 8 + 32 + 8 + 32 };
/* No valid transaction is longer (Solana's packet size): a longer length is a damaged file, and
 * this bound keeps a damaged length from sizing an allocation. */
enum { MAX_TRANSACTION_LEN = 1232 };
/* Blocks whose UED hash we have not printed yet. The VED runs ahead of the UED; letting blocks
 * run ahead keeps the pipeline busy. Far below the 4,096 slots whose hashes the engine keeps. */
enum { IN_FLIGHT = 64 };
static const uint32_t WAIT_MS = 60000;

/* A ledger being read block by block. `block` holds the last block's bytes in the encoding
 * tandem_engine_submit_block takes: the ledger's bytes of that block, without the magic. */
typedef struct {
    FILE *file;
    const char *path;
    uint64_t index;  /* the index of the block being read, from 0 */
    uint64_t offset; /* bytes of the file read so far */
    uint8_t *block;
    size_t len, cap;
} ledger_reader;

static uint32_t read_le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t read_le64(const uint8_t *p) {
    return (uint64_t)read_le32(p) | (uint64_t)read_le32(p + 4) << 32;
}

/* Appends the next `n` bytes of the file to the block: 0 when they are there; 1 when `at_start`
 * (a block's first bytes) and the file ends cleanly before them; -1, printed, otherwise. */
static int read_part(ledger_reader *r, size_t n, const char *part, int at_start) {
    if (r->len + n > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;
        while (cap < r->len + n) {
            cap *= 2;
        }
        uint8_t *grown = realloc(r->block, cap);
        if (grown == NULL) {
            fprintf(stderr, "replay: %s: out of memory for block %" PRIu64 "\n", r->path, r->index);
            return -1;
        }
        r->block = grown;
        r->cap = cap;
    }
    size_t got = fread(r->block + r->len, 1, n, r->file);
    if (got == n) {
        r->len += n;
        r->offset += n;
        return 0;
    }
    if (ferror(r->file)) {
        fprintf(stderr, "replay: %s: %s\n", r->path, strerror(errno));
    } else if (got == 0 && at_start) {
        return 1;
    } else {
        fprintf(stderr,
                "replay: %s: truncated in block %" PRIu64 ": %s at byte %" PRIu64
                ": %zu bytes needed, %zu present\n",
                r->path, r->index, part, r->offset, n, got);
    }
    return -1;
}

/* Reads the next block into r->block. 1: a block; 0: the clean end of the ledger; -1: an error,
 * printed. */
static int read_block(ledger_reader *r) {
    r->len = 0;
    int rc = read_part(r, BLOCK_HEADER_LEN, "header", 1);
    if (rc != 0) {
        return rc == 1 ? 0 : -1;
    }
    if (read_part(r, 4, "transaction count", 0) != 0) {
        return -1;
    }
    uint32_t count = read_le32(r->block + BLOCK_HEADER_LEN);
    for (uint32_t i = 0; i < count; i++) {
        if (read_part(r, 4, "transaction length", 0) != 0) {
            return -1;
        }
        uint32_t tx_len = read_le32(r->block + r->len - 4);
        if (tx_len > MAX_TRANSACTION_LEN) {
            fprintf(stderr,
                    "replay: %s: corrupt: transaction %" PRIu32 " of block %" PRIu64
                    " claims %" PRIu32 " bytes (at most %d)\n",
                    r->path, i, r->index, tx_len, MAX_TRANSACTION_LEN);
            return -1;
        }
        if (read_part(r, tx_len, "transaction bytes", 0) != 0) {
            return -1;
        }
    }
    r->index++;
    return 1;
}

/* The name of a status code, for messages. */
static const char *status_name(int32_t status) {
    switch (status) {
    case TANDEM_OK: return "TANDEM_OK";
    case TANDEM_ERR_INVALID_ARGUMENT: return "TANDEM_ERR_INVALID_ARGUMENT";
    case TANDEM_ERR_BACKEND_UNAVAILABLE: return "TANDEM_ERR_BACKEND_UNAVAILABLE";
    case TANDEM_ERR_IO: return "TANDEM_ERR_IO";
    case TANDEM_ERR_CORRUPT: return "TANDEM_ERR_CORRUPT";
    case TANDEM_ERR_REJECTED: return "TANDEM_ERR_REJECTED";
    case TANDEM_ERR_TIMEOUT: return "TANDEM_ERR_TIMEOUT";
    case TANDEM_ERR_HALTED: return "TANDEM_ERR_HALTED";
    case TANDEM_ERR_NOT_FOUND: return "TANDEM_ERR_NOT_FOUND";
    case TANDEM_ERR_INTERNAL: return "TANDEM_ERR_INTERNAL";
    default: return "unknown status";
    }
}

/* Prints a failed call's status and message. Call it right after the failure: tandem_last_error()
 * describes the last tandem call made on this thread, and starts with that function's name. */
static void report_error(int32_t status) {
    fprintf(stderr, "replay: error %d (%s): %s\n", status, status_name(status),
            tandem_last_error());
}

static void print_hex(FILE *out, const uint8_t *bytes, size_t len) {
    for (size_t i = 0; i < len; i++) {
        fprintf(out, "%02x", bytes[i]);
    }
}

/* Prints every alert not read yet; returns how many. An alert means the engine halted (SPEC §6):
 * it votes no more until an operator looks. */
static int report_alerts(tandem_engine *engine) {
    int count = 0;
    for (;;) {
        tandem_alert alert;
        uint8_t has_alert = 0;
        int32_t status = tandem_engine_poll_alert(engine, &alert, &has_alert);
        if (status != TANDEM_OK) {
            report_error(status);
            return count + 1;
        }
        if (!has_alert) {
            return count;
        }
        count++;
        if (alert.kind == TANDEM_ALERT_UED_DIVERGENCE) {
            fprintf(stderr, "replay: ALERT: UED divergence at slot %" PRIu64 ": local ",
                    alert.slot);
            print_hex(stderr, alert.local_hash, sizeof alert.local_hash);
            fprintf(stderr, ", %" PRIu64 " of %" PRIu64 " stake reported ", alert.other_stake,
                    alert.total_stake);
            print_hex(stderr, alert.other_hash, sizeof alert.other_hash);
            fputc('\n', stderr);
        } else if (alert.kind == TANDEM_ALERT_UED_LAG) {
            fprintf(stderr,
                    "replay: ALERT: the UED lagged at the epoch boundary of slot %" PRIu64 "\n",
                    alert.slot);
        } else {
            fprintf(stderr, "replay: ALERT: kind %" PRIu32 " at slot %" PRIu64 "\n", alert.kind,
                    alert.slot);
        }
    }
}

/* The log sink. tandem calls it from any of its threads, one call at a time, so it needs no lock
 * of its own; `message` is valid only during the call. It must return quickly. */
static void log_to_stderr(void *ctx, uint32_t level, const char *message) {
    static const char *const names[] = {"off", "error", "warn", "info", "debug", "trace"};
    (void)ctx; /* what was passed to tandem_set_log_sink: unused here */
    fprintf(stderr, "tandem %s: %s\n", level < 6 ? names[level] : "?", message);
}

/* Writes the engine's metrics into *out. 0, or -1 after printing the error. */
static int read_metrics(tandem_engine *engine, tandem_metrics *out) {
    /* Zero it, then set `size`: a newer header's larger struct gets zeros where this library
     * knows no field. */
    memset(out, 0, sizeof *out);
    out->size = sizeof *out;
    int32_t status = tandem_engine_metrics(engine, out);
    if (status != TANDEM_OK) {
        report_error(status);
        return -1;
    }
    return 0;
}

/* Prints tandem_engine_describe's text: the backends and where each stage runs. */
static int print_description(tandem_engine *engine) {
    size_t len = 0; /* first the length, then a buffer that large and the NUL */
    int32_t status = tandem_engine_describe(engine, NULL, 0, &len);
    char *text = status == TANDEM_OK ? malloc(len + 1) : NULL;
    if (status == TANDEM_OK && text == NULL) {
        fprintf(stderr, "replay: out of memory\n");
        return -1;
    }
    if (status == TANDEM_OK) {
        status = tandem_engine_describe(engine, text, len + 1, &len);
    }
    if (status != TANDEM_OK) {
        report_error(status);
    } else {
        fprintf(stderr, "%s", text);
    }
    free(text);
    return status == TANDEM_OK ? 0 : -1;
}

/* A block whose VED hash is known and whose UED hash we still wait for. */
typedef struct {
    uint64_t slot;
    uint8_t ved_hash[32];
} pending_slot;

/* Waits for the UED hash of `p` and prints the slot's line. */
static int print_slot(tandem_engine *engine, const pending_slot *p) {
    uint8_t ued_hash[32];
    int32_t status = tandem_engine_ued_hash(engine, p->slot, WAIT_MS, ued_hash);
    if (status != TANDEM_OK) {
        report_error(status);
        return -1;
    }
    printf("%" PRIu64 " ", p->slot);
    print_hex(stdout, p->ved_hash, 32);
    putchar(' ');
    print_hex(stdout, ued_hash, 32);
    putchar('\n');
    return 0;
}

/* Submits every block of the ledger the store does not hold yet and prints each slot's line.
 * 0, or -1 after printing what failed. */
static int replay_blocks(tandem_engine *engine, ledger_reader *ledger) {
    /* A store that already holds slots resumes after its last committed one, as `tandem replay
     * --store` does: the engine refuses a block it has executed, so skip those. */
    tandem_metrics metrics;
    if (read_metrics(engine, &metrics) != 0) {
        return -1;
    }
    uint64_t resumed_after = metrics.ued_slot;
    if (resumed_after > 0) {
        fprintf(stderr, "replay: the store resumes after slot %" PRIu64 "\n", resumed_after);
    }
    pending_slot pending[IN_FLIGHT]; /* a ring: `first` is the oldest of `count` */
    size_t first = 0, count = 0;
    int more;
    while ((more = read_block(ledger)) == 1) {
        uint64_t slot = read_le64(ledger->block);
        if (slot <= resumed_after) {
            continue;
        }
        /* tandem copies the block before it returns: the buffer is ours to reuse. It returns once
         * the block is queued, and waits first if the UED is too far behind. */
        int32_t status = tandem_engine_submit_block(engine, ledger->block, ledger->len);
        pending_slot *p = &pending[(first + count) % IN_FLIGHT];
        p->slot = slot;
        /* The vote point: a validator votes with this hash as soon as it has it. */
        if (status == TANDEM_OK) {
            status = tandem_engine_ved_hash(engine, slot, WAIT_MS, p->ved_hash);
        }
        if (status != TANDEM_OK) {
            report_error(status);
            return -1;
        }
        /* The UED hash follows later: print the oldest slot once IN_FLIGHT blocks wait. */
        if (++count == IN_FLIGHT) {
            if (print_slot(engine, &pending[first]) != 0) {
                return -1;
            }
            first = (first + 1) % IN_FLIGHT;
            count--;
        }
        if (report_alerts(engine) > 0) {
            return -1;
        }
    }
    for (; more == 0 && count > 0; first = (first + 1) % IN_FLIGHT, count--) {
        if (print_slot(engine, &pending[first]) != 0) {
            return -1;
        }
    }
    return more; /* 0 at the end of the ledger, -1 when reading it failed */
}

int main(int argc, char **argv) {
    uint32_t backend = TANDEM_BACKEND_AUTO;
    if (argc == 6 && strcmp(argv[4], "--backend") == 0) {
        const char *b = argv[5];
        backend = strcmp(b, "cpu") == 0    ? TANDEM_BACKEND_CPU
                  : strcmp(b, "gpu") == 0  ? TANDEM_BACKEND_GPU
                  : strcmp(b, "auto") == 0 ? TANDEM_BACKEND_AUTO
                                           : UINT32_MAX;
    }
    if ((argc != 4 && argc != 6) || backend == UINT32_MAX) {
        fprintf(stderr, "usage: %s GENESIS.toml LEDGER STORE_DIR [--backend cpu|auto|gpu]\n",
                argv[0]);
        return 2;
    }
    ledger_reader ledger = {.path = argv[2]};
    ledger.file = fopen(ledger.path, "rb");
    if (ledger.file == NULL) {
        fprintf(stderr, "replay: %s: %s\n", ledger.path, strerror(errno));
        return EXIT_FAILURE;
    }
    char magic[8];
    ledger.offset = fread(magic, 1, sizeof magic, ledger.file);
    if (ledger.offset != sizeof magic || memcmp(magic, LEDGER_MAGIC, sizeof magic) != 0) {
        fprintf(stderr, "replay: %s: not a tandem ledger (it does not start with \"TNDMLDG1\")\n",
                ledger.path);
        fclose(ledger.file);
        return EXIT_FAILURE;
    }

    /* The sink first, so that what the engine logs while it opens goes there too. 3: errors,
     * warnings and information (alerts are errors; the store it resumed is information). */
    int32_t status = tandem_set_log_sink(log_to_stderr, NULL, 3);
    tandem_engine *engine = NULL; /* ours once opened, until tandem_engine_close */
    if (status == TANDEM_OK) {
        /* Zero every field, then set `size`: a newer header's larger struct stays compatible
         * with this library only when the fields it does not know are zero. */
        tandem_engine_config config;
        memset(&config, 0, sizeof config);
        config.size = sizeof config;
        config.backend = backend;
        config.ued_threads = 0; /* from the placement plan */
        config.cores = NULL;    /* automatic placement */
        status = tandem_engine_open(argv[1], argv[3], &config, &engine);
    }
    if (status != TANDEM_OK) {
        report_error(status); /* engine is still NULL */
    }

    tandem_metrics metrics;
    int ok = status == TANDEM_OK && print_description(engine) == 0 &&
             replay_blocks(engine, &ledger) == 0 && report_alerts(engine) == 0 &&
             read_metrics(engine, &metrics) == 0;
    if (ok) {
        fprintf(stderr,
                "replay: VED at slot %" PRIu64 ", UED at slot %" PRIu64 " (largest lag %" PRIu64
                " slots); time to vote p50 %" PRIu64 " us, p99 %" PRIu64
                " us; %.0f VED and %.0f UED transactions/s\n",
                metrics.ved_slot, metrics.ued_slot, metrics.max_ued_lag_slots,
                metrics.time_to_vote_p50_us, metrics.time_to_vote_p99_us, metrics.ved_tps,
                metrics.ued_tps);
    } else if (engine != NULL) {
        report_alerts(engine); /* the reason, when the engine halted */
    }
    /* Stops the pipeline (every queued block is executed and committed) and frees the engine;
     * NULL: nothing. Only once no other thread uses it: the pointer is dead afterwards. */
    tandem_engine_close(engine);
    fclose(ledger.file);
    free(ledger.block);
    return ok && fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
