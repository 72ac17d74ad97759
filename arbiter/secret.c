/*
 * arbiter/secret.c
 *
 * Layer: edge (the kernel's random source). Passwords by rejection sampling: bytes at or
 * above the largest multiple of 62 are drawn again, so every character is equally likely.
 */
#include "arbiter/secret.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

static const char secret_alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

#define SECRET_ALPHABET_LEN (sizeof(secret_alphabet) - 1)
#define SECRET_ACCEPT_BELOW (256 - 256 % SECRET_ALPHABET_LEN) /* 248 */
#define SECRET_MAX_DRAWS    64                                /* bound: ~0 chance to need more */

int secret_password(char *buf, size_t size, struct errbuf *eb)
{
    unsigned char bytes[SECRET_PASSWORD_LEN * 2];
    size_t n = 0;

    if (size <= SECRET_PASSWORD_LEN) {
        errbuf_set(eb, "password buffer of %zu bytes is too small", size);
        return -EINVAL;
    }
    for (int draw = 0; draw < SECRET_MAX_DRAWS && n < SECRET_PASSWORD_LEN; draw++) {
        ssize_t got = getrandom(bytes, sizeof(bytes), 0);
        if (got < 0) {
            int e = errno;
            if (e == EINTR) {
                continue;
            }
            errbuf_set(eb, "getrandom: %s", strerrordesc_np(e));
            return -e;
        }
        for (ssize_t i = 0; i < got && n < SECRET_PASSWORD_LEN; i++) {
            if (bytes[i] < SECRET_ACCEPT_BELOW) {
                buf[n++] = secret_alphabet[bytes[i] % SECRET_ALPHABET_LEN];
            }
        }
    }
    buf[n] = '\0';
    if (n < SECRET_PASSWORD_LEN) {
        errbuf_set(eb, "getrandom gave too few usable bytes");
        return -EIO;
    }
    return 0;
}
