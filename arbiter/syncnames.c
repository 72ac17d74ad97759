/*
 * arbiter/syncnames.c
 *
 * The site's synchronous_standby_names: which standbys a commit waits for, computed from the
 * stored set and the standbys' streaming reports (the rule and its reasons are in
 * syncnames.h), compared, and written as the PostgreSQL/openGauss setting.
 *
 * Layer: core
 */
#include "arbiter/syncnames.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "arbiter/decide.h"
#include "common/str.h"

bool syncnames_has(const struct syncnames *s, const char *name)
{
    uint32_t n = s->n_names < PROTO_MAX_SYNC ? s->n_names : PROTO_MAX_SYNC;

    for (uint32_t i = 0; i < n; i++) {
        if (str_eq(s->names[i], name)) {
            return true;
        }
    }
    return false;
}

bool syncnames_equal(const struct syncnames *a, const struct syncnames *b)
{
    if (a->num != b->num || a->n_names != b->n_names || a->n_names > PROTO_MAX_SYNC) {
        return false;
    }
    /* Names are unique in a set, so inclusion one way and equal counts give equality. */
    for (uint32_t i = 0; i < a->n_names; i++) {
        if (!syncnames_has(b, a->names[i])) {
            return false;
        }
    }
    return true;
}

/* Whether member m belongs in the next set of a site whose primary is primary. */
static bool syncnames_should_name(const struct decide_input *in, const struct decide_member *m,
                                  bool same_primary)
{
    if (str_eq(m->name, in->primary) && !same_primary) {
        return false; /* the old primary only comes back by streaming from the new one */
    }
    if (syncnames_has(&in->sync, m->name)) {
        return true; /* kept: never drop a synchronous standby silently */
    }
    return same_primary && m->streaming && m->role == PROTO_ROLE_STANDBY &&
           decide_is_alive(m, in->now_ms, in->policy.lost_timeout_ms);
}

void syncnames_compute(const struct decide_input *in, const char *primary, struct syncnames *ret)
{
    bool picked[DECIDE_MAX_MEMBERS] = {false};
    uint32_t n = in->n_members < DECIDE_MAX_MEMBERS ? in->n_members : DECIDE_MAX_MEMBERS;
    bool same_primary = str_eq(primary, in->primary);

    memset(ret, 0, sizeof(*ret));
    if (in->policy.sync_replicas == 0 || str_is_empty(primary)) {
        return;
    }
    for (uint32_t i = 0; i < n; i++) {
        const struct decide_member *m = &in->members[i];

        picked[i] = !str_eq(m->name, primary) && syncnames_should_name(in, m, same_primary);
    }
    /* Append in iplist order (order, then name): a selection sort over at most 32 members. */
    while (ret->n_names < PROTO_MAX_SYNC) {
        int best = -1;

        for (uint32_t i = 0; i < n; i++) {
            if (picked[i] && (best < 0 || in->members[i].order < in->members[best].order ||
                              (in->members[i].order == in->members[best].order &&
                               strcmp(in->members[i].name, in->members[best].name) < 0))) {
                best = (int) i;
            }
        }
        if (best < 0) {
            break;
        }
        picked[best] = false;
        (void) str_copy(ret->names[ret->n_names++], sizeof(ret->names[0]), in->members[best].name);
    }
    ret->num = in->policy.sync_replicas < ret->n_names ? in->policy.sync_replicas : ret->n_names;
}

int syncnames_format(const struct syncnames *s, char *buf, size_t size)
{
    uint32_t n = s->n_names < PROTO_MAX_SYNC ? s->n_names : PROTO_MAX_SYNC;
    size_t len = 0;
    int r;

    if (size == 0) {
        return -ENAMETOOLONG;
    }
    buf[0] = '\0';
    if (s->num == 0 || n == 0) {
        return 0;
    }
    /* r is what the last snprintf wanted to write at buf + len; it must have fitted. */
    r = snprintf(buf, size, "ANY %u (", s->num);
    for (uint32_t i = 0; i < n; i++) {
        if (r < 0 || (size_t) r >= size - len) {
            return -ENAMETOOLONG;
        }
        len += (size_t) r;
        r = snprintf(buf + len, size - len, "%s\"%s\"", i ? ", " : "", s->names[i]);
    }
    if (r < 0 || (size_t) r >= size - len) {
        return -ENAMETOOLONG;
    }
    len += (size_t) r;
    r = snprintf(buf + len, size - len, ")");
    return r < 0 || (size_t) r >= size - len ? -ENAMETOOLONG : 0;
}
