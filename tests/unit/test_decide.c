/*
 * tests/unit/test_decide.c
 *
 * arbiter/decide and arbiter/syncnames: a table of scenarios {name, input builder, expected
 * verdict, rule, target, epoch, words of the reason} in the spirit of pgbouncer's
 * hba_test.eval and pg_auto_failover's guard_data_loss scenarios; focused checks of the
 * desired states and the synchronous set; and property loops over 1000 generated inputs
 * (fixed-seed LCG) for the invariants of STYLE.md: never two primaries, never an automatic
 * promotion of a lagging, old-timeline or unreachable member, same input same output,
 * epochs never decrease, and a decision applied by obedient members converges to NONE.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arbiter/decide.h"
#include "arbiter/syncnames.h"
#include "common/str.h"
#include "tests/support/cu_main.h"

#define NOW      1000000000ULL
#define LSN      0x30000000ULL
#define MIB      1048576ULL
#define TIMELINE 2

/* ---- input builders ------------------------------------------------------------------ */

static void set_name(char *dst, size_t size, const char *prefix, uint32_t i)
{
    (void) snprintf(dst, size, "%s%u", prefix, i);
}

/* n members demo-0.., all reported just now, nothing assigned: a site before bootstrap. */
static void site(struct decide_input *in, uint32_t n)
{
    memset(in, 0, sizeof(*in));
    in->now_ms = NOW;
    in->policy.sync_replicas = 1;
    in->policy.restart_limit = 3;
    in->policy.lost_timeout_ms = 5000;
    in->policy.max_lag_bytes = MIB;
    in->n_members = n;
    for (uint32_t i = 0; i < n; i++) {
        struct decide_member *m = &in->members[i];

        set_name(m->name, sizeof(m->name), "demo-", i);
        set_name(m->node, sizeof(m->node), "node-", i);
        m->order = i;
        m->reported = true;
        m->last_seen_ms = NOW - 200;
        m->state = PROTO_STATE_STOPPED;
    }
}

/* Replaces the stored synchronous set: ANY num (names...), NULL-terminated. */
static void set_sync(struct syncnames *s, uint32_t num, const char *name, ...)
{
    va_list ap;

    memset(s, 0, sizeof(*s));
    s->num = num;
    va_start(ap, name);
    for (const char *n = name; n; n = va_arg(ap, const char *)) {
        (void) snprintf(s->names[s->n_names++], sizeof(s->names[0]), "%s", n);
    }
    va_end(ap);
}

/* A healthy site at epoch 3: demo-0 primary, the others streaming synchronous standbys. */
static void healthy(struct decide_input *in, uint32_t n)
{
    site(in, n);
    in->epoch = 3;
    (void) snprintf(in->primary, sizeof(in->primary), "demo-0");
    in->primary_last_lsn = LSN;
    memset(&in->sync, 0, sizeof(in->sync));
    for (uint32_t i = 0; i < n; i++) {
        struct decide_member *m = &in->members[i];

        m->epoch = 3;
        m->state = PROTO_STATE_RUNNING;
        m->timeline = TIMELINE;
        if (i == 0) {
            m->assigned = m->role = PROTO_ROLE_PRIMARY;
            m->current_lsn = LSN;
            continue;
        }
        m->assigned = m->role = PROTO_ROLE_STANDBY;
        m->received_lsn = m->replayed_lsn = LSN;
        m->streaming = m->was_sync = true;
        (void) snprintf(in->sync.names[in->sync.n_names++], sizeof(in->sync.names[0]), "%s",
                        m->name);
    }
    in->sync.num = n > 1 ? 1 : 0;
}

/* ---- scenarios (tests/data/decide/scenarios.scn, format described there) --------------- */

#define SCN_MAX      160
#define SCN_TEXT_MAX 512
#define SCN_DEPTH    8

struct scn {
    char name[96];
    char base[96];
    char edits[SCN_TEXT_MAX];
    char expect[128];
    char words[DECIDE_REASON_MAX];
};

static struct scn scns[SCN_MAX];
static size_t n_scns;

/* Copies s[0..len) into dst[size] without the surrounding blanks. */
static void copy_trimmed(char *dst, size_t size, const char *s, size_t len)
{
    while (len > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\n')) {
        len--;
    }
    len = len < size - 1 ? len : size - 1;
    memcpy(dst, s, len);
    dst[len] = '\0';
}

/* Reads the scenario file once; false (and a message) when it is missing or malformed. */
static bool scn_load(void)
{
    static bool loaded;
    char line[1024];
    FILE *f;

    if (loaded) {
        return n_scns > 0;
    }
    loaded = true;
    f = fopen(OG_TEST_DATA_DIR "/decide/scenarios.scn", "re");
    if (!f) {
        fprintf(stderr, "\ncannot open scenarios.scn\n");
        return false;
    }
    while (fgets(line, sizeof(line), f) && n_scns < SCN_MAX) {
        char *field[5], *bar = line;
        struct scn *sc = &scns[n_scns];
        int n = 0;

        if (line[0] == '#' || line[strspn(line, " \t\n")] == '\0') {
            continue;
        }
        for (field[n++] = line; n < 5 && (bar = strchr(bar, '|')); field[n++] = ++bar) {
        }
        if (n != 5 || strchr(field[4], '|')) {
            fprintf(stderr, "\nscenarios.scn: bad line: %s", line);
            n_scns = 0;
            break;
        }
        copy_trimmed(sc->name, sizeof(sc->name), field[0], (size_t) (field[1] - field[0] - 1));
        copy_trimmed(sc->base, sizeof(sc->base), field[1], (size_t) (field[2] - field[1] - 1));
        copy_trimmed(sc->edits, sizeof(sc->edits), field[2], (size_t) (field[3] - field[2] - 1));
        copy_trimmed(sc->expect, sizeof(sc->expect), field[3], (size_t) (field[4] - field[3] - 1));
        copy_trimmed(sc->words, sizeof(sc->words), field[4], strlen(field[4]));
        n_scns++;
    }
    fclose(f);
    return n_scns > 0;
}

static const struct scn *scn_find(const char *name)
{
    for (size_t i = 0; i < n_scns; i++) {
        if (strcmp(scns[i].name, name) == 0) {
            return &scns[i];
        }
    }
    return NULL;
}

/* "L", "L+40", "L-2M" (relative to LSN) or a plain number; sizes take an M suffix too. */
static bool parse_number(const char *v, uint64_t *ret)
{
    char digits[32];
    size_t len = strlen(v);
    uint64_t base = 0, mult = 1, n = 0;
    bool minus = false;

    if (v[0] == 'L') {
        base = LSN;
        minus = v[1] == '-';
        v += v[1] == '+' || v[1] == '-' ? 2 : 1;
        len = strlen(v);
        if (len == 0) {
            *ret = base;
            return true;
        }
    }
    if (len > 0 && v[len - 1] == 'M') {
        mult = MIB;
        len--;
    }
    if (len == 0 || len >= sizeof(digits)) {
        return false;
    }
    memcpy(digits, v, len);
    digits[len] = '\0';
    if (str_to_u64(digits, 0, UINT64_MAX / MIB, &n) < 0) {
        return false;
    }
    *ret = minus ? base - n * mult : base + n * mult;
    return true;
}

static bool parse_role(const char *v, enum proto_role *ret)
{
    if (strcmp(v, "unknown") == 0) {
        *ret = PROTO_ROLE_UNKNOWN;
        return true;
    }
    return proto_role_from_string(v, ret) == 0;
}

static bool parse_name(const char *v, char *dst, size_t size)
{
    return str_copy(dst, size, strcmp(v, "-") == 0 ? "" : v) == 0;
}

static bool member_set(struct decide_member *m, const char *key, const char *v)
{
    uint64_t n = 0;
    bool num = parse_number(v, &n);

    if (strcmp(key, "name") == 0) {
        return parse_name(v, m->name, sizeof(m->name));
    } else if (strcmp(key, "assigned") == 0) {
        return parse_role(v, &m->assigned);
    } else if (strcmp(key, "role") == 0) {
        return parse_role(v, &m->role);
    } else if (strcmp(key, "state") == 0) {
        return proto_state_from_string(v, &m->state) == 0;
    } else if (!num) {
        return false;
    }
    if (strcmp(key, "order") == 0 || strcmp(key, "tl") == 0 || strcmp(key, "restarts") == 0) {
        *(strcmp(key, "order") == 0 ? &m->order
          : strcmp(key, "tl") == 0  ? &m->timeline
                                    : &m->restarts) = (uint32_t) n;
    } else if (strcmp(key, "reported") == 0 || strcmp(key, "streaming") == 0 ||
               strcmp(key, "sync") == 0) {
        *(strcmp(key, "reported") == 0    ? &m->reported
          : strcmp(key, "streaming") == 0 ? &m->streaming
                                          : &m->was_sync) = n != 0;
    } else if (strcmp(key, "seen") == 0) {
        m->last_seen_ms = NOW - n;
    } else if (strcmp(key, "epoch") == 0) {
        m->epoch = n;
    } else if (strcmp(key, "recv") == 0) {
        m->received_lsn = n;
    } else if (strcmp(key, "replay") == 0) {
        m->replayed_lsn = n;
    } else if (strcmp(key, "cur") == 0) {
        m->current_lsn = n;
    } else {
        return false;
    }
    return true;
}

/* "-" or "num:name,name". */
static bool parse_syncset(const char *v, struct syncnames *s)
{
    const char *colon = strchr(v, ':');
    char num[16];

    memset(s, 0, sizeof(*s));
    if (strcmp(v, "-") == 0) {
        return true;
    }
    if (!colon || (size_t) (colon - v) >= sizeof(num)) {
        return false;
    }
    memcpy(num, v, (size_t) (colon - v));
    num[colon - v] = '\0';
    if (str_to_u32(num, 0, PROTO_MAX_SYNC, &s->num) < 0) {
        return false;
    }
    for (const char *p = colon + 1; *p && s->n_names < PROTO_MAX_SYNC; p += *p == ',') {
        size_t len = strcspn(p, ",");

        copy_trimmed(s->names[s->n_names++], sizeof(s->names[0]), p, len);
        p += len;
    }
    return true;
}

static bool global_set(struct decide_input *in, const char *key, const char *v)
{
    uint64_t n = 0;
    bool num = parse_number(v, &n);

    if (strcmp(key, "primary") == 0) {
        return parse_name(v, in->primary, sizeof(in->primary));
    } else if (strcmp(key, "swtarget") == 0) {
        return parse_name(v, in->switchover.target, sizeof(in->switchover.target));
    } else if (strcmp(key, "syncset") == 0) {
        return parse_syncset(v, &in->sync);
    } else if (strcmp(key, "switchover") == 0) {
        return decide_switchover_phase_from_string(v, &in->switchover.phase) == 0;
    } else if (strcmp(key, "manual") == 0) {
        in->manual.requested = true;
        return parse_name(strcmp(v, "*") == 0 ? "-" : v, in->manual.target,
                          sizeof(in->manual.target));
    } else if (!num) {
        return false;
    }
    if (strcmp(key, "epoch") == 0) {
        in->epoch = n;
    } else if (strcmp(key, "lastlsn") == 0) {
        in->primary_last_lsn = n;
    } else if (strcmp(key, "syncreplicas") == 0) {
        in->policy.sync_replicas = (uint32_t) n;
    } else if (strcmp(key, "maintenance") == 0) {
        in->policy.maintenance = n != 0;
    } else if (strcmp(key, "bootwait") == 0) {
        in->bootstrap_until_ms = NOW + n;
    } else if (strcmp(key, "insync") == 0) {
        in->sync_in_force = n != 0;
    } else if (strcmp(key, "maxlag") == 0) {
        in->policy.max_lag_bytes = n;
    } else if (strcmp(key, "losttimeout") == 0) {
        in->policy.lost_timeout_ms = n;
    } else if (strcmp(key, "members") == 0) {
        in->n_members = (uint32_t) n;
    } else if (strcmp(key, "started") == 0) {
        in->switchover.started_ms = NOW - n;
    } else if (strcmp(key, "fence") == 0) {
        in->switchover.fence_lsn = n;
    } else {
        return false;
    }
    return true;
}

/* One edit "key=value": mN.key, ms.key (every member but demo-0) or a global key. */
static bool apply_edit(struct decide_input *in, const char *edit)
{
    char key[64], value[128];
    const char *eq = strchr(edit, '=');
    uint32_t first = 0, last = 0;
    bool ok = true;

    if (!eq || (size_t) (eq - edit) >= sizeof(key) || strlen(eq + 1) >= sizeof(value)) {
        return false;
    }
    memcpy(key, edit, (size_t) (eq - edit));
    key[eq - edit] = '\0';
    memcpy(value, eq + 1, strlen(eq + 1) + 1);
    if (key[0] != 'm' || !strchr(key, '.')) {
        return global_set(in, key, value);
    }
    *strchr(key, '.') = '\0';
    if (strcmp(key, "ms") == 0) {
        first = 1;
        last = DECIDE_MAX_MEMBERS - 1;
    } else if (str_to_u32(key + 1, 0, DECIDE_MAX_MEMBERS - 1, &first) == 0) {
        last = first;
    } else {
        return false;
    }
    for (uint32_t i = first; i <= last && i < in->n_members; i++) {
        ok = ok && member_set(&in->members[i], key + strlen(key) + 1, value);
    }
    return ok;
}

/* Builds the input of scenario name into in; false (and a message) when it cannot. */
static bool scn_build(const char *name, struct decide_input *in, int depth)
{
    const struct scn *sc = scn_find(name);
    uint32_t n = 0;

    if (!sc || depth > SCN_DEPTH) {
        fprintf(stderr, "\nno scenario \"%s\"\n", name);
        return false;
    }
    if (strncmp(sc->base, "site", 4) == 0 && str_to_u32(sc->base + 4, 1, 9, &n) == 0) {
        site(in, n);
    } else if (strncmp(sc->base, "healthy", 7) == 0 && str_to_u32(sc->base + 7, 1, 9, &n) == 0) {
        healthy(in, n);
    } else if (!scn_build(sc->base, in, depth + 1)) {
        return false;
    }
    for (const char *p = sc->edits; *p && strcmp(sc->edits, "-") != 0;) {
        char edit[160];
        size_t len = strcspn(p, " ");

        copy_trimmed(edit, sizeof(edit), p, len);
        if (edit[0] && !apply_edit(in, edit)) {
            fprintf(stderr, "\nscenario \"%s\": bad edit \"%s\"\n", name, edit);
            return false;
        }
        p += len + strspn(p + len, " ");
    }
    return true;
}

/* Builds a scenario by name for the focused tests below. */
static bool scn_input(const char *name, struct decide_input *in)
{
    return scn_load() && scn_build(name, in, 0);
}

static bool scenario_passes(const struct scn *sc)
{
    static struct decide_input in;
    static struct decide_result ret;
    char verdict[32], rule[8], target[PROTO_NAME_MAX + 1];
    uint64_t epoch = 0;
    bool ok;

    if (!scn_build(sc->name, &in, 0) ||
        sscanf(sc->expect, "%31s %7s %63s %" SCNu64, verdict, rule, target, &epoch) != 4) {
        fprintf(stderr, "\nscenario \"%s\": cannot build or bad expectation\n", sc->name);
        return false;
    }
    decide_failover(&in, &ret);
    ok = strcmp(decide_verdict_to_string(ret.verdict), verdict) == 0 &&
         strcmp(ret.rule_id, rule) == 0 &&
         strcmp(ret.target, strcmp(target, "-") == 0 ? "" : target) == 0 &&
         ret.new_epoch == epoch && (strcmp(sc->words, "-") == 0 || strstr(ret.reason, sc->words));
    if (!ok) {
        fprintf(stderr, "\nscenario \"%s\": got %s %s \"%s\" %" PRIu64 ": %s\n", sc->name,
                decide_verdict_to_string(ret.verdict), ret.rule_id, ret.target, ret.new_epoch,
                ret.reason);
    }
    return ok;
}

static void test_decide_scenarios(void)
{
    CU_ASSERT_TRUE_FATAL(scn_load());
    CU_ASSERT_TRUE(n_scns >= 80);
    for (size_t i = 0; i < n_scns; i++) {
        CU_ASSERT_TRUE(scenario_passes(&scns[i]));
    }
}

/* ---- desired states ------------------------------------------------------------------ */

static int count_primaries(const struct decide_result *ret)
{
    int n = 0;

    for (uint32_t i = 0; i < ret->n_members; i++) {
        n += ret->members[i].role == PROTO_ROLE_PRIMARY;
    }
    return n;
}

static void test_decide_bootstrap_desired(void)
{
    static struct decide_input in;
    static struct decide_result ret;

    CU_ASSERT_TRUE_FATAL(scn_input("bootstrap first live", &in));
    decide_failover(&in, &ret);
    CU_ASSERT_TRUE(ret.changed);
    CU_ASSERT_STRING_EQUAL(ret.primary, "demo-1");
    CU_ASSERT_EQUAL(ret.n_members, 3);
    CU_ASSERT_EQUAL(ret.members[1].role, PROTO_ROLE_PRIMARY);
    CU_ASSERT_EQUAL(ret.members[1].state, PROTO_STATE_RUNNING);
    CU_ASSERT_STRING_EQUAL(ret.members[1].upstream, "");
    CU_ASSERT_EQUAL(ret.members[0].role, PROTO_ROLE_STANDBY);
    CU_ASSERT_STRING_EQUAL(ret.members[0].upstream, "demo-1");
    CU_ASSERT_STRING_EQUAL(ret.members[2].upstream, "demo-1");
    CU_ASSERT_EQUAL(ret.sync.num, 0); /* nobody streams yet: naming one would block commits */
    CU_ASSERT_EQUAL(ret.sync.n_names, 0);

    /* Before bootstrap nobody is told anything, so nothing is stored. */
    CU_ASSERT_TRUE_FATAL(scn_input("bootstrap none alive", &in));
    decide_failover(&in, &ret);
    CU_ASSERT_FALSE(ret.changed);
    CU_ASSERT_EQUAL(ret.members[0].role, PROTO_ROLE_UNKNOWN);
    CU_ASSERT_EQUAL(count_primaries(&ret), 0);
}

static void test_decide_failover_desired(void)
{
    static struct decide_input in;
    static struct decide_result ret;

    CU_ASSERT_TRUE_FATAL(scn_input("primary failed", &in));
    decide_failover(&in, &ret);
    CU_ASSERT_TRUE(ret.changed);
    CU_ASSERT_STRING_EQUAL(ret.primary, "demo-1");
    CU_ASSERT_EQUAL(count_primaries(&ret), 1);
    /* The old primary rejoins as a standby of the new one, rewinding first. */
    CU_ASSERT_EQUAL(ret.members[0].role, PROTO_ROLE_STANDBY);
    CU_ASSERT_EQUAL(ret.members[0].state, PROTO_STATE_RUNNING);
    CU_ASSERT_STRING_EQUAL(ret.members[0].upstream, "demo-1");
    CU_ASSERT_TRUE(ret.members[0].rebuild);
    CU_ASSERT_EQUAL(ret.members[1].role, PROTO_ROLE_PRIMARY);
    CU_ASSERT_STRING_EQUAL(ret.members[2].upstream, "demo-1");
    CU_ASSERT_FALSE(ret.members[2].rebuild);
    /* The set keeps demo-2 (ANY 1): commits stay synchronous. */
    CU_ASSERT_EQUAL(ret.sync.num, 1);
    CU_ASSERT_EQUAL(ret.sync.n_names, 1);
    CU_ASSERT_STRING_EQUAL(ret.sync.names[0], "demo-2");

    /* While waiting for quorum, a failed standby keeps its data: it may hold the last commits. */
    CU_ASSERT_TRUE_FATAL(scn_input("sync quorum member lost", &in));
    in.members[1].state = PROTO_STATE_FAILED;
    decide_failover(&in, &ret);
    CU_ASSERT_EQUAL(ret.verdict, DECIDE_VERDICT_WAIT);
    CU_ASSERT_FALSE(ret.members[1].rebuild);
    CU_ASSERT_FALSE(ret.members[0].rebuild);

    /* An old primary still able to write is fenced first. */
    CU_ASSERT_TRUE_FATAL(scn_input("manual named", &in));
    in.members[0].state = PROTO_STATE_RESTARTING;
    decide_failover(&in, &ret);
    CU_ASSERT_EQUAL(ret.verdict, DECIDE_VERDICT_MANUAL_FAILOVER);
    CU_ASSERT_EQUAL(ret.members[0].state, PROTO_STATE_FENCED);
    CU_ASSERT_TRUE(ret.members[0].rebuild);
}

static void test_decide_switchover_desired(void)
{
    static struct decide_input in;
    static struct decide_result ret;

    CU_ASSERT_TRUE_FATAL(scn_input("switchover start", &in));
    decide_failover(&in, &ret);
    CU_ASSERT_TRUE(ret.changed);
    CU_ASSERT_EQUAL(ret.switchover.phase, DECIDE_SWITCHOVER_PHASE_FENCING);
    CU_ASSERT_EQUAL(ret.switchover.started_ms, NOW);
    CU_ASSERT_EQUAL(ret.members[0].role, PROTO_ROLE_PRIMARY);
    CU_ASSERT_EQUAL(ret.members[0].state, PROTO_STATE_FENCED);

    CU_ASSERT_TRUE_FATAL(scn_input("switchover fenced", &in));
    decide_failover(&in, &ret);
    CU_ASSERT_EQUAL(ret.switchover.phase, DECIDE_SWITCHOVER_PHASE_CATCHUP);
    CU_ASSERT_EQUAL(ret.switchover.fence_lsn, LSN + 40);

    CU_ASSERT_TRUE_FATAL(scn_input("switchover caught up", &in));
    decide_failover(&in, &ret);
    CU_ASSERT_EQUAL(ret.switchover.phase, DECIDE_SWITCHOVER_PHASE_NONE);
    CU_ASSERT_STRING_EQUAL(ret.primary, "demo-2");
    CU_ASSERT_EQUAL(ret.members[0].role, PROTO_ROLE_STANDBY);
    CU_ASSERT_EQUAL(ret.members[0].state, PROTO_STATE_RUNNING);
    CU_ASSERT_STRING_EQUAL(ret.members[0].upstream, "demo-2");

    /* Aborted: the old primary is desired running again, nothing else changed. */
    CU_ASSERT_TRUE_FATAL(scn_input("switchover timeout", &in));
    decide_failover(&in, &ret);
    CU_ASSERT_EQUAL(ret.switchover.phase, DECIDE_SWITCHOVER_PHASE_NONE);
    CU_ASSERT_STRING_EQUAL(ret.primary, "demo-0");
    CU_ASSERT_EQUAL(ret.members[0].state, PROTO_STATE_RUNNING);

    /* A refused request is dropped (the API answers 409). */
    CU_ASSERT_TRUE_FATAL(scn_input("switchover lagging target", &in));
    decide_failover(&in, &ret);
    CU_ASSERT_TRUE(ret.changed);
    CU_ASSERT_EQUAL(ret.switchover.phase, DECIDE_SWITCHOVER_PHASE_NONE);
}

static void test_decide_stale_primary_desired(void)
{
    static struct decide_input in;
    static struct decide_result ret;

    CU_ASSERT_TRUE_FATAL(scn_input("stale primary", &in));
    decide_failover(&in, &ret);
    CU_ASSERT_EQUAL(count_primaries(&ret), 1);
    CU_ASSERT_EQUAL(ret.members[0].role, PROTO_ROLE_STANDBY);
    CU_ASSERT_EQUAL(ret.members[0].state, PROTO_STATE_FENCED);
    CU_ASSERT_TRUE(ret.members[0].rebuild);
    CU_ASSERT_FALSE(ret.changed);

    /* Once stopped it rejoins as a standby of the current primary. */
    in.members[0].state = PROTO_STATE_FENCED;
    decide_failover(&in, &ret);
    CU_ASSERT_EQUAL(ret.verdict, DECIDE_VERDICT_NONE);
    CU_ASSERT_EQUAL(ret.members[0].state, PROTO_STATE_RUNNING);
    CU_ASSERT_STRING_EQUAL(ret.members[0].upstream, "demo-1");
    CU_ASSERT_TRUE(ret.members[0].rebuild);
}

static void test_decide_invalid_input_is_mirrored(void)
{
    static struct decide_input in;
    static struct decide_result ret;

    healthy(&in, 3);
    memset(in.members[1].name, 'x', sizeof(in.members[1].name));
    decide_failover(&in, &ret);
    CU_ASSERT_FALSE(ret.changed);
    CU_ASSERT_EQUAL(ret.n_members, 0);
    CU_ASSERT_EQUAL(ret.new_epoch, 3);
    CU_ASSERT_STRING_EQUAL(ret.primary, "demo-0");

    memset(&in, 0xa5, sizeof(in)); /* garbage everywhere */
    decide_failover(&in, &ret);
    CU_ASSERT_EQUAL(ret.verdict, DECIDE_VERDICT_REFUSE);
    CU_ASSERT_STRING_EQUAL(ret.rule_id, "R01");
    CU_ASSERT_EQUAL(ret.n_members, 0);
}

/* ---- synchronous set ----------------------------------------------------------------- */

static void test_decide_syncnames_compute(void)
{
    static struct decide_input in;
    struct syncnames s;

    healthy(&in, 1); /* one member: nothing to name */
    syncnames_compute(&in, "demo-0", &s);
    CU_ASSERT_EQUAL(s.num, 0);
    CU_ASSERT_EQUAL(s.n_names, 0);

    healthy(&in, 3); /* iplist order wins over array order */
    memset(&in.sync, 0, sizeof(in.sync));
    in.members[1].order = 9;
    syncnames_compute(&in, "demo-0", &s);
    CU_ASSERT_EQUAL(s.num, 1);
    CU_ASSERT_EQUAL(s.n_names, 2);
    CU_ASSERT_STRING_EQUAL(s.names[0], "demo-2");
    CU_ASSERT_STRING_EQUAL(s.names[1], "demo-1");

    in.policy.sync_replicas = 5; /* n = min(syncreplicas, names) */
    syncnames_compute(&in, "demo-0", &s);
    CU_ASSERT_EQUAL(s.num, 2);
    in.policy.sync_replicas = 0;
    syncnames_compute(&in, "demo-0", &s);
    CU_ASSERT_EQUAL(s.num, 0);
    CU_ASSERT_EQUAL(s.n_names, 0);
    syncnames_compute(&in, "", &s);
    CU_ASSERT_EQUAL(s.n_names, 0);

    /* A named standby that stops streaming is kept: commits block rather than go async. */
    healthy(&in, 2);
    in.members[1].streaming = false;
    in.members[1].last_seen_ms = NOW - 60000;
    syncnames_compute(&in, "demo-0", &s);
    CU_ASSERT_EQUAL(s.num, 1);
    CU_ASSERT_STRING_EQUAL(s.names[0], "demo-1");

    /* A standby that never streamed is not added; a removed member is dropped. */
    healthy(&in, 3);
    set_sync(&in.sync, 1, "demo-1", "demo-7", NULL);
    in.members[2].streaming = false;
    syncnames_compute(&in, "demo-0", &s);
    CU_ASSERT_EQUAL(s.n_names, 1);
    CU_ASSERT_STRING_EQUAL(s.names[0], "demo-1");

    /* On a change of primary nothing is added and the new primary leaves the set. */
    healthy(&in, 3);
    set_sync(&in.sync, 1, "demo-1", NULL);
    syncnames_compute(&in, "demo-1", &s);
    CU_ASSERT_EQUAL(s.num, 0);
    CU_ASSERT_EQUAL(s.n_names, 0);
}

static void test_decide_syncnames_format_and_equal(void)
{
    struct syncnames a, b;
    char buf[64], tiny[12];

    set_sync(&a, 1, "demo-1", "demo-2", NULL);
    CU_ASSERT_EQUAL(syncnames_format(&a, buf, sizeof(buf)), 0);
    CU_ASSERT_STRING_EQUAL(buf, "ANY 1 (\"demo-1\", \"demo-2\")");
    CU_ASSERT_EQUAL(syncnames_format(&a, tiny, sizeof(tiny)), -ENAMETOOLONG);
    CU_ASSERT_EQUAL(strlen(tiny), sizeof(tiny) - 1);
    set_sync(&b, 0, NULL);
    CU_ASSERT_EQUAL(syncnames_format(&b, buf, sizeof(buf)), 0);
    CU_ASSERT_STRING_EQUAL(buf, "");

    set_sync(&b, 1, "demo-2", "demo-1", NULL);
    CU_ASSERT_TRUE(syncnames_equal(&a, &b));
    b.num = 2;
    CU_ASSERT_FALSE(syncnames_equal(&a, &b));
    set_sync(&b, 1, "demo-2", "demo-3", NULL);
    CU_ASSERT_FALSE(syncnames_equal(&a, &b));
    CU_ASSERT_TRUE(syncnames_has(&a, "demo-2"));
    CU_ASSERT_FALSE(syncnames_has(&a, "demo-3"));
}

/* ---- table, ranking, names ----------------------------------------------------------- */

static void test_decide_rules_table(void)
{
    const char *id = NULL, *name = NULL;
    enum decide_verdict v = DECIDE_VERDICT_NONE;
    size_t n = decide_rules_count();

    CU_ASSERT_EQUAL(decide_rules_check(), 0);
    CU_ASSERT_TRUE(n >= 10);
    CU_ASSERT_EQUAL(decide_rule_info(0, &id, &name, &v), 0);
    CU_ASSERT_STRING_EQUAL(id, "R01");
    CU_ASSERT_EQUAL(v, DECIDE_VERDICT_REFUSE);
    CU_ASSERT_EQUAL(decide_rule_info(n - 1, &id, &name, &v), 0);
    CU_ASSERT_STRING_EQUAL(name, "steady");
    CU_ASSERT_EQUAL(decide_rule_info(n, &id, &name, &v), -ENOENT);
}

static void test_decide_candidate_compare(void)
{
    struct decide_member a, b;

    memset(&a, 0, sizeof(a));
    snprintf(a.name, sizeof(a.name), "demo-1");
    a.timeline = 2;
    a.received_lsn = 100;
    a.order = 1;
    b = a;
    snprintf(b.name, sizeof(b.name), "demo-2");
    CU_ASSERT_TRUE(decide_candidate_compare(&a, &b) < 0); /* name, last */
    b.order = 0;
    CU_ASSERT_TRUE(decide_candidate_compare(&a, &b) > 0); /* iplist order */
    a.received_lsn = 101;
    CU_ASSERT_TRUE(decide_candidate_compare(&a, &b) < 0); /* received LSN */
    b.was_sync = true;
    CU_ASSERT_TRUE(decide_candidate_compare(&a, &b) > 0); /* synchronous first */
    a.timeline = 3;
    CU_ASSERT_TRUE(decide_candidate_compare(&a, &b) < 0); /* timeline first of all */
    CU_ASSERT_EQUAL(decide_candidate_compare(&a, &a), 0);
}

static void test_decide_alive(void)
{
    struct decide_member m;

    memset(&m, 0, sizeof(m));
    m.reported = true;
    m.state = PROTO_STATE_RUNNING;
    m.last_seen_ms = 10000;
    CU_ASSERT_TRUE(decide_is_alive(&m, 15000, 5000));
    CU_ASSERT_FALSE(decide_is_alive(&m, 15001, 5000));
    CU_ASSERT_TRUE(decide_is_alive(&m, 9000, 5000)); /* stamped after now */
    m.state = PROTO_STATE_LOST;
    CU_ASSERT_FALSE(decide_is_alive(&m, 10000, 5000));
    m.state = PROTO_STATE_RUNNING;
    m.reported = false;
    CU_ASSERT_FALSE(decide_is_alive(&m, 10000, 5000));
}

static void test_decide_enum_names(void)
{
    enum decide_verdict v;
    enum decide_switchover_phase p;

    for (int i = 0; i < _DECIDE_VERDICT_MAX; i++) {
        CU_ASSERT_EQUAL(
                decide_verdict_from_string(decide_verdict_to_string((enum decide_verdict) i), &v),
                0);
        CU_ASSERT_EQUAL(v, (enum decide_verdict) i);
    }
    for (int i = 0; i < _DECIDE_SWITCHOVER_PHASE_MAX; i++) {
        CU_ASSERT_EQUAL(
                decide_switchover_phase_from_string(
                        decide_switchover_phase_to_string((enum decide_switchover_phase) i), &p),
                0);
        CU_ASSERT_EQUAL(p, (enum decide_switchover_phase) i);
    }
    CU_ASSERT_STRING_EQUAL(decide_verdict_to_string(DECIDE_VERDICT_FENCE_STALE_PRIMARY),
                           "fence-stale-primary");
    CU_ASSERT_EQUAL(decide_verdict_from_string("promote", &v), -EINVAL);
    CU_ASSERT_EQUAL(decide_switchover_phase_from_string(NULL, &p), -EINVAL);
}

/* ---- properties over generated inputs ------------------------------------------------ */

#define PROPERTY_RUNS  1000
#define PROPERTY_STEPS 80 /* a stuck switchover needs 60 s of 1 s steps to time out */

/* Knuth's MMIX LCG; the high bits are the good ones. */
static uint32_t lcg_next(uint64_t *state)
{
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t) (*state >> 33);
}

static uint32_t pick(uint64_t *rng, uint32_t n)
{
    return n ? lcg_next(rng) % n : 0;
}

static void gen_member(uint64_t *rng, struct decide_input *in, uint32_t i, int p, uint64_t base)
{
    static const enum proto_state primary_states[] = {
            PROTO_STATE_RUNNING, PROTO_STATE_RUNNING, PROTO_STATE_RUNNING,    PROTO_STATE_RUNNING,
            PROTO_STATE_FAILED,  PROTO_STATE_FAILED,  PROTO_STATE_RESTARTING, PROTO_STATE_FENCED};
    static const enum proto_state standby_states[] = {
            PROTO_STATE_RUNNING, PROTO_STATE_RUNNING, PROTO_STATE_RUNNING, PROTO_STATE_RUNNING,
            PROTO_STATE_RUNNING, PROTO_STATE_FAILED,  PROTO_STATE_STOPPED, PROTO_STATE_REBUILDING};
    struct decide_member *m = &in->members[i];

    m->reported = pick(rng, 10) != 0;
    m->last_seen_ms = NOW - (pick(rng, 5) == 0 ? 4000 + pick(rng, 4000) : pick(rng, 1000));
    m->restarts = pick(rng, 5);
    m->timeline = TIMELINE - (pick(rng, 8) == 0);
    m->epoch = in->epoch > 0 && pick(rng, 4) == 0 ? in->epoch - 1 : in->epoch;
    if (in->epoch > 0) {
        m->assigned = (int) i == p ? PROTO_ROLE_PRIMARY
                                   : (pick(rng, 10) == 0 ? PROTO_ROLE_UNKNOWN : PROTO_ROLE_STANDBY);
    }
    if ((int) i == p) {
        m->role = pick(rng, 8) ? PROTO_ROLE_PRIMARY : PROTO_ROLE_STANDBY;
        m->state = primary_states[pick(rng, 8)];
        m->timeline = TIMELINE;
        m->current_lsn = pick(rng, 20) ? base + pick(rng, 0x40000) : 0;
        return;
    }
    m->role = pick(rng, 15) ? PROTO_ROLE_STANDBY : PROTO_ROLE_PRIMARY;
    m->state = standby_states[pick(rng, 8)];
    m->received_lsn = pick(rng, 20) ? base - pick(rng, 0x180000) : 0;
    m->replayed_lsn = m->received_lsn > 4096 ? m->received_lsn - pick(rng, 4096) : 0;
    m->was_sync = pick(rng, 2) != 0;
}

static void gen_requests(uint64_t *rng, struct decide_input *in, int p, uint64_t base)
{
    uint32_t r = pick(rng, 16), t = pick(rng, in->n_members + 1);
    const char *target = t < in->n_members ? in->members[t].name : "";

    if (r == 0) {
        in->switchover.phase = DECIDE_SWITCHOVER_PHASE_REQUESTED;
    } else if (r < 3 && (int) t != p && t < in->n_members) {
        in->switchover.phase =
                r == 1 ? DECIDE_SWITCHOVER_PHASE_FENCING : DECIDE_SWITCHOVER_PHASE_CATCHUP;
        in->switchover.started_ms = NOW - pick(rng, 70000);
        in->switchover.fence_lsn = r == 2 ? base + pick(rng, 4096) : 0;
    }
    if (in->switchover.phase != DECIDE_SWITCHOVER_PHASE_NONE) {
        (void) snprintf(in->switchover.target, sizeof(in->switchover.target), "%s", target);
    }
    if (pick(rng, 12) == 0) {
        in->manual.requested = true;
        t = pick(rng, in->n_members + 1);
        (void) snprintf(in->manual.target, sizeof(in->manual.target), "%s",
                        t < in->n_members ? in->members[t].name : "");
    }
}

static bool alive(const struct decide_input *in, uint32_t i);

/* A random, mostly consistent input (R01/R02 inputs are rare on purpose). */
static void gen_input(uint64_t *rng, struct decide_input *in)
{
    uint32_t n = 1 + pick(rng, 5), shift = pick(rng, n);
    uint64_t base = 0x3000000ULL + pick(rng, 0x1000000);
    int p;

    site(in, n);
    in->policy.sync_replicas = pick(rng, 3);
    in->policy.max_lag_bytes = pick(rng, 3) == 0 ? 0 : (pick(rng, 2) ? MIB : 16 * MIB);
    in->policy.maintenance = pick(rng, 10) == 0;
    in->epoch = pick(rng, 6) ? 1 + pick(rng, 5) : 0;
    p = in->epoch > 0 && pick(rng, 12) ? (int) pick(rng, n) : -1;
    if (in->epoch > 0) {
        (void) snprintf(in->primary, sizeof(in->primary), "%s",
                        p >= 0 ? in->members[p].name : (pick(rng, 2) ? "demo-9" : ""));
    }
    for (uint32_t i = 0; i < n; i++) {
        in->members[i].order = (i + shift) % n;
        gen_member(rng, in, i, p, base);
    }
    in->primary_last_lsn = p >= 0 ? in->members[p].current_lsn : (pick(rng, 2) ? base : 0);
    for (uint32_t i = 0; i < n; i++) {
        /* Standbys mostly stream from a running primary, rarely from one that looks down. */
        bool up = p >= 0 && alive(in, (uint32_t) p) && in->members[p].state == PROTO_STATE_RUNNING;

        in->members[i].streaming = (int) i != p && (up ? pick(rng, 4) != 0 : pick(rng, 6) == 0);
    }
    for (uint32_t i = 0; i < n && in->epoch > 0 && in->policy.sync_replicas > 0; i++) {
        if ((int) i != p && pick(rng, 2)) {
            (void) snprintf(in->sync.names[in->sync.n_names++], sizeof(in->sync.names[0]), "%s",
                            in->members[i].name);
        }
    }
    in->sync.num = in->policy.sync_replicas < in->sync.n_names ? in->policy.sync_replicas
                                                               : in->sync.n_names;
    gen_requests(rng, in, p, base);
    if (pick(rng, 40) == 0) {
        /* Agents ahead of the store: adoption, sometimes of a primary, rarely of two. */
        uint32_t a = pick(rng, n), b = pick(rng, n);

        in->members[a].epoch = in->epoch + 1 + pick(rng, 3);
        in->members[a].role = pick(rng, 2) ? PROTO_ROLE_PRIMARY : in->members[a].role;
        if (pick(rng, 4) == 0) {
            in->members[b].epoch = in->members[a].epoch;
            in->members[b].role = PROTO_ROLE_PRIMARY;
        }
    }
}

static int find_index(const struct decide_input *in, const char *name)
{
    for (uint32_t i = 0; i < in->n_members; i++) {
        if (name[0] && strcmp(in->members[i].name, name) == 0) {
            return (int) i;
        }
    }
    return -1;
}

static bool alive(const struct decide_input *in, uint32_t i)
{
    return decide_is_alive(&in->members[i], in->now_ms, in->policy.lost_timeout_ms);
}

/* Possibly synchronous standbys (named, or sync at the last report) whose data is unknown. */
static uint32_t unaccounted(const struct decide_input *in, int old)
{
    uint32_t n = 0;

    for (uint32_t s = 0; s < in->sync.n_names; s++) {
        n += find_index(in, in->sync.names[s]) < 0;
    }
    for (uint32_t i = 0; i < in->n_members; i++) {
        const struct decide_member *m = &in->members[i];

        n += (int) i != old && (m->was_sync || syncnames_has(&in->sync, m->name)) &&
             (!alive(in, i) || m->received_lsn == 0 || m->timeline == 0);
    }
    return n;
}

/* An independent oracle for an automatic promotion (FAILOVER, R17). */
static bool failover_is_safe(const struct decide_input *in, const struct decide_result *ret)
{
    int t = find_index(in, ret->target), old = find_index(in, in->primary);
    const struct decide_member *c = t >= 0 ? &in->members[t] : NULL;
    uint64_t old_lsn = in->primary_last_lsn;

    if (!c || t == old || !alive(in, (uint32_t) t) || c->state != PROTO_STATE_RUNNING ||
        c->role != PROTO_ROLE_STANDBY || c->assigned != PROTO_ROLE_STANDBY ||
        c->received_lsn == 0) {
        return false;
    }
    if (old >= 0 && alive(in, (uint32_t) old) && in->members[old].state != PROTO_STATE_FAILED &&
        in->members[old].state != PROTO_STATE_RESTARTING) {
        return false; /* the old primary was not down */
    }
    for (uint32_t i = 0; i < in->n_members; i++) {
        const struct decide_member *m = &in->members[i];
        bool in_k = m->was_sync || syncnames_has(&in->sync, m->name);

        if ((int) i == old || !alive(in, i)) {
            continue;
        }
        if (m->timeline > c->timeline || (m->streaming && m->role == PROTO_ROLE_STANDBY &&
                                          (old < 0 || !alive(in, (uint32_t) old)))) {
            return false; /* newer timeline elsewhere, or the old primary still feeds someone */
        }
        if (in->policy.sync_replicas > 0 && in_k && m->timeline == c->timeline &&
            m->received_lsn > c->received_lsn) {
            return false; /* a possibly synchronous standby holds more */
        }
    }
    if (old >= 0 && in->members[old].timeline > c->timeline) {
        return false;
    }
    if (in->policy.sync_replicas > 0) {
        return c->was_sync && unaccounted(in, old) < (in->sync.num ? in->sync.num : 1);
    }
    if (old >= 0 && in->members[old].current_lsn > old_lsn) {
        old_lsn = in->members[old].current_lsn;
    }
    return old_lsn != 0 &&
           (c->received_lsn >= old_lsn || old_lsn - c->received_lsn <= in->policy.max_lag_bytes);
}

/* The highest epoch a reported member carries. */
static uint64_t agents_epoch(const struct decide_input *in)
{
    uint64_t e = 0;

    for (uint32_t i = 0; i < in->n_members; i++) {
        if (in->members[i].reported && in->members[i].epoch > e) {
            e = in->members[i].epoch;
        }
    }
    return e;
}

/* Invariants of one decision on its input. */
static bool result_is_sound(const struct decide_input *in, const struct decide_result *ret)
{
    int p = find_index(in, ret->primary);
    uint64_t agents = agents_epoch(in);
    bool ok = ret->rule_id && ret->rule_name && ret->reason[0] &&
              memchr(ret->reason, '\0', sizeof(ret->reason)) && ret->new_epoch >= in->epoch &&
              count_primaries(ret) <= 1 && ret->sync.num <= ret->sync.n_names;

    if (ret->verdict == DECIDE_VERDICT_ADOPT) {
        /* The agents' epoch, and its only claimant or no primary; never a fresh epoch. */
        ok = ok && (agents > in->epoch || (agents == in->epoch && in->primary[0] == '\0')) &&
             ret->new_epoch == agents &&
             (p < 0 ? ret->primary[0] == '\0'
                    : in->members[p].epoch == agents && in->members[p].role == PROTO_ROLE_PRIMARY);
    } else if (agents > in->epoch) {
        /* Two claimants (refused) or a late member awaited (wait): no orders either way. */
        ok = ok && (ret->verdict == DECIDE_VERDICT_REFUSE || ret->verdict == DECIDE_VERDICT_WAIT) &&
             ret->n_members == 0;
    } else {
        ok = ok && ret->new_epoch <= in->epoch + 1;
    }
    if (strcmp(ret->primary, in->primary) != 0 && ret->verdict != DECIDE_VERDICT_ADOPT) {
        ok = ok && ret->new_epoch == in->epoch + 1 && p >= 0;
    }
    for (uint32_t i = 0; i < ret->n_members; i++) {
        ok = ok && (ret->members[i].role == PROTO_ROLE_PRIMARY) == ((int) i == p);
    }
    for (uint32_t s = 0; s < ret->sync.n_names && ret->n_members; s++) {
        ok = ok && find_index(in, ret->sync.names[s]) >= 0 &&
             strcmp(ret->sync.names[s], ret->primary) != 0;
    }
    if (in->policy.maintenance) {
        ok = ok && ret->verdict != DECIDE_VERDICT_FAILOVER &&
             ret->verdict != DECIDE_VERDICT_BOOTSTRAP && ret->verdict != DECIDE_VERDICT_ASSIGN;
    }
    if (ret->verdict == DECIDE_VERDICT_FAILOVER) {
        ok = ok && failover_is_safe(in, ret);
    }
    if (ret->verdict == DECIDE_VERDICT_BOOTSTRAP) {
        ok = ok && p >= 0 && alive(in, (uint32_t) p) && in->members[p].state != PROTO_STATE_FAILED;
    }
    if (ret->verdict == DECIDE_VERDICT_SWITCHOVER_PROMOTE) {
        ok = ok && p >= 0 && alive(in, (uint32_t) p) &&
             in->members[p].replayed_lsn >= in->switchover.fence_lsn;
    }
    return ok;
}

/* The members obey ret, as far as their agents are alive; the arbiter stores ret. */
static void obey(const struct decide_input *in, const struct decide_result *ret,
                 struct decide_input *next)
{
    int p = find_index(in, ret->primary);
    const struct decide_member *pm;

    *next = *in;
    next->now_ms = in->now_ms + 1000;
    next->manual.requested = false;
    if (ret->n_members == 0) {
        return;
    }
    next->epoch = ret->new_epoch;
    memcpy(next->primary, ret->primary, sizeof(next->primary));
    next->sync = ret->sync;
    next->switchover = ret->switchover;
    for (uint32_t i = 0; i < in->n_members; i++) {
        struct decide_member *m = &next->members[i];
        const struct decide_desired *d = &ret->members[i];

        m->assigned = d->role;
        if (!alive(in, i)) {
            continue;
        }
        m->last_seen_ms = next->now_ms;
        m->epoch = ret->new_epoch;
        m->restarts = 0;
        if (d->state == PROTO_STATE_FENCED) {
            m->state = PROTO_STATE_FENCED;
            m->streaming = false;
        } else if (d->state == PROTO_STATE_RUNNING && (int) i == p) {
            if (m->role != PROTO_ROLE_PRIMARY) {
                m->timeline++;
                m->current_lsn =
                        m->received_lsn > m->current_lsn ? m->received_lsn : m->current_lsn;
            }
            m->current_lsn = (m->current_lsn ? m->current_lsn : LSN) + 0x100; /* writes go on */
            m->role = PROTO_ROLE_PRIMARY;
            m->state = PROTO_STATE_RUNNING;
        } else if (d->state == PROTO_STATE_RUNNING) {
            m->role = PROTO_ROLE_STANDBY;
            m->state = PROTO_STATE_RUNNING;
        }
    }
    pm = p >= 0 && alive(in, (uint32_t) p) ? &next->members[p] : NULL;
    for (uint32_t i = 0; i < in->n_members; i++) {
        struct decide_member *m = &next->members[i];

        if ((int) i == p || !alive(in, i) || ret->members[i].role != PROTO_ROLE_STANDBY ||
            m->state != PROTO_STATE_RUNNING) {
            continue;
        }
        m->streaming = pm && pm->role == PROTO_ROLE_PRIMARY && pm->state == PROTO_STATE_RUNNING;
        if (pm && pm->role == PROTO_ROLE_PRIMARY && pm->current_lsn) {
            m->timeline = pm->timeline;
            m->received_lsn = m->replayed_lsn = pm->current_lsn;
        }
    }
    for (uint32_t i = 0; i < in->n_members; i++) {
        next->members[i].was_sync =
                next->members[i].streaming && syncnames_has(&next->sync, next->members[i].name);
    }
    if (pm && pm->role == PROTO_ROLE_PRIMARY && pm->current_lsn) {
        next->primary_last_lsn = pm->current_lsn;
    }
}

static bool verdict_acts(enum decide_verdict v)
{
    return v != DECIDE_VERDICT_NONE && v != DECIDE_VERDICT_WAIT && v != DECIDE_VERDICT_REFUSE;
}

/* Decides, obeys, decides again...: bounded, epochs only grow, ends at a fixpoint. */
static bool converges(const struct decide_input *start, uint32_t *ret_none)
{
    static struct decide_input cur, next;
    static struct decide_result ret;
    bool acted = false;

    cur = *start;
    for (int step = 0; step < PROPERTY_STEPS; step++) {
        decide_failover(&cur, &ret);
        if (!result_is_sound(&cur, &ret)) {
            fprintf(stderr, "\nunsound at step %d: %s %s: %s\n", step, ret.rule_id,
                    decide_verdict_to_string(ret.verdict), ret.reason);
            return false;
        }
        acted = acted || verdict_acts(ret.verdict);
        if (!ret.changed && !verdict_acts(ret.verdict) && (step > 0 || !cur.manual.requested) &&
            (ret.switchover.phase == DECIDE_SWITCHOVER_PHASE_NONE || ret.n_members == 0)) {
            /* After an action, with an alive primary that obeyed, the site must be steady. */
            int p = find_index(&cur, cur.primary);

            *ret_none += ret.verdict == DECIDE_VERDICT_NONE;
            if (acted && p >= 0 && alive(&cur, (uint32_t) p) &&
                ret.verdict != DECIDE_VERDICT_NONE) {
                fprintf(stderr, "\nnot steady after step %d: %s %s: %s\n", step, ret.rule_id,
                        decide_verdict_to_string(ret.verdict), ret.reason);
                return false;
            }
            return true;
        }
        obey(&cur, &ret, &next);
        cur = next;
    }
    fprintf(stderr, "\nno fixpoint: %s %s: %s\n", ret.rule_id,
            decide_verdict_to_string(ret.verdict), ret.reason);
    return false;
}

static void test_decide_property_deterministic_and_sound(void)
{
    static struct decide_input in, copy;
    static struct decide_result a, b;
    uint64_t rng = 20240611;
    uint32_t seen[_DECIDE_VERDICT_MAX] = {0};
    uint32_t bad = 0;

    for (int run = 0; run < PROPERTY_RUNS; run++) {
        gen_input(&rng, &in);
        copy = in;
        decide_failover(&in, &a);
        decide_failover(&in, &b);
        bad += memcmp(&a, &b, sizeof(a)) != 0;
        bad += memcmp(&in, &copy, sizeof(in)) != 0; /* in is only read */
        bad += !result_is_sound(&in, &a);
        seen[a.verdict]++;
        if (getenv("DECIDE_DUMP")) {
            fprintf(stderr, "%s %s\n", a.rule_id, a.reason);
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
    /* The generator reaches the interesting verdicts, or the loop proves little. */
    CU_ASSERT_TRUE(seen[DECIDE_VERDICT_FAILOVER] > 10);
    CU_ASSERT_TRUE(seen[DECIDE_VERDICT_WAIT] > 10);
    CU_ASSERT_TRUE(seen[DECIDE_VERDICT_BOOTSTRAP] > 10);
    CU_ASSERT_TRUE(seen[DECIDE_VERDICT_FENCE_STALE_PRIMARY] > 0);
    CU_ASSERT_TRUE(seen[DECIDE_VERDICT_MANUAL_FAILOVER] > 0);
    CU_ASSERT_TRUE(seen[DECIDE_VERDICT_SWITCHOVER_FENCE] > 0);
    CU_ASSERT_TRUE(seen[DECIDE_VERDICT_ADOPT] > 0);
}

static void test_decide_property_applied_plan_converges(void)
{
    static struct decide_input in;
    uint64_t rng = 77;
    uint32_t bad = 0, none = 0;

    for (int run = 0; run < PROPERTY_RUNS; run++) {
        gen_input(&rng, &in);
        bad += !converges(&in, &none);
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_TRUE(none > PROPERTY_RUNS / 4);
}

/* A whole story: bootstrap, streaming, sync set, failover, rejoin, switchover back. */
static void test_decide_story(void)
{
    static struct decide_input in, next;
    static struct decide_result ret;
    enum decide_verdict want[] = {DECIDE_VERDICT_BOOTSTRAP, DECIDE_VERDICT_SET_SYNC,
                                  DECIDE_VERDICT_NONE};
    uint64_t epoch = 0;

    site(&in, 3);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        decide_failover(&in, &ret);
        CU_ASSERT_EQUAL(ret.verdict, want[i]);
        obey(&in, &ret, &next);
        in = next;
    }
    CU_ASSERT_STRING_EQUAL(in.primary, "demo-0");
    CU_ASSERT_EQUAL(in.sync.num, 1);
    CU_ASSERT_EQUAL(in.sync.n_names, 2);

    in.members[0].state = PROTO_STATE_FAILED;
    in.members[1].streaming = in.members[2].streaming = false;
    decide_failover(&in, &ret);
    CU_ASSERT_EQUAL(ret.verdict, DECIDE_VERDICT_FAILOVER);
    CU_ASSERT_STRING_EQUAL(ret.target, "demo-1");
    epoch = ret.new_epoch;
    for (int i = 0; i < 4 && ret.verdict != DECIDE_VERDICT_NONE; i++) {
        obey(&in, &ret, &next);
        in = next;
        decide_failover(&in, &ret);
        CU_ASSERT_TRUE(ret.new_epoch >= epoch);
    }
    CU_ASSERT_EQUAL(ret.verdict, DECIDE_VERDICT_NONE);
    CU_ASSERT_EQUAL(in.members[0].role, PROTO_ROLE_STANDBY);
    CU_ASSERT_TRUE(in.members[0].streaming);

    in.switchover.phase = DECIDE_SWITCHOVER_PHASE_REQUESTED;
    (void) snprintf(in.switchover.target, sizeof(in.switchover.target), "demo-0");
    for (int i = 0; i < 8 && !(ret.verdict == DECIDE_VERDICT_NONE && i > 0); i++) {
        decide_failover(&in, &ret);
        obey(&in, &ret, &next);
        in = next;
    }
    CU_ASSERT_STRING_EQUAL(in.primary, "demo-0");
    CU_ASSERT_EQUAL(in.epoch, epoch + 1);
    CU_ASSERT_EQUAL(ret.verdict, DECIDE_VERDICT_NONE);
}

int main(void)
{
    CU_TestInfo tests[] = {
            {"scenario table", test_decide_scenarios},
            {"bootstrap desired states", test_decide_bootstrap_desired},
            {"failover desired states", test_decide_failover_desired},
            {"switchover desired states", test_decide_switchover_desired},
            {"stale primary desired states", test_decide_stale_primary_desired},
            {"invalid input mirrored", test_decide_invalid_input_is_mirrored},
            {"syncnames compute", test_decide_syncnames_compute},
            {"syncnames format and equal", test_decide_syncnames_format_and_equal},
            {"rules table", test_decide_rules_table},
            {"candidate compare", test_decide_candidate_compare},
            {"alive", test_decide_alive},
            {"enum names", test_decide_enum_names},
            {"property: deterministic and sound", test_decide_property_deterministic_and_sound},
            {"property: applied plan converges", test_decide_property_applied_plan_converges},
            {"story", test_decide_story},
            CU_TEST_INFO_NULL,
    };
    return cu_run("decide", tests);
}
