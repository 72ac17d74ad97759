/*
 * arbiter/secret.h
 *
 * Random secrets for local mode: the superuser password of a new cluster when its spec
 * gives none (issue 4).
 */
#ifndef OG_ARBITER_SECRET_H
#define OG_ARBITER_SECRET_H

#include <stddef.h>

#include "common/errbuf.h"

#define SECRET_PASSWORD_LEN 24

/*
 * Writes SECRET_PASSWORD_LEN characters of [A-Za-z0-9], drawn uniformly from getrandom(2),
 * and a terminator into buf[size] (size > SECRET_PASSWORD_LEN). 0, -EINVAL (buf too small)
 * or -errno of getrandom with eb.
 */
int secret_password(char *buf, size_t size, struct errbuf *eb);

#endif
