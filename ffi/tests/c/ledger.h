/*
 * What the engine's C tests (test_engine.c, test_engine_threads.c) read besides libtandem: a
 * ledger file split into the blocks tandem_engine_submit_block takes, the first signature of a
 * transaction, the hashes `tandem gen --json` reports per slot, and base58 keys. Header-only
 * (static functions): each test is one translation unit.
 *
 * Nothing here calls libtandem, so the tests check the library against bytes read
 * independently of it. Failures print a reason and return -1: the tests stop there.
 */
#ifndef TANDEM_TESTS_LEDGER_H
#define TANDEM_TESTS_LEDGER_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* SPEC §4 and §9: slot u64, parent_slot u64, leader [32], unix_timestamp_ms i64, blockhash [32],
 * then a u32 transaction count and per transaction a u32 length and its bytes. */
enum {
    HEADER_SLOT = 0,
    HEADER_PARENT = 8,
    HEADER_LEADER = 16,
    HEADER_TIMESTAMP = 48,
    HEADER_BLOCKHASH = 56,
    HEADER_LEN = 88,
    BLOCK_TXS = HEADER_LEN + 4, /* the first transaction's length */
};

typedef struct {
    const uint8_t *bytes; /* the block's encoding, as tandem_engine_submit_block takes it */
    size_t len;
    uint64_t slot;
    uint32_t tx_count;
} block_t;

typedef struct {
    uint8_t *file; /* the whole file; the blocks point into it */
    block_t *blocks;
    size_t n;
} ledger_t;

static inline uint64_t le64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

static inline uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void put_le64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static inline void put_le32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

/* The whole file at `path` into a malloc'd buffer; NULL (and a message) on failure. */
static inline uint8_t *read_file(const char *path, size_t *len_out) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        return NULL;
    }
    size_t cap = 1 << 16, len = 0;
    uint8_t *data = malloc(cap);
    size_t got;
    while (data != NULL && (got = fread(data + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            cap *= 2;
            uint8_t *bigger = realloc(data, cap);
            if (bigger == NULL) {
                free(data);
            }
            data = bigger;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (data == NULL || bad) {
        fprintf(stderr, "cannot read %s\n", path);
        free(data);
        return NULL;
    }
    *len_out = len;
    return data;
}

static inline void ledger_free(ledger_t *ledger) {
    free(ledger->blocks);
    free(ledger->file);
    ledger->blocks = NULL;
    ledger->file = NULL;
    ledger->n = 0;
}

/* Splits the ledger file at `path` into its blocks; 0, or -1 with a message. */
static inline int ledger_load(const char *path, ledger_t *ledger) {
    size_t size = 0;
    memset(ledger, 0, sizeof *ledger);
    ledger->file = read_file(path, &size);
    if (ledger->file == NULL) {
        return -1;
    }
    if (size < 8 || memcmp(ledger->file, "TNDMLDG1", 8) != 0) {
        fprintf(stderr, "%s: not a tandem ledger (no magic TNDMLDG1)\n", path);
        ledger_free(ledger);
        return -1;
    }
    size_t cap = 0, at = 8;
    while (at < size) {
        size_t start = at;
        if (size - at < BLOCK_TXS) {
            fprintf(stderr, "%s: block %zu is cut short in its header\n", path, ledger->n);
            ledger_free(ledger);
            return -1;
        }
        uint32_t count = le32(ledger->file + at + HEADER_LEN);
        at += BLOCK_TXS;
        for (uint32_t t = 0; t < count; t++) {
            if (size - at < 4 || size - at - 4 < le32(ledger->file + at)) {
                fprintf(stderr, "%s: block %zu is cut short in transaction %u\n", path,
                        ledger->n, t);
                ledger_free(ledger);
                return -1;
            }
            at += 4 + (size_t)le32(ledger->file + at);
        }
        if (ledger->n == cap) {
            cap = cap == 0 ? 64 : cap * 2;
            block_t *more = realloc(ledger->blocks, cap * sizeof *more);
            if (more == NULL) {
                ledger_free(ledger);
                return -1;
            }
            ledger->blocks = more;
        }
        ledger->blocks[ledger->n++] = (block_t){
            .bytes = ledger->file + start,
            .len = at - start,
            .slot = le64(ledger->file + start + HEADER_SLOT),
            .tx_count = count,
        };
    }
    return 0;
}

/* The first signature of transaction `index` of `block` (Solana's wire format: a compact-u16
 * signature count, then 64-byte signatures); NULL where it has none. */
static inline const uint8_t *first_signature(const block_t *block, uint32_t index) {
    if (index >= block->tx_count) {
        return NULL;
    }
    const uint8_t *tx = block->bytes + BLOCK_TXS;
    for (uint32_t t = 0; t < index; t++) {
        tx += 4 + le32(tx);
    }
    uint32_t len = le32(tx);
    tx += 4;
    /* compact-u16: 7 bits a byte, low first, the high bit says another byte follows */
    uint32_t count = 0, used = 0;
    for (int shift = 0; used < len && used < 3; shift += 7) {
        uint8_t b = tx[used++];
        count |= (uint32_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            break;
        }
    }
    if (count == 0 || len < used + 64) {
        return NULL;
    }
    return tx + used;
}

static inline int hex_digit(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

/* 64 lower-case hex digits into 32 bytes; 0, or -1. */
static inline int hex32(const char *text, uint8_t out[32]) {
    for (int i = 0; i < 32; i++) {
        int hi = hex_digit(text[2 * i]), lo = hex_digit(text[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return -1;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

/* What `tandem gen --json` reports per slot: the sequential runtime's hashes. */
typedef struct {
    uint64_t slot;
    uint8_t ved[32];
    uint8_t ued[32];
} slot_hashes_t;

/* The string value after `"key":` at or after `from`, before `end`; NULL where there is none. */
static inline const char *json_value(const char *from, const char *end, const char *key) {
    const char *at = strstr(from, key);
    if (at == NULL || at >= end) {
        return NULL;
    }
    at += strlen(key);
    while (*at == ' ' || *at == ':' || *at == '"') {
        at++;
    }
    return at;
}

/* The "slots" of a `tandem gen --json` report, one per block of `ledger`, in order: 0, or -1
 * with a message. */
static inline int expected_load(const char *path, const ledger_t *ledger, slot_hashes_t *out) {
    size_t size = 0;
    uint8_t *bytes = read_file(path, &size);
    if (bytes == NULL) {
        return -1;
    }
    char *text = realloc(bytes, size + 1);
    if (text == NULL) {
        free(bytes);
        return -1;
    }
    text[size] = '\0';
    const char *at = strstr(text, "\"slots\"");
    const char *end = at != NULL ? strstr(at, "\"last\"") : NULL;
    int rc = at != NULL && end != NULL ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < ledger->n; i++) {
        const char *slot = json_value(at, end, "\"slot\"");
        const char *ved = slot != NULL ? json_value(slot, end, "\"ved_hash\"") : NULL;
        const char *ued = ved != NULL ? json_value(ved, end, "\"ued_hash\"") : NULL;
        if (ued == NULL || hex32(ved, out[i].ved) != 0 || hex32(ued, out[i].ued) != 0) {
            rc = -1;
            break;
        }
        out[i].slot = strtoull(slot, NULL, 10);
        if (out[i].slot != ledger->blocks[i].slot) {
            rc = -1;
        }
        at = ued;
    }
    if (rc != 0) {
        fprintf(stderr, "%s: not the `tandem gen --json` report of the ledger\n", path);
    }
    free(text);
    return rc;
}

/* A base58 string (Bitcoin's alphabet) of exactly 32 bytes; 0, or -1. */
static inline int base58_32(const char *text, uint8_t out[32]) {
    static const char ALPHABET[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    uint8_t n[32] = {0}; /* big-endian */
    for (const char *c = text; *c != '\0'; c++) {
        const char *digit = strchr(ALPHABET, *c);
        if (digit == NULL) {
            return -1;
        }
        unsigned carry = (unsigned)(digit - ALPHABET);
        for (int i = 31; i >= 0; i--) {
            carry += 58u * n[i];
            n[i] = (uint8_t)carry;
            carry >>= 8;
        }
        if (carry != 0) {
            return -1;
        }
    }
    memcpy(out, n, 32);
    return 0;
}

#endif /* TANDEM_TESTS_LEDGER_H */
