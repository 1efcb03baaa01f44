/*
 * The checks of the C tests (test_ffi.c, test_engine.c, test_engine_threads.c): each counts a
 * pass or prints where it failed and counts a failure. The counters are C11 atomics, so threads
 * may check at once. Header-only: each test is one translation unit.
 */
#ifndef TANDEM_TESTS_CHECK_H
#define TANDEM_TESTS_CHECK_H

#include "tandem.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_int passed;
static atomic_int failed;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (cond) {                                                                  \
            passed++;                                                                \
        } else {                                                                     \
            failed++;                                                                \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                            \
    } while (0)

/* `call` must fail with `code`, and tandem_last_error() must then read exactly `message`. */
#define CHECK_ERROR(call, code, message) \
    check_error((call), (code), (message), 0, __FILE__, __LINE__, #call)

/* `call` must fail with `code`, and tandem_last_error() must then start with `prefix` (the
 * function and the argument, for a message whose rest is a library's text). */
#define CHECK_ERROR_PREFIX(call, code, prefix) \
    check_error((call), (code), (prefix), 1, __FILE__, __LINE__, #call)

static inline void check_error(int32_t got, int32_t code, const char *message, int prefix_only,
                               const char *file, int line, const char *call) {
    const char *last = tandem_last_error();
    size_t n = prefix_only ? strlen(message) : SIZE_MAX;
    if (got == code && last != NULL && strncmp(last, message, n) == 0) {
        passed++;
        return;
    }
    failed++;
    fprintf(stderr,
            "%s:%d: CHECK_ERROR failed: %s\n  status %d, expected %d\n  last error \"%s\"\n"
            "  expected %s \"%s\"\n",
            file, line, call, got, code, last != NULL ? last : "(NULL)",
            prefix_only ? "prefix" : "      ", message);
}

/* A success clears the last error. */
#define CHECK_OK(call)                                      \
    do {                                                    \
        int32_t status_ = (call);                           \
        CHECK(status_ == TANDEM_OK);                        \
        if (status_ != TANDEM_OK) {                         \
            fprintf(stderr, "  %s\n", tandem_last_error()); \
        }                                                   \
        CHECK(tandem_last_error()[0] == '\0');              \
    } while (0)

/* TANDEM_CTEST_GPU=1: the GPU backend must work (lavapipe in CI). */
static inline int gpu_wanted(void) {
    const char *v = getenv("TANDEM_CTEST_GPU");
    return v != NULL && strcmp(v, "1") == 0;
}

/* Whether a GPU call, whose status is `status`, ran: then its answers are checked, wherever it
 * ran. TANDEM_ERR_BACKEND_UNAVAILABLE is accepted where the GPU is not wanted, and said. */
static inline int gpu_ran(int32_t status, const char *what) {
    CHECK(status == TANDEM_OK || status == TANDEM_ERR_BACKEND_UNAVAILABLE);
    if (gpu_wanted()) {
        CHECK(status == TANDEM_OK);
    }
    if (status != TANDEM_OK) {
        fprintf(stderr, "%s: the GPU backend did not run: %s\n", what, tandem_last_error());
    }
    return status == TANDEM_OK;
}

static inline int all_bytes(const uint8_t *p, size_t len, uint8_t value) {
    for (size_t i = 0; i < len; i++) {
        if (p[i] != value) {
            return 0;
        }
    }
    return 1;
}

/* The last line of every test: its counts; the exit status. */
static inline int report(const char *name) {
    printf("%s: %d passed, %d failed\n", name, atomic_load(&passed), atomic_load(&failed));
    return atomic_load(&failed) == 0 ? 0 : 1;
}

#endif /* TANDEM_TESTS_CHECK_H */
