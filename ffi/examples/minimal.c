/* minimal.c: the smallest complete embedding of libtandem. Opens an engine on a genesis and a
 * new store directory, submits the blocks of a ledger, prints the VED hash of the last one (the
 * hash a validator votes with) and closes the engine.
 *
 *     cc -std=c11 minimal.c $(pkg-config --cflags --libs tandem) -o minimal
 *     ./minimal GENESIS.toml STORE_DIR LEDGER
 */
#include <tandem.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t little_endian(const uint8_t *p, int bytes) {
    uint64_t value = 0;
    while (bytes-- > 0) value = value << 8 | p[bytes];
    return value;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s GENESIS.toml STORE_DIR LEDGER\n", argv[0]);
        return 2;
    }
    /* The whole ledger (SPEC §9): "TNDMLDG1", then blocks. */
    FILE *file = fopen(argv[3], "rb");
    long len = file != NULL && fseek(file, 0, SEEK_END) == 0 ? ftell(file) : -1;
    uint8_t *ledger = len >= 8 ? malloc((size_t)len) : NULL;
    if (ledger == NULL || fseek(file, 0, SEEK_SET) != 0 ||
        fread(ledger, 1, (size_t)len, file) != (size_t)len || memcmp(ledger, "TNDMLDG1", 8) != 0) {
        fprintf(stderr, "%s: not a readable tandem ledger\n", argv[3]);
        return 1;
    }
    fclose(file);

    tandem_engine *engine = NULL; /* ours once opened: tandem_engine_close frees it */
    int32_t status = tandem_engine_open(argv[1], argv[2], NULL /* defaults */, &engine);
    uint64_t slot = 0;
    for (size_t pos = 8, end; status == TANDEM_OK && pos < (size_t)len; pos = end) {
        /* A block: an 88-byte header (the slot first), a u32 transaction count, then each
         * transaction as a u32 length and its bytes. tandem refuses a block cut short. */
        end = pos + 92;
        for (uint64_t n = end <= (size_t)len ? little_endian(ledger + pos + 88, 4) : 0;
             n > 0 && end + 4 <= (size_t)len; n--)
            end += 4 + little_endian(ledger + end, 4);
        end = end < (size_t)len ? end : (size_t)len;
        status = tandem_engine_submit_block(engine, ledger + pos, end - pos); /* copies it */
        if (status == TANDEM_OK) slot = little_endian(ledger + pos, 8);
    }
    uint8_t hash[32]; /* waits up to 60 s for the VED to execute the slot */
    if (status == TANDEM_OK) status = tandem_engine_ved_hash(engine, slot, 60000, hash);
    if (status == TANDEM_OK) {
        printf("slot %" PRIu64 " VED hash ", slot);
        for (int i = 0; i < 32; i++) printf("%02x", hash[i]);
        printf("\n");
    } else { /* the message of this thread's last failed tandem call */
        fprintf(stderr, "error %d: %s\n", status, tandem_last_error());
    }
    tandem_engine_close(engine); /* waits for the pipeline; NULL (open failed): nothing */
    free(ledger);
    return status == TANDEM_OK ? 0 : 1;
}
