/*
 * C tests of libtandem: drive the real library through ffi/include/tandem.h.
 *
 * Built by `make ffi-ctest` (ffi/ffi.mk) twice, against the shared and the static library, with
 * -Wall -Wextra -Werror and sanitizers. They cover what the C ABI adds on top of the Rust API:
 * the numbers of SPEC §8, the version string and the last-error contract.
 */
#include "tandem.h"
#include "tandem.h" /* twice on purpose: the include guard must make this harmless */

#include <stdio.h>
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

int main(void) {
    /* First, before any other call: a fresh thread has no last error. */
    test_last_error_starts_empty();
    test_version();
    test_status_codes();
    test_backends();

    printf("c-abi: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
