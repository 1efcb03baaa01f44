/*
 * C tests of libtandem: drive the real library through ffi/include/tandem.h.
 *
 * Built by `make ffi-ctest` (ffi/ffi.mk) twice, against the shared and the static library, with
 * -Wall -Wextra -Werror and sanitizers. They cover what the C ABI adds on top of the Rust API:
 * the numbers of SPEC §8, the version string, the last-error contract, and for each kernel export
 * a known answer, agreement between backends, and the errors for NULL pointers, bad values and
 * bad backends. (The kernels themselves are tested against the reference crates in Rust.)
 *
 * TANDEM_CTEST_GPU=1 in the environment adds the GPU backend (lavapipe in CI); without it the GPU
 * backend is checked only for its status code, which is OK or TANDEM_ERR_BACKEND_UNAVAILABLE.
 */
#include "tandem.h"
#include "tandem.h" /* twice on purpose: the include guard must make this harmless */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef TANDEM_EXPECTED_VERSION
#error "compile with -DTANDEM_EXPECTED_VERSION=\"x.y.z\" (the workspace version; see ffi/ffi.mk)"
#endif

static int passed;
static int failed;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (cond) {                                                                  \
            passed++;                                                                \
        } else {                                                                     \
            failed++;                                                                \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                            \
    } while (0)

static void test_version(void) {
    const char *version = tandem_version();
    CHECK(version != NULL);
    if (version != NULL) {
        CHECK(strcmp(version, TANDEM_EXPECTED_VERSION) == 0);
    }
    /* A static string: the same pointer every time. */
    CHECK(tandem_version() == version);
}

static void test_last_error_starts_empty(void) {
    const char *message = tandem_last_error();
    CHECK(message != NULL);
    if (message != NULL) {
        CHECK(strcmp(message, "") == 0);
    }
    /* Reading the version leaves the last error as it was. */
    (void)tandem_version();
    message = tandem_last_error();
    CHECK(message != NULL && message[0] == '\0');
}

static void test_status_codes(void) {
    /* The values of SPEC §8: a C caller may hard-code them. */
    CHECK(TANDEM_OK == 0);
    CHECK(TANDEM_ERR_INVALID_ARGUMENT == -1);
    CHECK(TANDEM_ERR_BACKEND_UNAVAILABLE == -2);
    CHECK(TANDEM_ERR_IO == -3);
    CHECK(TANDEM_ERR_CORRUPT == -4);
    CHECK(TANDEM_ERR_REJECTED == -5);
    CHECK(TANDEM_ERR_TIMEOUT == -6);
    CHECK(TANDEM_ERR_HALTED == -7);
    CHECK(TANDEM_ERR_INTERNAL == -99);
    /* They fit the int32_t every function returns. */
    int32_t status = TANDEM_ERR_INTERNAL;
    CHECK(status == -99);
}

static void test_backends(void) {
    CHECK(TANDEM_BACKEND_AUTO == 0);
    CHECK(TANDEM_BACKEND_CPU == 1);
    CHECK(TANDEM_BACKEND_GPU == 2);
    /* Functions take the backend as a uint32_t. */
    CHECK(sizeof(tandem_backend) == sizeof(uint32_t));
    uint32_t backend = TANDEM_BACKEND_GPU;
    CHECK(backend == 2u);
}

static int contains(const char *haystack, const char *needle) {
    return haystack != NULL && strstr(haystack, needle) != NULL;
}

static const uint8_t ABC_BLAKE3[32] = {
    0x64, 0x37, 0xb3, 0xac, 0x38, 0x46, 0x51, 0x33, 0xff, 0xb6, 0x3b, 0x75, 0x27, 0x3a, 0x8d, 0xb5,
    0x48, 0xc5, 0x58, 0x46, 0x5d, 0x79, 0xdb, 0x03, 0xfd, 0x35, 0x9c, 0x6c, 0xd5, 0xbd, 0x9d, 0x85,
};

static int gpu_wanted(void) {
    const char *v = getenv("TANDEM_CTEST_GPU");
    return v != NULL && strcmp(v, "1") == 0;
}

static void test_blake3_many(void) {
    const uint8_t *inputs[3] = {(const uint8_t *)"abc", NULL, (const uint8_t *)"abc"};
    size_t lens[3] = {3, 0, 3};
    uint8_t out[3 * 32];
    memset(out, 0xAA, sizeof out);
    CHECK(tandem_blake3_many(TANDEM_BACKEND_CPU, 3, inputs, lens, out) == TANDEM_OK);
    CHECK(memcmp(out, ABC_BLAKE3, 32) == 0);
    CHECK(memcmp(out + 64, ABC_BLAKE3, 32) == 0);
    CHECK(tandem_last_error()[0] == '\0');

    uint8_t again[3 * 32];
    CHECK(tandem_blake3_many(TANDEM_BACKEND_AUTO, 3, inputs, lens, again) == TANDEM_OK);
    CHECK(memcmp(out, again, sizeof out) == 0);
    int32_t gpu = tandem_blake3_many(TANDEM_BACKEND_GPU, 3, inputs, lens, again);
    CHECK(gpu == TANDEM_OK || gpu == TANDEM_ERR_BACKEND_UNAVAILABLE);
    if (gpu_wanted()) {
        CHECK(gpu == TANDEM_OK);
        CHECK(memcmp(out, again, sizeof out) == 0);
    }

    /* n = 0 with NULL arrays is fine. */
    CHECK(tandem_blake3_many(TANDEM_BACKEND_CPU, 0, NULL, NULL, NULL) == TANDEM_OK);
    /* NULL arrays with n > 0, a NULL message with a length, a NULL output, a bad backend. */
    CHECK(tandem_blake3_many(TANDEM_BACKEND_CPU, 3, NULL, lens, out) == TANDEM_ERR_INVALID_ARGUMENT);
    CHECK(contains(tandem_last_error(), "inputs"));
    size_t bad_lens[3] = {3, 5, 3};
    CHECK(tandem_blake3_many(TANDEM_BACKEND_CPU, 3, inputs, bad_lens, out) == TANDEM_ERR_INVALID_ARGUMENT);
    CHECK(contains(tandem_last_error(), "inputs[1] is NULL"));
    CHECK(tandem_blake3_many(TANDEM_BACKEND_CPU, 3, inputs, lens, NULL) == TANDEM_ERR_INVALID_ARGUMENT);
    CHECK(contains(tandem_last_error(), "out"));
    CHECK(tandem_blake3_many(7, 3, inputs, lens, out) == TANDEM_ERR_INVALID_ARGUMENT);
    CHECK(contains(tandem_last_error(), "backend = 7"));
    /* A success clears the last error. */
    CHECK(tandem_blake3_many(TANDEM_BACKEND_CPU, 3, inputs, lens, out) == TANDEM_OK);
    CHECK(tandem_last_error()[0] == '\0');
}

/* The LtHash of pubkey = 32 x 0x01, owner = 32 x 0x02, 42 lamports, not executable, "hello":
 * computed by the reference path, which the Rust tests hold to Agave's solana-lattice-hash. */
static const uint8_t KAT_FIRST16[16] = {0xcc, 0x8b, 0x78, 0x1c, 0x25, 0xef, 0xb7, 0xdf,
                                        0x57, 0x8f, 0xba, 0x54, 0xf7, 0xee, 0x3a, 0x12};
static const uint8_t KAT_LAST16[16] = {0x17, 0x2f, 0xcd, 0xc3, 0x42, 0x0c, 0x71, 0xc8,
                                       0xad, 0x7f, 0x34, 0x15, 0xeb, 0x3d, 0x49, 0x37};

static void test_lthash(void) {
    enum { N = 3 };
    uint8_t pubkeys[N * 32], owners[N * 32];
    memset(pubkeys, 0x01, sizeof pubkeys);
    memset(owners, 0x02, sizeof owners);
    pubkeys[32] = 0x77; /* accounts 1 and 2 differ from account 0 */
    pubkeys[64] = 0x78;
    uint64_t lamports[N] = {42, 0, 7};
    uint8_t executable[N] = {0, 0, 1};
    const uint8_t *data[N] = {(const uint8_t *)"hello", NULL, (const uint8_t *)"program bytes"};
    size_t data_lens[N] = {5, 0, 13};

    static uint8_t each[N * 2048];
    CHECK(tandem_lthash_accounts(TANDEM_BACKEND_CPU, N, pubkeys, owners, lamports, executable, data,
                                 data_lens, each) == TANDEM_OK);
    CHECK(memcmp(each, KAT_FIRST16, 16) == 0);
    CHECK(memcmp(each + 2032, KAT_LAST16, 16) == 0);
    int zero = 1;
    for (size_t i = 2048; i < 4096; i++) {
        zero &= each[i] == 0;
    }
    CHECK(zero); /* no lamports: the identity */

    /* The sum of the three, by hand (wrapping u16, little-endian), against accumulate. */
    static uint8_t sum[2048], expect[2048];
    memset(sum, 0, sizeof sum);
    sum[0] = 5; /* accumulate adds to what is there */
    memcpy(expect, sum, sizeof expect);
    for (size_t a = 0; a < N; a++) {
        for (size_t e = 0; e < 1024; e++) {
            uint16_t x = (uint16_t)(expect[2 * e] | (expect[2 * e + 1] << 8));
            uint16_t y = (uint16_t)(each[a * 2048 + 2 * e] | (each[a * 2048 + 2 * e + 1] << 8));
            uint16_t z = (uint16_t)(x + y);
            expect[2 * e] = (uint8_t)z;
            expect[2 * e + 1] = (uint8_t)(z >> 8);
        }
    }
    CHECK(tandem_lthash_accumulate(TANDEM_BACKEND_CPU, N, pubkeys, owners, lamports, executable,
                                   data, data_lens, sum) == TANDEM_OK);
    CHECK(memcmp(sum, expect, sizeof sum) == 0);

    if (gpu_wanted()) {
        static uint8_t gpu_each[N * 2048], gpu_sum[2048];
        CHECK(tandem_lthash_accounts(TANDEM_BACKEND_GPU, N, pubkeys, owners, lamports, executable,
                                     data, data_lens, gpu_each) == TANDEM_OK);
        CHECK(memcmp(gpu_each, each, sizeof each) == 0);
        memset(gpu_sum, 0, sizeof gpu_sum);
        gpu_sum[0] = 5;
        CHECK(tandem_lthash_accumulate(TANDEM_BACKEND_GPU, N, pubkeys, owners, lamports, executable,
                                       data, data_lens, gpu_sum) == TANDEM_OK);
        CHECK(memcmp(gpu_sum, expect, sizeof gpu_sum) == 0);
    }

    /* Errors name the argument. */
    CHECK(tandem_lthash_accounts(TANDEM_BACKEND_CPU, N, NULL, owners, lamports, executable, data,
                                 data_lens, each) == TANDEM_ERR_INVALID_ARGUMENT);
    CHECK(contains(tandem_last_error(), "pubkeys"));
    uint8_t bad_exec[N] = {0, 2, 1};
    CHECK(tandem_lthash_accounts(TANDEM_BACKEND_CPU, N, pubkeys, owners, lamports, bad_exec, data,
                                 data_lens, each) == TANDEM_ERR_INVALID_ARGUMENT);
    CHECK(contains(tandem_last_error(), "executable[1] = 2"));
    CHECK(tandem_lthash_accumulate(TANDEM_BACKEND_CPU, N, pubkeys, owners, lamports, executable,
                                   data, data_lens, NULL) == TANDEM_ERR_INVALID_ARGUMENT);
    CHECK(contains(tandem_last_error(), "sum_inout"));
    CHECK(tandem_lthash_accumulate(TANDEM_BACKEND_CPU, 0, NULL, NULL, NULL, NULL, NULL, NULL, sum) ==
          TANDEM_OK);
    CHECK(memcmp(sum, expect, sizeof sum) == 0); /* nothing added */
}

/* RFC 8032, test 1: the empty message. */
static const uint8_t RFC8032_PK[32] = {
    0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe, 0xd3, 0xc9, 0x64, 0x07, 0x3a,
    0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a,
};
static const uint8_t RFC8032_SIG[64] = {
    0xe5, 0x56, 0x43, 0x00, 0xc3, 0x60, 0xac, 0x72, 0x90, 0x86, 0xe2, 0xcc, 0x80, 0x6e, 0x82, 0x8a,
    0x84, 0x87, 0x7f, 0x1e, 0xb8, 0xe5, 0xd9, 0x74, 0xd8, 0x73, 0xe0, 0x65, 0x22, 0x49, 0x01, 0x55,
    0x5f, 0xb8, 0x82, 0x15, 0x90, 0xa3, 0x3b, 0xac, 0xc6, 0x1e, 0x39, 0x70, 0x1c, 0xf9, 0xb4, 0x6b,
    0xd2, 0x5b, 0xf5, 0xf0, 0x59, 0x5b, 0xbe, 0x24, 0x65, 0x51, 0x41, 0x43, 0x8e, 0x7a, 0x10, 0x0b,
};

static void test_ed25519_verify_batch(void) {
    enum { N = 3 };
    uint8_t sigs[N * 64], pks[N * 32];
    for (int i = 0; i < N; i++) {
        memcpy(sigs + 64 * i, RFC8032_SIG, 64);
        memcpy(pks + 32 * i, RFC8032_PK, 32);
    }
    sigs[64 + 40] ^= 1;  /* signature 1: S changed */
    pks[2 * 32 + 3] ^= 1; /* signature 2: another key */
    const uint8_t *msgs[N] = {NULL, NULL, NULL};
    size_t lens[N] = {0, 0, 0};
    uint8_t results[N];
    memset(results, 9, sizeof results);
    CHECK(tandem_ed25519_verify_batch(TANDEM_BACKEND_CPU, N, sigs, pks, msgs, lens, results) == TANDEM_OK);
    CHECK(results[0] == 1 && results[1] == 0 && results[2] == 0);
    memset(results, 9, sizeof results);
    CHECK(tandem_ed25519_verify_batch(TANDEM_BACKEND_AUTO, N, sigs, pks, msgs, lens, results) == TANDEM_OK);
    CHECK(results[0] == 1 && results[1] == 0 && results[2] == 0);
    /* A message given for the empty-message signature: invalid, not an error. */
    const uint8_t *one[1] = {(const uint8_t *)"x"};
    size_t one_len[1] = {1};
    CHECK(tandem_ed25519_verify_batch(TANDEM_BACKEND_CPU, 1, sigs, pks, one, one_len, results) == TANDEM_OK);
    CHECK(results[0] == 0);

    memset(results, 9, sizeof results);
    int32_t gpu = tandem_ed25519_verify_batch(TANDEM_BACKEND_GPU, N, sigs, pks, msgs, lens, results);
    CHECK(gpu == TANDEM_OK || gpu == TANDEM_ERR_BACKEND_UNAVAILABLE);
    if (gpu_wanted()) {
        CHECK(gpu == TANDEM_OK);
        CHECK(results[0] == 1 && results[1] == 0 && results[2] == 0);
    }
    CHECK(tandem_ed25519_verify_batch(TANDEM_BACKEND_CPU, N, NULL, pks, msgs, lens, results) ==
          TANDEM_ERR_INVALID_ARGUMENT);
    CHECK(contains(tandem_last_error(), "signatures"));
    CHECK(tandem_ed25519_verify_batch(TANDEM_BACKEND_CPU, N, sigs, pks, msgs, lens, NULL) ==
          TANDEM_ERR_INVALID_ARGUMENT);
    CHECK(contains(tandem_last_error(), "results"));
    CHECK(tandem_ed25519_verify_batch(TANDEM_BACKEND_CPU, 0, NULL, NULL, NULL, NULL, NULL) == TANDEM_OK);
}

int main(void) {
    /* First, before any other call: a fresh thread has no last error. */
    test_last_error_starts_empty();
    test_version();
    test_status_codes();
    test_backends();

    test_blake3_many();
    test_lthash();
    test_ed25519_verify_batch();
    printf("c-abi: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
