/*
 * The install test of libtandem: a program built the way a consumer builds one, against an
 * installed prefix through pkg-config (`make ffi-install-test`, ffi/ffi.mk), linked once to the
 * shared and once to the static library.
 *
 * It checks that the header and the library are the same release (the TANDEM_VERSION_* macros
 * against tandem_version(), and both against the workspace version) and that one kernel call
 * works (BLAKE3 of "abc", the published digest). The C ABI itself is tested by test_ffi.c.
 */
#include <tandem.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifndef TANDEM_EXPECTED_VERSION
#error "compile with -DTANDEM_EXPECTED_VERSION=\"x.y.z\" (the workspace version; see ffi/ffi.mk)"
#endif

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)
/* "MAJOR.MINOR.PATCH" from the header's macros. */
#define HEADER_VERSION \
    STRINGIFY(TANDEM_VERSION_MAJOR) "." STRINGIFY(TANDEM_VERSION_MINOR) "." STRINGIFY(TANDEM_VERSION_PATCH)

static int failed;

static void fail(const char *what) {
    failed++;
    fprintf(stderr, "test_install: %s\n", what);
}

int main(void) {
    const char *version = tandem_version();
    size_t core = strcspn(version, "-+"); /* a pre-release or build suffix is not in the macros */
    if (strcmp(version, TANDEM_EXPECTED_VERSION) != 0) {
        fprintf(stderr, "test_install: tandem_version() is \"%s\", the workspace \"%s\"\n", version,
                TANDEM_EXPECTED_VERSION);
        fail("the installed library is not this release");
    }
    if (strlen(HEADER_VERSION) != core || strncmp(version, HEADER_VERSION, core) != 0) {
        fprintf(stderr, "test_install: tandem_version() is \"%s\", the header's macros \"%s\"\n",
                version, HEADER_VERSION);
        fail("the installed header and library are different releases");
    }

    /* BLAKE3("abc"), from the BLAKE3 reference implementation. */
    static const uint8_t abc_digest[32] = {
        0x64, 0x37, 0xb3, 0xac, 0x38, 0x46, 0x51, 0x33, 0xff, 0xb6, 0x3b, 0x75, 0x27, 0x3a, 0x8d, 0xb5,
        0x48, 0xc5, 0x58, 0x46, 0x5d, 0x79, 0xdb, 0x03, 0xfd, 0x35, 0x9c, 0x6c, 0xd5, 0xbd, 0x9d, 0x85,
    };
    const uint8_t *inputs[1] = {(const uint8_t *)"abc"};
    size_t lens[1] = {3};
    uint8_t out[32] = {0};
    int32_t status = tandem_blake3_many(TANDEM_BACKEND_CPU, 1, inputs, lens, out);
    if (status != TANDEM_OK) {
        fprintf(stderr, "test_install: tandem_blake3_many returned %d: %s\n", status,
                tandem_last_error());
        fail("tandem_blake3_many failed");
    } else if (memcmp(out, abc_digest, sizeof abc_digest) != 0) {
        fail("tandem_blake3_many(\"abc\") is not the published BLAKE3 digest");
    }

    if (failed != 0) {
        fprintf(stderr, "test_install: %d check(s) failed\n", failed);
        return 1;
    }
    printf("test_install: libtandem %s (header %s): version and BLAKE3(\"abc\") as expected\n",
           version, HEADER_VERSION);
    return 0;
}
