/* sha256.h — SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), small and pure, for signing the
 * worker's http requests (Roster-Signature) without linking libcrypto. */
#ifndef ROSTER_SHA256_H
#define ROSTER_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32

struct sha256 {
    uint32_t h[8];
    uint64_t len; /* bytes hashed so far */
    unsigned char buf[64];
    size_t nbuf;
};

void sha256_init(struct sha256 *c);
void sha256_update(struct sha256 *c, const void *data, size_t n);
void sha256_final(struct sha256 *c, unsigned char out[SHA256_LEN]);

/* HMAC-SHA256 of the message msg1 followed by msg2 (either may be empty), so that a signature
 * over "<t>.<body>" needs no joined copy of the body. */
void hmac_sha256(const void *key, size_t keylen, const void *msg1, size_t n1, const void *msg2,
                 size_t n2, unsigned char out[SHA256_LEN]);

/* Lower-case hex of n bytes into out (2n + 1 bytes, terminated). */
void hex_encode(const unsigned char *in, size_t n, char *out);

#endif
