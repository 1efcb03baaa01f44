/*
 * C tests of libtandem: drive the real library through ffi/include/tandem.h.
 *
 * Built by `make ffi-ctest` (ffi/ffi.mk) twice, against the shared and the static library, with
 * -Wall -Wextra -Werror and sanitizers. They cover what the C ABI adds on top of the Rust API:
 * the version string, the last-error contract, and for each kernel export answers against
 * published or independently computed vectors, agreement between backends, and the exact status
 * code and last-error text for every bad argument. Every CHECK tests something the library
 * returned or wrote; none compares a constant with itself. (The kernels themselves are tested
 * against the reference crates in Rust.)
 *
 * TANDEM_CTEST_GPU=1 in the environment adds the GPU backend (lavapipe in CI); without it the GPU
 * backend is checked only for its status code, which is OK or TANDEM_ERR_BACKEND_UNAVAILABLE.
 */
#include "tandem.h"
#include "tandem.h" /* twice on purpose: the include guard must make this harmless */

#include "check.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef TANDEM_EXPECTED_VERSION
#error "compile with -DTANDEM_EXPECTED_VERSION=\"x.y.z\" (the workspace version; see ffi/ffi.mk)"
#endif

/* Functions take the backend as a uint32_t; a C compiler may size an enum otherwise. */
_Static_assert(sizeof(tandem_backend) == sizeof(uint32_t), "tandem_backend is a uint32_t");

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

/* The numbers of SPEC §8 as the library reads and returns them: a C caller may hard-code them. */
static void test_numbers(void) {
    const uint8_t *inputs[1] = {(const uint8_t *)"abc"};
    size_t lens[1] = {3};
    uint8_t out[32];
    /* 0 (auto) and 1 (cpu) are accepted; 2 (gpu) is accepted or unavailable, never invalid. */
    CHECK(tandem_blake3_many(0, 1, inputs, lens, out) == 0);
    CHECK(tandem_blake3_many(1, 1, inputs, lens, out) == 0);
    int32_t gpu = tandem_blake3_many(2, 1, inputs, lens, out);
    CHECK(gpu == 0 || gpu == -2);
    /* 3 is not a backend: invalid argument is -1, and it is checked even for an empty batch. */
    CHECK(tandem_blake3_many(3, 1, inputs, lens, out) == -1);
    CHECK(tandem_blake3_many(3, 0, NULL, NULL, NULL) == -1);
    CHECK(tandem_blake3_many(UINT32_MAX, 1, inputs, lens, out) == -1);
    /* The last error is kept until the next call, and reading it twice changes nothing. */
    const char *first = tandem_last_error();
    CHECK(strcmp(first, tandem_last_error()) == 0 && first[0] != '\0');
}

/* BLAKE3 answers from the official test vectors (BLAKE3-team/BLAKE3, test_vectors.json: input
 * byte i is i % 251; the first 32 bytes of each extended hash) and of "abc". */
static const uint8_t BLAKE3_EMPTY[32] = {
    0xaf, 0x13, 0x49, 0xb9, 0xf5, 0xf9, 0xa1, 0xa6, 0xa0, 0x40, 0x4d, 0xea, 0x36, 0xdc, 0xc9, 0x49,
    0x9b, 0xcb, 0x25, 0xc9, 0xad, 0xc1, 0x12, 0xb7, 0xcc, 0x9a, 0x93, 0xca, 0xe4, 0x1f, 0x32, 0x62,
};
static const uint8_t BLAKE3_ABC[32] = {
    0x64, 0x37, 0xb3, 0xac, 0x38, 0x46, 0x51, 0x33, 0xff, 0xb6, 0x3b, 0x75, 0x27, 0x3a, 0x8d, 0xb5,
    0x48, 0xc5, 0x58, 0x46, 0x5d, 0x79, 0xdb, 0x03, 0xfd, 0x35, 0x9c, 0x6c, 0xd5, 0xbd, 0x9d, 0x85,
};
static const uint8_t BLAKE3_PATTERN_1[32] = {
    0x2d, 0x3a, 0xde, 0xdf, 0xf1, 0x1b, 0x61, 0xf1, 0x4c, 0x88, 0x6e, 0x35, 0xaf, 0xa0, 0x36, 0x73,
    0x6d, 0xcd, 0x87, 0xa7, 0x4d, 0x27, 0xb5, 0xc1, 0x51, 0x02, 0x25, 0xd0, 0xf5, 0x92, 0xe2, 0x13,
};
static const uint8_t BLAKE3_PATTERN_65[32] = {
    0xde, 0x1e, 0x5f, 0xa0, 0xbe, 0x70, 0xdf, 0x6d, 0x2b, 0xe8, 0xff, 0xfd, 0x0e, 0x99, 0xce, 0xaa,
    0x8e, 0xb6, 0xe8, 0xc9, 0x3a, 0x63, 0xf2, 0xd8, 0xd1, 0xc3, 0x0e, 0xcb, 0x6b, 0x26, 0x3d, 0xee,
};
static const uint8_t BLAKE3_PATTERN_1025[32] = {
    0xd0, 0x02, 0x78, 0xae, 0x47, 0xeb, 0x27, 0xb3, 0x4f, 0xae, 0xcf, 0x67, 0xb4, 0xfe, 0x26, 0x3f,
    0x82, 0xd5, 0x41, 0x29, 0x16, 0xc1, 0xff, 0xd9, 0x7c, 0x8c, 0xb7, 0xfb, 0x81, 0x4b, 0x84, 0x44,
};

static void test_blake3_many(void) {
    static uint8_t pattern[1025];
    for (size_t i = 0; i < sizeof pattern; i++) {
        pattern[i] = (uint8_t)(i % 251);
    }
    enum { N = 5 };
    const uint8_t *inputs[N] = {(const uint8_t *)"abc", NULL, pattern, pattern, pattern};
    size_t lens[N] = {3, 0, 1, 65, 1025};
    const uint8_t *expect[N] = {BLAKE3_ABC, BLAKE3_EMPTY, BLAKE3_PATTERN_1, BLAKE3_PATTERN_65,
                                BLAKE3_PATTERN_1025};
    /* One hash more than n: the library must not write past out + 32 * n. */
    uint8_t out[(N + 1) * 32];
    memset(out, 0xAA, sizeof out);
    /* An error first, so that the success after it has one to clear. */
    CHECK_ERROR(tandem_blake3_many(9, 0, NULL, NULL, NULL), TANDEM_ERR_INVALID_ARGUMENT,
                "tandem_blake3_many: backend = 9 is not TANDEM_BACKEND_AUTO (0), TANDEM_BACKEND_CPU "
                "(1) or TANDEM_BACKEND_GPU (2)");
    CHECK_OK(tandem_blake3_many(TANDEM_BACKEND_CPU, N, inputs, lens, out));
    for (size_t i = 0; i < N; i++) {
        CHECK(memcmp(out + 32 * i, expect[i], 32) == 0);
    }
    CHECK(all_bytes(out + 32 * N, 32, 0xAA));

    uint8_t again[N * 32];
    CHECK_OK(tandem_blake3_many(TANDEM_BACKEND_AUTO, N, inputs, lens, again));
    CHECK(memcmp(out, again, sizeof again) == 0);
    memset(again, 0, sizeof again);
    int32_t gpu = tandem_blake3_many(TANDEM_BACKEND_GPU, N, inputs, lens, again);
    if (gpu == TANDEM_ERR_BACKEND_UNAVAILABLE) {
        CHECK(strncmp(tandem_last_error(), "tandem_blake3_many: ", 20) == 0);
    }
    if (gpu_ran(gpu, "tandem_blake3_many")) {
        CHECK(memcmp(out, again, sizeof again) == 0);
    }

    /* n = 0 with NULL arrays is an empty batch. */
    CHECK_OK(tandem_blake3_many(TANDEM_BACKEND_CPU, 0, NULL, NULL, NULL));

    /* Each bad argument, named exactly; a failed call writes nothing. */
    memset(out, 0x55, sizeof out);
    CHECK_ERROR(tandem_blake3_many(TANDEM_BACKEND_CPU, 3, NULL, lens, out),
                TANDEM_ERR_INVALID_ARGUMENT, "tandem_blake3_many: inputs is NULL but n = 3");
    CHECK_ERROR(tandem_blake3_many(TANDEM_BACKEND_CPU, 3, inputs, NULL, out),
                TANDEM_ERR_INVALID_ARGUMENT, "tandem_blake3_many: input_lens is NULL but n = 3");
    size_t null_with_len[N] = {3, 5, 1, 65, 1025};
    CHECK_ERROR(tandem_blake3_many(TANDEM_BACKEND_CPU, N, inputs, null_with_len, out),
                TANDEM_ERR_INVALID_ARGUMENT,
                "tandem_blake3_many: inputs[1] is NULL but input_lens[1] = 5");
    /* A length whose span exceeds isize::MAX is refused before the bytes are touched. */
    size_t too_long[N] = {3, 0, SIZE_MAX, 65, 1025};
    char expected[200];
    snprintf(expected, sizeof expected,
             "tandem_blake3_many: input_lens[2] = %zu is too large: inputs[2] would span more "
             "than isize::MAX bytes",
             (size_t)SIZE_MAX);
    CHECK_ERROR(tandem_blake3_many(TANDEM_BACKEND_CPU, N, inputs, too_long, out),
                TANDEM_ERR_INVALID_ARGUMENT, expected);
    CHECK_ERROR(tandem_blake3_many(TANDEM_BACKEND_CPU, N, inputs, lens, NULL),
                TANDEM_ERR_INVALID_ARGUMENT, "tandem_blake3_many: out is NULL but n = 5");
    CHECK_ERROR(tandem_blake3_many(7, N, inputs, lens, out), TANDEM_ERR_INVALID_ARGUMENT,
                "tandem_blake3_many: backend = 7 is not TANDEM_BACKEND_AUTO (0), TANDEM_BACKEND_CPU "
                "(1) or TANDEM_BACKEND_GPU (2)");
    CHECK(all_bytes(out, sizeof out, 0x55));
    /* A success clears the last error (CHECK_OK checks it). */
    CHECK_OK(tandem_blake3_many(TANDEM_BACKEND_CPU, N, inputs, lens, out));
}

/* Account 0: pubkey = 32 x 0x01, owner = 32 x 0x02, 42 lamports, not executable, "hello".
 * Account 2: pubkey = 0x78 then 31 x 0x01, owner = 32 x 0x02, 7 lamports, executable,
 * "program bytes". Their LtHashes, and the checksum (BLAKE3 of the 2,048 bytes) of each and of
 * their sum, computed with Agave's solana-lattice-hash 4.2.2, not with tandem. */
static const uint8_t KAT0_FIRST16[16] = {
    0xcc, 0x8b, 0x78, 0x1c, 0x25, 0xef, 0xb7, 0xdf, 0x57, 0x8f, 0xba, 0x54, 0xf7, 0xee, 0x3a, 0x12,
};
static const uint8_t KAT0_LAST16[16] = {
    0x17, 0x2f, 0xcd, 0xc3, 0x42, 0x0c, 0x71, 0xc8, 0xad, 0x7f, 0x34, 0x15, 0xeb, 0x3d, 0x49, 0x37,
};
static const uint8_t KAT0_CHECKSUM[32] = {
    0x68, 0x69, 0x21, 0x1e, 0xdb, 0xd4, 0x2b, 0x83, 0xbc, 0x2a, 0x19, 0x69, 0x81, 0x3c, 0xa5, 0x9d,
    0x24, 0xb3, 0xa4, 0xc1, 0x8a, 0x56, 0x30, 0xe6, 0x01, 0x14, 0xe2, 0x22, 0x9e, 0xdd, 0xba, 0x6f,
};
static const uint8_t KAT2_CHECKSUM[32] = {
    0x45, 0xa8, 0xe7, 0xdc, 0x55, 0xdd, 0x27, 0xad, 0xcb, 0x7d, 0xdf, 0x52, 0x93, 0xe8, 0xbc, 0x0b,
    0xdb, 0x09, 0x26, 0xd7, 0x3f, 0xb8, 0xe1, 0x77, 0xab, 0xbf, 0x5e, 0x5c, 0x1d, 0x1b, 0x5d, 0xa9,
};
static const uint8_t KAT_SUM_CHECKSUM[32] = {
    0x95, 0xfe, 0x06, 0x8d, 0xd7, 0x6c, 0x0c, 0xe5, 0x26, 0xdf, 0xba, 0x07, 0x20, 0xb1, 0x7e, 0x1c,
    0xfc, 0x8e, 0x8d, 0x6e, 0x54, 0x01, 0x43, 0x35, 0x3c, 0xe9, 0xd3, 0xf8, 0x6c, 0x64, 0x5e, 0xd0,
};

/* BLAKE3 of 2,048 bytes through the library (itself checked against the official vectors above). */
static void checksum(const uint8_t *lthash, uint8_t out[32]) {
    const uint8_t *inputs[1] = {lthash};
    size_t lens[1] = {2048};
    CHECK_OK(tandem_blake3_many(TANDEM_BACKEND_CPU, 1, inputs, lens, out));
}

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

    /* One LtHash more than n: nothing may be written past out + 2048 * n. */
    static uint8_t each[(N + 1) * 2048];
    memset(each, 0xAA, sizeof each);
    CHECK_OK(tandem_lthash_accounts(TANDEM_BACKEND_CPU, N, pubkeys, owners, lamports, executable,
                                    data, data_lens, each));
    CHECK(memcmp(each, KAT0_FIRST16, 16) == 0);
    CHECK(memcmp(each + 2032, KAT0_LAST16, 16) == 0);
    uint8_t sum_of[32];
    checksum(each, sum_of);
    CHECK(memcmp(sum_of, KAT0_CHECKSUM, 32) == 0);
    CHECK(all_bytes(each + 2048, 2048, 0)); /* no lamports: the identity */
    checksum(each + 4096, sum_of);
    CHECK(memcmp(sum_of, KAT2_CHECKSUM, 32) == 0);
    CHECK(all_bytes(each + 3 * 2048, 2048, 0xAA));

    /* The sum of the three from zero: Agave's sum. */
    static uint8_t sum[2048];
    memset(sum, 0, sizeof sum);
    CHECK_OK(tandem_lthash_accumulate(TANDEM_BACKEND_CPU, N, pubkeys, owners, lamports, executable,
                                      data, data_lens, sum));
    checksum(sum, sum_of);
    CHECK(memcmp(sum_of, KAT_SUM_CHECKSUM, 32) == 0);

    /* Accumulate adds to what is there: by hand (wrapping u16, little-endian) against it. */
    static uint8_t expect[2048];
    memset(sum, 0xFF, sizeof sum);
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
    CHECK_OK(tandem_lthash_accumulate(TANDEM_BACKEND_CPU, N, pubkeys, owners, lamports, executable,
                                      data, data_lens, sum));
    CHECK(memcmp(sum, expect, sizeof sum) == 0);
    CHECK_OK(tandem_lthash_accumulate(TANDEM_BACKEND_CPU, 0, NULL, NULL, NULL, NULL, NULL, NULL, sum));
    CHECK(memcmp(sum, expect, sizeof sum) == 0); /* nothing added */

    {
        static uint8_t gpu_each[N * 2048], gpu_sum[2048];
        int32_t gpu = tandem_lthash_accounts(TANDEM_BACKEND_GPU, N, pubkeys, owners, lamports,
                                             executable, data, data_lens, gpu_each);
        if (gpu_ran(gpu, "tandem_lthash_accounts")) {
            CHECK(memcmp(gpu_each, each, sizeof gpu_each) == 0);
        }
        memset(gpu_sum, 0xFF, sizeof gpu_sum);
        gpu = tandem_lthash_accumulate(TANDEM_BACKEND_GPU, N, pubkeys, owners, lamports,
                                       executable, data, data_lens, gpu_sum);
        if (gpu_ran(gpu, "tandem_lthash_accumulate")) {
            CHECK(memcmp(gpu_sum, expect, sizeof gpu_sum) == 0);
        }
    }

    /* Each bad argument of tandem_lthash_accounts, named exactly; a failed call writes nothing. */
    memset(each, 0x55, sizeof each);
    const uint8_t *null_data[N] = {(const uint8_t *)"hello", NULL, NULL};
    uint8_t bad_exec[N] = {0, 2, 1};
#define ACCOUNTS_ERROR(pk, ow, lam, ex, da, dl, out, message)                                      \
    CHECK_ERROR(tandem_lthash_accounts(TANDEM_BACKEND_CPU, N, pk, ow, lam, ex, da, dl, out),       \
                TANDEM_ERR_INVALID_ARGUMENT, "tandem_lthash_accounts: " message)
    ACCOUNTS_ERROR(NULL, owners, lamports, executable, data, data_lens, each,
                   "pubkeys is NULL but n = 3");
    ACCOUNTS_ERROR(pubkeys, NULL, lamports, executable, data, data_lens, each,
                   "owners is NULL but n = 3");
    ACCOUNTS_ERROR(pubkeys, owners, NULL, executable, data, data_lens, each,
                   "lamports is NULL but n = 3");
    ACCOUNTS_ERROR(pubkeys, owners, lamports, NULL, data, data_lens, each,
                   "executable is NULL but n = 3");
    ACCOUNTS_ERROR(pubkeys, owners, lamports, executable, NULL, data_lens, each,
                   "data is NULL but n = 3");
    ACCOUNTS_ERROR(pubkeys, owners, lamports, executable, data, NULL, each,
                   "data_lens is NULL but n = 3");
    ACCOUNTS_ERROR(pubkeys, owners, lamports, executable, null_data, data_lens, each,
                   "data[2] is NULL but data_lens[2] = 13");
    ACCOUNTS_ERROR(pubkeys, owners, lamports, bad_exec, data, data_lens, each,
                   "executable[1] = 2, must be 0 or 1");
    ACCOUNTS_ERROR(pubkeys, owners, lamports, executable, data, data_lens, NULL,
                   "out is NULL but n = 3");
#undef ACCOUNTS_ERROR
    CHECK_ERROR(tandem_lthash_accounts(5, N, pubkeys, owners, lamports, executable, data,
                                       data_lens, each),
                TANDEM_ERR_INVALID_ARGUMENT,
                "tandem_lthash_accounts: backend = 5 is not TANDEM_BACKEND_AUTO (0), "
                "TANDEM_BACKEND_CPU (1) or TANDEM_BACKEND_GPU (2)");
    CHECK(all_bytes(each, sizeof each, 0x55));

    /* tandem_lthash_accumulate shares the account checks and names its own output; a failed
     * call leaves the sum as it was. */
    memcpy(expect, sum, sizeof sum);
#define ACCUMULATE_ERROR(ow, ex, da, out, message)                                                  \
    CHECK_ERROR(tandem_lthash_accumulate(TANDEM_BACKEND_CPU, N, pubkeys, ow, lamports, ex, da,      \
                                         data_lens, out),                                           \
                TANDEM_ERR_INVALID_ARGUMENT, "tandem_lthash_accumulate: " message)
    ACCUMULATE_ERROR(owners, executable, data, NULL, "sum_inout is NULL");
    ACCUMULATE_ERROR(owners, bad_exec, data, sum, "executable[1] = 2, must be 0 or 1");
    ACCUMULATE_ERROR(owners, executable, null_data, sum, "data[2] is NULL but data_lens[2] = 13");
    ACCUMULATE_ERROR(NULL, executable, data, sum, "owners is NULL but n = 3");
#undef ACCUMULATE_ERROR
    CHECK(memcmp(sum, expect, sizeof sum) == 0);
}

/* RFC 8032, section 7.1, TEST 1 (the empty message) and TEST 2 (the one byte 0x72). */
static const uint8_t RFC8032_PK1[32] = {
    0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe, 0xd3, 0xc9, 0x64, 0x07, 0x3a,
    0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a,
};
static const uint8_t RFC8032_SIG1[64] = {
    0xe5, 0x56, 0x43, 0x00, 0xc3, 0x60, 0xac, 0x72, 0x90, 0x86, 0xe2, 0xcc, 0x80, 0x6e, 0x82, 0x8a,
    0x84, 0x87, 0x7f, 0x1e, 0xb8, 0xe5, 0xd9, 0x74, 0xd8, 0x73, 0xe0, 0x65, 0x22, 0x49, 0x01, 0x55,
    0x5f, 0xb8, 0x82, 0x15, 0x90, 0xa3, 0x3b, 0xac, 0xc6, 0x1e, 0x39, 0x70, 0x1c, 0xf9, 0xb4, 0x6b,
    0xd2, 0x5b, 0xf5, 0xf0, 0x59, 0x5b, 0xbe, 0x24, 0x65, 0x51, 0x41, 0x43, 0x8e, 0x7a, 0x10, 0x0b,
};
static const uint8_t RFC8032_PK2[32] = {
    0x3d, 0x40, 0x17, 0xc3, 0xe8, 0x43, 0x89, 0x5a, 0x92, 0xb7, 0x0a, 0xa7, 0x4d, 0x1b, 0x7e, 0xbc,
    0x9c, 0x98, 0x2c, 0xcf, 0x2e, 0xc4, 0x96, 0x8c, 0xc0, 0xcd, 0x55, 0xf1, 0x2a, 0xf4, 0x66, 0x0c,
};
static const uint8_t RFC8032_SIG2[64] = {
    0x92, 0xa0, 0x09, 0xa9, 0xf0, 0xd4, 0xca, 0xb8, 0x72, 0x0e, 0x82, 0x0b, 0x5f, 0x64, 0x25, 0x40,
    0xa2, 0xb2, 0x7b, 0x54, 0x16, 0x50, 0x3f, 0x8f, 0xb3, 0x76, 0x22, 0x23, 0xeb, 0xdb, 0x69, 0xda,
    0x08, 0x5a, 0xc1, 0xe4, 0x3e, 0x15, 0x99, 0x6e, 0x45, 0x8f, 0x36, 0x13, 0xd0, 0xf1, 0x1d, 0x8c,
    0x38, 0x7b, 0x2e, 0xae, 0xb4, 0x30, 0x2a, 0xee, 0xb0, 0x0d, 0x29, 0x16, 0x12, 0xbb, 0x0c, 0x00,
};

static void test_ed25519_verify_batch(void) {
    enum { N = 5 };
    uint8_t sigs[N * 64], pks[N * 32];
    const uint8_t *msgs[N] = {NULL, (const uint8_t *)"\x72", NULL, (const uint8_t *)"\x72",
                              (const uint8_t *)"\x73"};
    size_t lens[N] = {0, 1, 0, 1, 1};
    for (int i = 0; i < N; i++) {
        memcpy(sigs + 64 * i, i % 2 == 0 ? RFC8032_SIG1 : RFC8032_SIG2, 64);
        memcpy(pks + 32 * i, i % 2 == 0 ? RFC8032_PK1 : RFC8032_PK2, 32);
    }
    /* 0 and 1 as published; 2: S changed; 3: TEST 2's signature under TEST 1's key; 4: TEST 1's
     * signature and key over another message. */
    sigs[2 * 64 + 40] ^= 1;
    memcpy(pks + 3 * 32, RFC8032_PK1, 32);
    const uint8_t want[N] = {1, 1, 0, 0, 0};
    /* One result more than n: nothing may be written past results + n. */
    uint8_t results[N + 1];
    memset(results, 9, sizeof results);
    CHECK_OK(tandem_ed25519_verify_batch(TANDEM_BACKEND_CPU, N, sigs, pks, msgs, lens, results));
    CHECK(memcmp(results, want, N) == 0);
    CHECK(results[N] == 9);
    memset(results, 9, sizeof results);
    CHECK_OK(tandem_ed25519_verify_batch(TANDEM_BACKEND_AUTO, N, sigs, pks, msgs, lens, results));
    CHECK(memcmp(results, want, N) == 0);

    memset(results, 9, sizeof results);
    int32_t gpu = tandem_ed25519_verify_batch(TANDEM_BACKEND_GPU, N, sigs, pks, msgs, lens, results);
    if (gpu_ran(gpu, "tandem_ed25519_verify_batch")) {
        CHECK(memcmp(results, want, N) == 0);
    }
    CHECK_OK(tandem_ed25519_verify_batch(TANDEM_BACKEND_CPU, 0, NULL, NULL, NULL, NULL, NULL));

    /* Each bad argument, named exactly; a failed call writes nothing. */
    memset(results, 7, sizeof results);
    const uint8_t *null_msgs[N] = {NULL, (const uint8_t *)"\x72", NULL, NULL, NULL};
#define VERIFY_ERROR(si, pk, ms, ml, re, message)                                              \
    CHECK_ERROR(tandem_ed25519_verify_batch(TANDEM_BACKEND_CPU, N, si, pk, ms, ml, re),        \
                TANDEM_ERR_INVALID_ARGUMENT, "tandem_ed25519_verify_batch: " message)
    VERIFY_ERROR(NULL, pks, msgs, lens, results, "signatures is NULL but n = 5");
    VERIFY_ERROR(sigs, NULL, msgs, lens, results, "public_keys is NULL but n = 5");
    VERIFY_ERROR(sigs, pks, NULL, lens, results, "messages is NULL but n = 5");
    VERIFY_ERROR(sigs, pks, msgs, NULL, results, "message_lens is NULL but n = 5");
    VERIFY_ERROR(sigs, pks, null_msgs, lens, results, "messages[3] is NULL but message_lens[3] = 1");
    VERIFY_ERROR(sigs, pks, msgs, lens, NULL, "results is NULL but n = 5");
#undef VERIFY_ERROR
    CHECK_ERROR(tandem_ed25519_verify_batch(4, N, sigs, pks, msgs, lens, results),
                TANDEM_ERR_INVALID_ARGUMENT,
                "tandem_ed25519_verify_batch: backend = 4 is not TANDEM_BACKEND_AUTO (0), "
                "TANDEM_BACKEND_CPU (1) or TANDEM_BACKEND_GPU (2)");
    CHECK(all_bytes(results, sizeof results, 7));
}

int main(void) {
    /* First, before any other call: a fresh thread has no last error. */
    test_last_error_starts_empty();
    test_version();
    test_numbers();

    test_blake3_many();
    test_lthash();
    test_ed25519_verify_batch();
    return report("c-abi");
}
