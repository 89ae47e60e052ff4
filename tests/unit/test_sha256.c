/* test_sha256.c — SHA-256 against FIPS 180-4's examples (one block, two blocks, a million 'a's
 * fed in odd pieces) and HMAC-SHA256 against RFC 4231's test cases 1-4, 6 and 7. */
#include "base/sha256.h"

#include <stdlib.h>

#include "t.h"

static void sha_hex(const void *p, size_t n, char out[65])
{
    struct sha256 c;
    unsigned char d[SHA256_LEN];
    sha256_init(&c);
    sha256_update(&c, p, n);
    sha256_final(&c, d);
    hex_encode(d, sizeof d, out);
}

static void hmac_hex(const void *k, size_t kn, const void *m, size_t mn, char out[65])
{
    unsigned char d[SHA256_LEN];
    hmac_sha256(k, kn, m, mn, NULL, 0, d);
    hex_encode(d, sizeof d, out);
}

int main(void)
{
    char h[65];
    sha_hex("", 0, h);
    CHECK_STR(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    sha_hex("abc", 3, h);
    CHECK_STR(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha_hex(two, strlen(two), h);
    CHECK_STR(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* a million 'a's in pieces of 997 bytes: the buffering across blocks */
    {
        static char a[997];
        memset(a, 'a', sizeof a);
        struct sha256 c;
        unsigned char d[SHA256_LEN];
        sha256_init(&c);
        size_t left = 1000000;
        while (left) {
            size_t n = left < sizeof a ? left : sizeof a;
            sha256_update(&c, a, n);
            left -= n;
        }
        sha256_final(&c, d);
        hex_encode(d, sizeof d, h);
        CHECK_STR(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    }

    /* RFC 4231 */
    unsigned char k1[20];
    memset(k1, 0x0b, sizeof k1);
    hmac_hex(k1, sizeof k1, "Hi There", 8, h);
    CHECK_STR(h, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    hmac_hex("Jefe", 4, "what do ya want for nothing?", 28, h);
    CHECK_STR(h, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    unsigned char k3[20], m3[50];
    memset(k3, 0xaa, sizeof k3);
    memset(m3, 0xdd, sizeof m3);
    hmac_hex(k3, sizeof k3, m3, sizeof m3, h);
    CHECK_STR(h, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
    unsigned char k4[25], m4[50];
    for (int i = 0; i < 25; i++)
        k4[i] = (unsigned char)(i + 1);
    memset(m4, 0xcd, sizeof m4);
    hmac_hex(k4, sizeof k4, m4, sizeof m4, h);
    CHECK_STR(h, "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
    unsigned char k6[131];
    memset(k6, 0xaa, sizeof k6);
    const char *m6 = "Test Using Larger Than Block-Size Key - Hash Key First";
    hmac_hex(k6, sizeof k6, m6, strlen(m6), h);
    CHECK_STR(h, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    const char *m7 = "This is a test using a larger than block-size key and a larger than "
                     "block-size data. The key needs to be hashed before being used by the HMAC "
                     "algorithm.";
    hmac_hex(k6, sizeof k6, m7, strlen(m7), h);
    CHECK_STR(h, "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
    /* the message in two parts signs the same as joined: "<t>.<body>" without a copy */
    {
        unsigned char a[SHA256_LEN], b[SHA256_LEN];
        hmac_sha256("Jefe", 4, "what do ya ", 11, "want for nothing?", 17, a);
        hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, NULL, 0, b);
        CHECK(memcmp(a, b, sizeof a) == 0);
    }
    return t_done("test_sha256");
}
