/*
 * The engine's C ABI from several threads at once (SPEC §8: every engine function but
 * tandem_engine_close may be called from several threads on the same engine), under
 * ThreadSanitizer.
 *
 *   test_engine_threads GENESIS LEDGER SCRATCH REPORT
 *
 * GENESIS is the genesis file, LEDGER a ledger for it (`tandem gen`), SCRATCH a directory for
 * the store (made where missing) and REPORT the `tandem gen --json` report of the ledger: the
 * hashes the sequential runtime computed, single-threaded, for every slot.
 *
 * Built by `make ffi-ctest` (ffi/ffi.mk) with -fsanitize=thread and run with
 * TSAN_OPTIONS=halt_on_error=1. On one engine:
 *   - two submitters each hand it every block of the ledger in order: each block is accepted
 *     exactly once (the other gets TANDEM_ERR_REJECTED), as blocks are taken one at a time;
 *   - a waiter waits for each slot's VED hash, then its UED hash, and compares them with the
 *     report's;
 *   - a reader asks, in a loop until the others are done, for the status of a transaction of
 *     every block, an account of the genesis, the metrics, the description and an alert, and
 *     checks every answer is consistent with the ones before it;
 *   - a log sink counts the lines it receives, from this thread and the engine's, with atomics.
 * Then it closes the engine. Every counter the threads share is a C11 atomic, so the C side
 * gives TSan nothing to report; a report inside libtandem means the library raced.
 */
#define _POSIX_C_SOURCE 200809L

#include "tandem.h"

#include "check.h"
#include "ledger.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Generous: a debug build of libtandem, ThreadSanitizer, two cores. */
enum { WAIT_MS = 60000 };

/* The program-0 account of engine/genesis/default.toml: no transaction changes it. */
static const char PROGRAM_PUBKEY[] = "9C3znjGewroKDPBmuj42hEFhtMWNJ1pGneUEuGyEhGAN";
static const uint64_t PROGRAM_LAMPORTS = 1000000000;
static const size_t PROGRAM_DATA_LEN = 37;

static ledger_t ledger;
static slot_hashes_t *expected;
static tandem_engine *engine;
/* The first signature of each block's first transaction (NULL where it has none). */
static const uint8_t **signatures;
/* Per block: how many submitters had it accepted. */
static atomic_int *accepted;
/* Set once the submitters and the waiter are done: the reader stops. */
static atomic_bool done;

/* The thread that opens the engine: the sink is called on libtandem's log thread instead, whoever
 * logged the line. */
static pthread_t main_thread;
static atomic_int lines_from_other_threads;
/* Lines the VED's thread logged at an epoch boundary (debug lines: crossed alone, or waited). */
static atomic_int boundary_lines;

/* The log sink (level 4: the VED's line at the epoch boundary is a debug line, from its thread). */
static void count_line(void *ctx, uint32_t level, const char *message) {
    atomic_int *lines = ctx;
    if (level < 1 || level > 4 || message == NULL || message[0] == '\0') {
        failed++;
        fprintf(stderr, "log sink: level %u, message \"%s\"\n", level,
                message != NULL ? message : "(NULL)");
    }
    atomic_fetch_add(lines, 1);
    if (!pthread_equal(pthread_self(), main_thread)) {
        atomic_fetch_add(&lines_from_other_threads, 1);
    }
    if (message != NULL && strstr(message, "epoch boundary") != NULL) {
        atomic_fetch_add(&boundary_lines, 1);
    }
}

/* The start of the error a block already accepted is refused with. */
#define REFUSED_BLOCK "tandem_engine_submit_block: the block of slot "

/* Submits every block in order; each is accepted here or already was by the other submitter. */
static void *submitter(void *arg) {
    (void)arg;
    int wrong = 0;
    for (size_t i = 0; i < ledger.n; i++) {
        int32_t status =
            tandem_engine_submit_block(engine, ledger.blocks[i].bytes, ledger.blocks[i].len);
        if (status == TANDEM_OK) {
            atomic_fetch_add(&accepted[i], 1);
        } else if (status != TANDEM_ERR_REJECTED ||
                   strncmp(tandem_last_error(), REFUSED_BLOCK, sizeof REFUSED_BLOCK - 1) != 0) {
            fprintf(stderr, "submitter: block %zu: status %d: %s\n", i, status,
                    tandem_last_error());
            wrong++;
        }
    }
    CHECK(wrong == 0);
    return NULL;
}

/* Waits for each slot's VED hash, then its UED hash: the report's. */
static void *waiter(void *arg) {
    (void)arg;
    int wrong = 0;
    for (size_t i = 0; i < ledger.n; i++) {
        uint8_t ved[32], ued[32];
        int32_t v = tandem_engine_ved_hash(engine, expected[i].slot, WAIT_MS, ved);
        int32_t u = tandem_engine_ued_hash(engine, expected[i].slot, WAIT_MS, ued);
        if (v != TANDEM_OK || u != TANDEM_OK || memcmp(ved, expected[i].ved, 32) != 0 ||
            memcmp(ued, expected[i].ued, 32) != 0) {
            fprintf(stderr, "waiter: slot %llu: status %d/%d%s\n",
                    (unsigned long long)expected[i].slot, v, u,
                    v == TANDEM_OK && u == TANDEM_OK ? ", not the report's hashes" : "");
            wrong++;
        }
    }
    CHECK(wrong == 0);
    return NULL;
}

/* What the reader has seen so far, to check each answer against. */
typedef struct {
    uint32_t *state; /* per block: the last TANDEM_TX_* of its signature */
    uint64_t ved_slot, ued_slot;
    char *description;
    size_t description_len;
    long rounds;
} seen_t;

/* One round of reads; the number of answers that are wrong. */
static int read_round(seen_t *seen, const uint8_t program[32]) {
    int wrong = 0;
    for (size_t i = 0; i < ledger.n; i++) {
        if (signatures[i] == NULL) {
            continue;
        }
        tandem_tx_status s;
        int32_t rc = tandem_engine_tx_status(engine, signatures[i], 0, &s);
        /* Unknown until its block is in; then pending or final in its slot; final stays. */
        int ok = rc == TANDEM_OK &&
                 (s.state == TANDEM_TX_UNKNOWN
                      ? s.slot == 0 && seen->state[i] == TANDEM_TX_UNKNOWN
                      : (s.state == TANDEM_TX_PENDING || s.state == TANDEM_TX_FINAL) &&
                            s.slot == ledger.blocks[i].slot &&
                            (s.state == TANDEM_TX_FINAL || seen->state[i] != TANDEM_TX_FINAL));
        if (!ok) {
            fprintf(stderr, "reader: block %zu: status %d, state %u after %u, slot %llu\n", i, rc,
                    s.state, seen->state[i], (unsigned long long)s.slot);
            wrong++;
        } else {
            seen->state[i] = s.state;
        }
    }

    tandem_account_info info;
    int32_t rc = tandem_engine_account(engine, program, &info, NULL, 0);
    if (rc != TANDEM_OK || info.lamports != PROGRAM_LAMPORTS ||
        info.data_len != PROGRAM_DATA_LEN) {
        fprintf(stderr, "reader: account: status %d\n", rc);
        wrong++;
    }

    tandem_metrics m;
    memset(&m, 0, sizeof m);
    m.size = sizeof m;
    rc = tandem_engine_metrics(engine, &m);
    if (rc != TANDEM_OK || m.ved_slot < seen->ved_slot || m.ued_slot < seen->ued_slot ||
        m.halted != 0) {
        fprintf(stderr, "reader: metrics: status %d, ved slot %llu after %llu, ued slot %llu "
                "after %llu\n", rc, (unsigned long long)m.ved_slot,
                (unsigned long long)seen->ved_slot, (unsigned long long)m.ued_slot,
                (unsigned long long)seen->ued_slot);
        wrong++;
    } else {
        seen->ved_slot = m.ved_slot;
        seen->ued_slot = m.ued_slot;
    }

    char text[4096];
    size_t len = 0;
    rc = tandem_engine_describe(engine, text, sizeof text, &len);
    if (rc != TANDEM_OK || len != seen->description_len ||
        strncmp(text, seen->description, sizeof text - 1) != 0) {
        fprintf(stderr, "reader: describe: status %d, another text\n", rc);
        wrong++;
    }

    tandem_alert alert;
    uint8_t has = 9;
    rc = tandem_engine_poll_alert(engine, &alert, &has);
    if (rc != TANDEM_OK || has != 0) {
        fprintf(stderr, "reader: poll_alert: status %d, has_alert %u\n", rc, has);
        wrong++;
    }
    seen->rounds++;
    return wrong;
}

/* Reads in a loop until the submitters and the waiter are done, and one round after. */
static void *reader(void *arg) {
    seen_t *seen = arg;
    uint8_t program[32];
    CHECK(base58_32(PROGRAM_PUBKEY, program) == 0);
    int wrong = 0;
    while (!atomic_load(&done)) {
        wrong += read_round(seen, program);
    }
    wrong += read_round(seen, program);
    CHECK(wrong == 0);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s GENESIS LEDGER SCRATCH REPORT\n", argv[0]);
        return 2;
    }
    const char *genesis_path = argv[1], *scratch = argv[3];
    if (ledger_load(argv[2], &ledger) != 0 || ledger.n == 0) {
        return 2;
    }
    expected = calloc(ledger.n, sizeof *expected);
    signatures = calloc(ledger.n, sizeof *signatures);
    accepted = calloc(ledger.n, sizeof *accepted);
    seen_t seen = {.state = calloc(ledger.n, sizeof(uint32_t))};
    if (expected == NULL || signatures == NULL || accepted == NULL || seen.state == NULL ||
        expected_load(argv[4], &ledger, expected) != 0) {
        return 2;
    }
    int with_tx = 0;
    for (size_t i = 0; i < ledger.n; i++) {
        atomic_init(&accepted[i], 0);
        signatures[i] = first_signature(&ledger.blocks[i], 0);
        with_tx += signatures[i] != NULL;
    }
    CHECK(with_tx > 0);
    char dir[512];
    snprintf(dir, sizeof dir, "%s/store", scratch);
    if (mkdir(scratch, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "cannot make %s\n", scratch);
        return 2;
    }

    static atomic_int log_lines;
    main_thread = pthread_self();
    CHECK_OK(tandem_set_log_sink(count_line, &log_lines, 4));
    tandem_engine_config config;
    memset(&config, 0, sizeof config);
    config.size = sizeof config;
    config.backend = TANDEM_BACKEND_CPU;
    CHECK_OK(tandem_engine_open(genesis_path, dir, &config, &engine));
    if (engine == NULL) {
        return report("c-abi threads");
    }
    CHECK(atomic_load(&log_lines) >= 1); /* "engine opened" */
    CHECK_OK(tandem_engine_describe(engine, NULL, 0, &seen.description_len));
    seen.description = malloc(seen.description_len + 1);
    CHECK_OK(tandem_engine_describe(engine, seen.description, seen.description_len + 1,
                                    &seen.description_len));

    pthread_t submitters[2], wait_thread, read_thread;
    atomic_init(&done, false);
    CHECK(pthread_create(&read_thread, NULL, reader, &seen) == 0);
    CHECK(pthread_create(&wait_thread, NULL, waiter, NULL) == 0);
    for (int i = 0; i < 2; i++) {
        CHECK(pthread_create(&submitters[i], NULL, submitter, NULL) == 0);
    }
    for (int i = 0; i < 2; i++) {
        CHECK(pthread_join(submitters[i], NULL) == 0);
    }
    CHECK(pthread_join(wait_thread, NULL) == 0);
    atomic_store(&done, true);
    CHECK(pthread_join(read_thread, NULL) == 0);

    int once = 0;
    for (size_t i = 0; i < ledger.n; i++) {
        once += atomic_load(&accepted[i]) == 1;
    }
    CHECK(once == (int)ledger.n);
    CHECK(seen.rounds > 1);
    CHECK(seen.ved_slot == ledger.blocks[ledger.n - 1].slot);
    CHECK(seen.ued_slot == ledger.blocks[ledger.n - 1].slot);
    int final = 0;
    for (size_t i = 0; i < ledger.n; i++) {
        final += signatures[i] != NULL && seen.state[i] == TANDEM_TX_FINAL;
    }
    CHECK(final == with_tx);

    tandem_engine_close(engine);
    CHECK_OK(tandem_set_log_sink(NULL, NULL, 2));
    int lines = atomic_load(&log_lines), others = atomic_load(&lines_from_other_threads);
    CHECK(others >= 1);                          /* delivered on libtandem's log thread */
    CHECK(atomic_load(&boundary_lines) >= 1);    /* the VED's line at the epoch boundary */
    printf("c-abi threads: %d log lines (%d on the log thread), %ld reader rounds\n", lines, others,
           seen.rounds);

    free(seen.description);
    free(seen.state);
    free(accepted);
    free(signatures);
    free(expected);
    ledger_free(&ledger);
    return report("c-abi threads");
}
