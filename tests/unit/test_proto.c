/*
 * tests/unit/test_proto.c
 *
 * proto/report and proto/desired: the sample messages in tests/data/proto decode; full and
 * maximal messages survive encode -> decode unchanged; a table of malformed messages is
 * refused with the JSON path and the expectation; thousands of truncated and mutated
 * messages decode to 0 or -EINVAL and never crash (run under ASan in CI).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/mem.h"
#include "common/str.h"
#include "proto/desired.h"
#include "proto/report.h"
#include "tests/support/cu_main.h"

#define DATA_MAX      ((size_t) 1024 * 1024)
#define REST_BODY_MAX ((size_t) 1024 * 1024) /* STYLE.md: REST request body cap */

enum kind { REPORT, DESIRED };

/* ---- helpers ---- */

/* Reads tests/data/proto/<name> into an exact-size heap buffer (no terminator); NULL on error. */
static char *read_data(const char *name, size_t *ret_len)
{
    char *path = xasprintf("%s/proto/%s", OG_TEST_DATA_DIR, name);
    char *buf = xmalloc(DATA_MAX);
    FILE *f = fopen(path, "re");
    size_t n = 0;

    if (f) {
        n = fread(buf, 1, DATA_MAX, f);
        (void) fclose(f);
    }
    free(path);
    if (!f || n == 0 || n == DATA_MAX) {
        free(buf);
        return NULL;
    }
    *ret_len = n;
    return xrealloc(buf, n);
}

/*
 * Byte equality of two decoded messages. Valid here because every struct comes zeroed from
 * xcalloc or *_init and decoding copies a zeroed struct whole, padding included.
 */
static bool same_bytes(const void *a, const void *b, size_t size)
{
    return memcmp(a, b, size) == 0;
}

/* Decodes text[0..len) as kind from an exact-size copy (ASan sees any overread). */
static int decode(enum kind kind, const char *text, size_t len, struct errbuf *eb)
{
    char *copy = xmalloc(len);
    int r;

    memcpy(copy, text, len); /* NOLINT(bugprone-not-null-terminated-result): on purpose */
    if (kind == REPORT) {
        struct proto_report *r_out = xcalloc(1, sizeof(*r_out));
        r = proto_report_decode(copy, len, r_out, eb);
        free(r_out);
    } else {
        struct proto_desired *d_out = xcalloc(1, sizeof(*d_out));
        r = proto_desired_decode(copy, len, d_out, eb);
        free(d_out);
    }
    free(copy);
    return r;
}

/* Writes a DNS label of exactly len bytes starting with prefix and the number i. */
static void make_label(char *buf, size_t len, const char *prefix, unsigned i)
{
    int n = snprintf(buf, len + 1, "%s%u-", prefix, i);

    for (size_t k = (size_t) n; k < len; k++) {
        buf[k] = (char) ('a' + (k % 26));
    }
    buf[len] = '\0';
}

/* Free text of exactly len bytes mixing ASCII punctuation, quotes and 2-byte UTF-8. */
static void make_text(char *buf, size_t len, unsigned seed)
{
    static const char pieces[] = "\"\\ /{}[]:,;'`$%&*<>?~é";
    size_t k = 0;

    while (k < len) {
        char c = pieces[(k + seed) % (sizeof(pieces) - 1)];
        if ((unsigned char) c >= 0x80) {
            if (k + 2 > len) {
                buf[k++] = 'x';
                continue;
            }
            memcpy(buf + k, "\xc3\xa9", 2);
            k += 2;
            continue;
        }
        buf[k++] = c;
    }
    buf[len] = '\0';
}

/* A small valid report with two instances, as in tests/data/proto/report.json. */
static void base_report(struct proto_report *r)
{
    struct proto_instance_report *a = &r->instances[0];
    struct proto_instance_report *b = &r->instances[1];

    proto_report_init(r);
    (void) str_copy(r->node, sizeof(r->node), "node1");
    (void) str_copy(r->agent_id, sizeof(r->agent_id), "a1b2c3");
    r->seq = 42;
    r->known_generation = 17;
    r->n_instances = 2;
    (void) str_copy(a->namespace_, sizeof(a->namespace_), "default");
    (void) str_copy(a->cluster, sizeof(a->cluster), "demo");
    (void) str_copy(a->member, sizeof(a->member), "demo-0");
    a->epoch = 3;
    a->state = PROTO_STATE_RUNNING;
    a->role = PROTO_ROLE_PRIMARY;
    a->pid = 1234;
    a->timeline = 1;
    a->system_id = 7301234567890123456ULL;
    a->current_lsn = 0x3000060;
    a->restarts = 1;
    a->disk_free_bytes = 123456789;
    (void) str_copy(a->sync_standby_names, sizeof(a->sync_standby_names),
                    "ANY 1 (\"demo-1\",\"demo-2\")");
    a->n_replicas = 2;
    for (unsigned i = 0; i < 2; i++) {
        struct proto_replica *p = &a->replicas[i];
        (void) snprintf(p->name, sizeof(p->name), "demo-%u", i + 1);
        p->state = PROTO_REPL_STATE_STREAMING;
        p->sync = PROTO_SYNC_STATE_QUORUM;
        p->sent_lsn = p->flush_lsn = p->replay_lsn = 0x3000060;
    }
    (void) str_copy(b->namespace_, sizeof(b->namespace_), "prod");
    (void) str_copy(b->cluster, sizeof(b->cluster), "bank");
    (void) str_copy(b->member, sizeof(b->member), "bank-1");
    b->epoch = 7;
    b->state = PROTO_STATE_CREATING;
    b->role = PROTO_ROLE_UNKNOWN;
    b->maintenance = true;
}

/* A small valid desired state: a primary with a sync set and an idle-free standby. */
static void base_desired(struct proto_desired *d)
{
    struct proto_instance_desired *a = &d->instances[0];
    struct proto_instance_desired *b = &d->instances[1];

    proto_desired_init(d);
    (void) str_copy(d->node, sizeof(d->node), "node1");
    d->generation = 18;
    d->heartbeat_ms = 1000;
    d->n_instances = 2;
    (void) str_copy(a->namespace_, sizeof(a->namespace_), "default");
    (void) str_copy(a->cluster, sizeof(a->cluster), "demo");
    (void) str_copy(a->member, sizeof(a->member), "demo-0");
    a->epoch = 3;
    a->role = PROTO_ROLE_PRIMARY;
    a->state = PROTO_STATE_RUNNING;
    (void) str_copy(a->ip, sizeof(a->ip), "127.0.0.1");
    a->port = 5432;
    a->sync.num = 1;
    a->sync.n_names = 2;
    (void) str_copy(a->sync.names[0], sizeof(a->sync.names[0]), "demo-1");
    (void) str_copy(a->sync.names[1], sizeof(a->sync.names[1]), "demo-2");
    a->storage_bytes = 3221225472ULL;
    a->restart_limit = 3;
    a->restart_window_ms = 60000;
    a->lost_timeout_ms = 5000;
    (void) str_copy(a->auth_user, sizeof(a->auth_user), "postgres");
    (void) str_copy(a->auth_password, sizeof(a->auth_password), "s3cret");
    a->n_config = 2;
    (void) str_copy(a->config[0].key, sizeof(a->config[0].key), "max_connections");
    (void) str_copy(a->config[0].value, sizeof(a->config[0].value), "200");
    (void) str_copy(a->config[1].key, sizeof(a->config[1].key), "work_mem");
    (void) str_copy(a->config[1].value, sizeof(a->config[1].value), "4MB");
    /* Instance a names its peers; b, as from an older arbiter, does not. */
    a->has_peers = true;
    a->n_peers = 2;
    (void) str_copy(a->peers[0].name, sizeof(a->peers[0].name), "demo-1");
    (void) str_copy(a->peers[0].ip, sizeof(a->peers[0].ip), "127.0.0.2");
    a->peers[0].port = 5432;
    (void) str_copy(a->peers[1].name, sizeof(a->peers[1].name), "demo-2");
    (void) str_copy(a->peers[1].ip, sizeof(a->peers[1].ip), "fd00::3");
    a->peers[1].port = 5433;
    (void) str_copy(b->namespace_, sizeof(b->namespace_), "prod");
    (void) str_copy(b->cluster, sizeof(b->cluster), "bank");
    (void) str_copy(b->member, sizeof(b->member), "bank-1");
    b->epoch = 7;
    b->role = PROTO_ROLE_STANDBY;
    b->state = PROTO_STATE_RUNNING;
    (void) str_copy(b->ip, sizeof(b->ip), "fd00::12");
    b->port = 26000;
    b->has_upstream = true;
    (void) str_copy(b->upstream.member, sizeof(b->upstream.member), "bank-0");
    (void) str_copy(b->upstream.host, sizeof(b->upstream.host), "fd00::11");
    b->upstream.port = 26000;
    b->restart_limit = 3;
    b->restart_window_ms = 60000;
    b->lost_timeout_ms = 5000;
    (void) str_copy(b->auth_user, sizeof(b->auth_user), "gaussdb");
    (void) str_copy(b->auth_password, sizeof(b->auth_password), "p\"w\\d");
}

/* The encoded base message of kind (caller frees). */
static char *base_text(enum kind kind)
{
    char *text;

    if (kind == REPORT) {
        struct proto_report *r = xcalloc(1, sizeof(*r));
        base_report(r);
        text = proto_report_encode(r);
        free(r);
    } else {
        struct proto_desired *d = xcalloc(1, sizeof(*d));
        base_desired(d);
        text = proto_desired_encode(d);
        free(d);
    }
    return text;
}

/* text with the first occurrence of find replaced (caller frees), or NULL when absent. */
static char *replace_first(const char *text, const char *find, const char *with)
{
    const char *at = strstr(text, find);

    if (!at) {
        return NULL;
    }
    return xasprintf("%.*s%s%s", (int) (at - text), text, with, at + strlen(find));
}

/* ---- samples ---- */

static void test_proto_samples_decode(void)
{
    struct proto_report *r = xcalloc(1, sizeof(*r));
    struct proto_desired *d = xcalloc(1, sizeof(*d));
    struct errbuf eb = {{0}};
    size_t len = 0;
    char *text;

    text = read_data("report.json", &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_EQUAL(proto_report_decode(text, len, r, &eb), 0);
    CU_ASSERT_STRING_EQUAL(eb.msg, "");
    CU_ASSERT_EQUAL(r->n_instances, 2);
    CU_ASSERT_EQUAL(r->instances[0].system_id, 7301234567890123456ULL);
    CU_ASSERT_EQUAL(r->instances[0].replicas[1].flush_lsn, 0x2FFFF00);
    CU_ASSERT_EQUAL(r->instances[0].replicas[1].sync, PROTO_SYNC_STATE_POTENTIAL);
    CU_ASSERT_STRING_EQUAL(r->instances[0].sync_standby_names, "ANY 1 (\"demo-1\",\"demo-2\")");
    CU_ASSERT_EQUAL(r->instances[1].role, PROTO_ROLE_UNKNOWN);
    CU_ASSERT_EQUAL(r->instances[1].disk_free_bytes, JSON_INT_MAX);
    CU_ASSERT_EQUAL(r->instances[1].n_replicas, 0);
    CU_ASSERT_STRING_EQUAL(r->instances[1].upstream, "");
    free(text);

    text = read_data("desired.json", &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_EQUAL(proto_desired_decode(text, len, d, &eb), 0);
    CU_ASSERT_STRING_EQUAL(eb.msg, "");
    CU_ASSERT_EQUAL(d->n_instances, 2);
    CU_ASSERT_FALSE(d->instances[0].has_upstream);
    CU_ASSERT_EQUAL(d->instances[0].sync.num, 1);
    CU_ASSERT_STRING_EQUAL(d->instances[0].sync.names[1], "demo-2");
    CU_ASSERT_EQUAL(d->instances[0].n_config, 2);
    CU_ASSERT_STRING_EQUAL(d->instances[0].config[1].key, "work_mem");
    CU_ASSERT_STRING_EQUAL(d->instances[0].config[1].value, "4MB");
    CU_ASSERT_TRUE(d->instances[1].has_upstream);
    CU_ASSERT_STRING_EQUAL(d->instances[1].upstream.host, "fd00::11");
    CU_ASSERT_EQUAL(d->instances[1].sync.num, 0); /* absent: asynchronous */
    CU_ASSERT_EQUAL(d->instances[1].n_config, 0);
    CU_ASSERT_STRING_EQUAL(d->instances[1].auth_password, "p\"w\\d \xc3\xbc");
    CU_ASSERT_EQUAL(d->instances[1].storage_bytes, 10737418240ULL);
    free(text);
    free(r);
    free(d);
}

/* ---- round trips ---- */

/* Every field set, every array full, every string at its longest. */
static void max_report(struct proto_report *r)
{
    proto_report_init(r);
    make_label(r->node, 63, "n", 0);
    r->node[63] = '.';
    make_label(r->node + 64, 63, "n", 1);
    r->node[127] = '.';
    make_label(r->node + 128, 63, "n", 2);
    r->node[191] = '.';
    make_label(r->node + 192, 61, "n", 3);
    CU_ASSERT_EQUAL(strlen(r->node), PROTO_NODE_MAX);
    (void) str_copy(r->agent_id, sizeof(r->agent_id),
                    "Agent.Run_ID-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN");
    CU_ASSERT_EQUAL(strlen(r->agent_id), PROTO_ID_MAX);
    r->seq = JSON_INT_MAX;
    r->known_generation = JSON_INT_MAX - 1;
    r->wait_ms = PROTO_WAIT_MAX_MS;
    r->n_instances = PROTO_MAX_INSTANCES;
    for (unsigned i = 0; i < PROTO_MAX_INSTANCES; i++) {
        struct proto_instance_report *in = &r->instances[i];
        make_label(in->namespace_, PROTO_NAME_MAX, "ns", i);
        make_label(in->cluster, PROTO_NAME_MAX, "cl", i);
        make_label(in->member, PROTO_NAME_MAX, "m", i);
        in->epoch = JSON_INT_MAX - i;
        in->state = (enum proto_state)(1 + i % (PROTO_STATE_LOST - 1));
        in->role = (enum proto_role)(i % _PROTO_ROLE_MAX);
        in->pid = INT32_MAX - (int32_t) i;
        in->timeline = UINT32_MAX - i;
        in->system_id = UINT64_MAX - i;
        in->current_lsn = UINT64_MAX - i;
        in->received_lsn = 0xFFFFFFFFULL << 32;
        in->replayed_lsn = 0xFFFFFFFFULL + i;
        make_label(in->upstream, PROTO_NAME_MAX, "up", i);
        in->restarts = UINT32_MAX;
        make_text(in->last_error, PROTO_ERROR_MAX, i);
        in->disk_free_bytes = JSON_INT_MAX;
        in->maintenance = i % 2;
        make_text(in->sync_standby_names, PROTO_SSN_MAX, i + 7);
        in->n_replicas = PROTO_MAX_REPLICAS;
        for (unsigned k = 0; k < PROTO_MAX_REPLICAS; k++) {
            struct proto_replica *p = &in->replicas[k];
            make_label(p->name, PROTO_NAME_MAX, "r", k);
            p->state = (enum proto_repl_state)(1 + k % (_PROTO_REPL_STATE_MAX - 1));
            p->sync = (enum proto_sync_state)(1 + k % (_PROTO_SYNC_STATE_MAX - 1));
            p->sent_lsn = UINT64_MAX - k;
            p->flush_lsn = k;
            p->replay_lsn = (uint64_t) k << 32;
        }
    }
}

static void max_desired(struct proto_desired *d)
{
    static const char *ips[] = {"ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", "10.0.0.1", "::1",
                                "2001:db8::8a2e:370:7334"};

    proto_desired_init(d);
    make_label(d->node, 63, "node", 0);
    d->generation = JSON_INT_MAX;
    d->heartbeat_ms = PROTO_HEARTBEAT_MAX_MS;
    d->n_instances = PROTO_MAX_INSTANCES;
    for (unsigned i = 0; i < PROTO_MAX_INSTANCES; i++) {
        struct proto_instance_desired *in = &d->instances[i];
        make_label(in->namespace_, PROTO_NAME_MAX, "ns", i);
        make_label(in->cluster, PROTO_NAME_MAX, "cl", i);
        make_label(in->member, PROTO_NAME_MAX, "m", i);
        in->epoch = JSON_INT_MAX - i;
        in->role = (enum proto_role)(1 + i % 3);
        in->state = i % 3 == 0 ? PROTO_STATE_RUNNING
                               : (i % 3 == 1 ? PROTO_STATE_STOPPED : PROTO_STATE_FENCED);
        (void) str_copy(in->ip, sizeof(in->ip), ips[i % 4]);
        in->port = 65535 - i;
        in->has_upstream = in->role != PROTO_ROLE_PRIMARY;
        if (in->has_upstream) {
            make_label(in->upstream.member, PROTO_NAME_MAX, "up", i);
            (void) str_copy(in->upstream.host, sizeof(in->upstream.host), ips[(i + 1) % 4]);
            in->upstream.port = 1 + i;
            in->rebuild = i % 2;
        }
        in->sync.n_names = PROTO_MAX_SYNC;
        in->sync.num = PROTO_MAX_SYNC - i % 4;
        for (unsigned k = 0; k < PROTO_MAX_SYNC; k++) {
            make_label(in->sync.names[k], PROTO_NAME_MAX, "s", k);
        }
        in->storage_bytes = JSON_INT_MAX;
        in->maintenance = i % 2;
        in->restart_limit = UINT32_MAX;
        in->restart_window_ms = JSON_INT_MAX;
        in->lost_timeout_ms = 1;
        make_text(in->auth_user, PROTO_SECRET_MAX, i);
        make_text(in->auth_password, PROTO_SECRET_MAX, i + 3);
        in->has_peers = true;
        in->n_peers = PROTO_MAX_PEERS;
        for (unsigned k = 0; k < PROTO_MAX_PEERS; k++) {
            make_label(in->peers[k].name, PROTO_NAME_MAX, "p", k);
            (void) str_copy(in->peers[k].ip, sizeof(in->peers[k].ip), ips[k % 4]);
            in->peers[k].port = 65535 - k;
        }
        in->n_config = PROTO_MAX_CONFIG;
        for (unsigned k = 0; k < PROTO_MAX_CONFIG; k++) {
            (void) snprintf(in->config[k].key, sizeof(in->config[k].key), "_set.ting_%u_", k);
            memset(in->config[k].key + strlen(in->config[k].key), 'z',
                   PROTO_KEY_MAX - strlen(in->config[k].key));
            make_text(in->config[k].value, PROTO_VALUE_MAX, k);
        }
    }
}

static void test_proto_report_round_trip(void)
{
    struct proto_report *a = xcalloc(1, sizeof(*a));
    struct proto_report *b = xcalloc(1, sizeof(*b));
    struct errbuf eb = {{0}};
    char *text;

    max_report(a);
    CU_ASSERT_EQUAL(proto_report_validate(a, &eb), 0);
    CU_ASSERT_STRING_EQUAL(eb.msg, "");
    text = proto_report_encode(a);
    CU_ASSERT_TRUE(strlen(text) < REST_BODY_MAX); /* the largest report fits the body cap */
    CU_ASSERT_EQUAL(proto_report_decode(text, strlen(text), b, &eb), 0);
    CU_ASSERT_STRING_EQUAL(eb.msg, "");
    CU_ASSERT_TRUE(same_bytes(a, b, sizeof(*a)));
    free(text);

    /* The small one too, and an empty report (a node with no instances). */
    memset(a, 0, sizeof(*a));
    memset(b, 0, sizeof(*b));
    base_report(a);
    text = proto_report_encode(a);
    CU_ASSERT_EQUAL(proto_report_decode(text, strlen(text), b, &eb), 0);
    CU_ASSERT_TRUE(same_bytes(a, b, sizeof(*a)));
    free(text);
    a->n_instances = 0;
    memset(a->instances, 0, sizeof(a->instances));
    text = proto_report_encode(a);
    CU_ASSERT_EQUAL(proto_report_decode(text, strlen(text), b, &eb), 0);
    CU_ASSERT_TRUE(same_bytes(a, b, sizeof(*a)));
    free(text);
    free(a);
    free(b);
}

static void test_proto_desired_round_trip(void)
{
    struct proto_desired *a = xcalloc(1, sizeof(*a));
    struct proto_desired *b = xcalloc(1, sizeof(*b));
    struct errbuf eb = {{0}};
    cJSON *j;
    char *text;

    max_desired(a);
    CU_ASSERT_EQUAL(proto_desired_validate(a, &eb), 0);
    CU_ASSERT_STRING_EQUAL(eb.msg, "");
    text = proto_desired_encode(a);
    CU_ASSERT_EQUAL(proto_desired_decode(text, strlen(text), b, &eb), 0);
    CU_ASSERT_STRING_EQUAL(eb.msg, "");
    CU_ASSERT_TRUE(same_bytes(a, b, sizeof(*a)));
    free(text);

    memset(a, 0, sizeof(*a));
    memset(b, 0, sizeof(*b));
    base_desired(a);
    text = proto_desired_encode(a);
    CU_ASSERT_EQUAL(proto_desired_decode(text, strlen(text), b, &eb), 0);
    CU_ASSERT_TRUE(same_bytes(a, b, sizeof(*a)));
    /* to_json is the same document, for embedding. */
    j = proto_desired_to_json(a);
    CU_ASSERT_TRUE(cJSON_IsObject(j));
    free(text);
    text = json_print(j);
    CU_ASSERT_EQUAL(proto_desired_decode(text, strlen(text), b, &eb), 0);
    CU_ASSERT_TRUE(same_bytes(a, b, sizeof(*a)));
    cJSON_Delete(j);
    free(text);
    free(a);
    free(b);
}

static void test_proto_report_encode_sanitizes_free_text(void)
{
    struct proto_report *a = xcalloc(1, sizeof(*a));
    struct proto_report *b = xcalloc(1, sizeof(*b));
    struct errbuf eb = {{0}};
    char *text;

    base_report(a);
    (void) str_copy(a->instances[1].last_error, sizeof(a->instances[1].last_error),
                    "FATAL:  data\ndirectory \xff gone\t");
    CU_ASSERT_EQUAL(proto_report_validate(a, &eb), -EINVAL);
    CU_ASSERT_TRUE(strstr(eb.msg, "instances[1].last_error: expected printable UTF-8 text") !=
                   NULL);
    text = proto_report_encode(a);
    CU_ASSERT_EQUAL(proto_report_decode(text, strlen(text), b, &eb), 0);
    CU_ASSERT_STRING_EQUAL(b->instances[1].last_error, "FATAL:  data?directory ? gone?");
    free(text);
    free(a);
    free(b);
}

/* ---- malformed messages ---- */

/* The first occurrence of find in the encoded base message is replaced by with. */
struct bad_case {
    enum kind kind;
    const char *find;
    const char *with;
    const char *error; /* expected substring of the error, or NULL when it must decode */
};

static const struct bad_case bad_cases[] = {
        /* report: top level */
        {REPORT, "\"version\":1", "\"version\":2", "version: expected 1, got 2"},
        {REPORT, "\"version\":1,", "", "version: missing"},
        {REPORT, "\"version\":1", "\"version\":\"1\"", "version: expected integer in"},
        {REPORT, "\"node\":\"node1\"", "\"node\":\"Node_1\"",
         "node: expected DNS-1123 subdomain, got \"Node_1\""},
        {REPORT, "\"node\":\"node1\"", "\"node\":7", "node: expected string, got number"},
        {REPORT, "\"agent_id\":\"a1b2c3\"", "\"agent_id\":\"a b\"",
         "agent_id: expected 1-63 of [A-Za-z0-9._-], got \"a b\""},
        {REPORT, "\"wait_ms\":0", "\"wait_ms\":60001",
         "wait_ms: expected integer in 0..60000, got 60001"},
        {REPORT, "\"wait_ms\":0,", "", NULL}, /* optional */
        {REPORT, "\"seq\":42", "\"seq\":-1",
         "seq: expected integer in 0..9007199254740991, got -1"},
        {REPORT, "\"seq\":42", "\"seq\":9007199254740993",
         "seq: expected integer in 0..9007199254740991, got 900719925474099"},
        {REPORT, "\"instances\":[", "\"instancez\":[", "instances: missing"},
        {REPORT, "\"instances\":[", "\"instances\":\"x\",\"y\":[",
         "instances: expected array, got string"},
        {REPORT, "\"instances\":[", "\"instances\":[7,",
         "instances[0]: expected object, got number"},
        {REPORT, "{\"version\":1", "{\"future\":{\"x\":[1,{\"y\":null}]},\"version\":1", NULL},
        /* report: instances */
        {REPORT, "\"member\":\"demo-0\"", "\"member\":\"../etc\"",
         "instances[0].member: expected DNS-1123 label, got \"../etc\""},
        {REPORT, "\"cluster\":\"demo\"", "\"cluster\":\"demo;rm -rf /\"",
         "instances[0].cluster: expected DNS-1123 label, got \"demo;rm -rf /\""},
        {REPORT, "\"namespace\":\"default\"", "\"namespace\":\"\"",
         "instances[0].namespace: expected DNS-1123 label, got \"\""},
        {REPORT, "\"member\":\"demo-0\"", "\"member\":\"demo\\u0000x\"", "\\u0000 in a string"},
        {REPORT, "\"state\":\"running\"", "\"state\":\"sleeping\"",
         "instances[0].state: expected one of creating|running|"},
        {REPORT, "\"state\":\"running\"", "\"state\":\"lost\"",
         "instances[0].state: \"lost\" is the arbiter's verdict"},
        {REPORT, "\"role\":\"primary\"", "\"role\":\"boss\"",
         "instances[0].role: expected one of unknown|primary|standby|leader, got \"boss\""},
        {REPORT, "\"pid\":1234", "\"pid\":-1",
         "instances[0].pid: expected integer in 0..2147483647, got -1"},
        {REPORT, "\"pid\":1234", "\"pid\":12.5",
         "instances[0].pid: expected integer in 0..2147483647, got 12.5"},
        {REPORT, "\"epoch\":3", "\"epoch\":null", "instances[0].epoch: missing"},
        {REPORT, "\"system_id\":\"7301234567890123456\"", "\"system_id\":7301234567890123456",
         "instances[0].system_id: expected unsigned 64-bit integer as decimal text, got number"},
        {REPORT, "\"received\":\"0/0\"", "\"received\":\"0/0/0\"",
         "instances[0].lsn.received: expected LSN text \"X/Y\", got \"0/0/0\""},
        {REPORT, "\"lsn\":{\"current\":\"0/3000060\",\"received\":\"0/0\",\"replayed\":\"0/0\"}",
         "\"lsn\":\"0/0\"", "instances[0].lsn: expected object, got string"},
        {REPORT, "\"upstream\":\"\"", "\"upstream\":\"a/b\"",
         "instances[0].upstream: expected \"\" or a DNS-1123 label, got \"a/b\""},
        {REPORT, "\"last_error\":\"\"", "\"last_error\":\"a\\u0007b\"",
         "instances[0].last_error: expected printable UTF-8 text, got \"a?b\""},
        {REPORT, "\"last_error\":\"\"", "\"last_error\":\"a\nb\"", "control character"},
        {REPORT, "\"maintenance\":false", "\"maintenance\":\"false\"",
         "instances[0].maintenance: expected boolean, got string"},
        {REPORT, "\"state\":\"streaming\"", "\"state\":\"flying\"",
         "instances[0].replication[0].state: expected one of startup|catchup|streaming|backup|"
         "stopping, got \"flying\""},
        {REPORT, "\"sync\":\"quorum\"", "\"sync\":\"maybe\"",
         "instances[0].replication[0].sync: expected one of async|potential|sync|quorum"},
        {REPORT, "\"name\":\"demo-2\"", "\"name\":\"demo-1\"",
         "instances[0].replication[1].name: duplicate of replication[0]"},
        {REPORT, "\"name\":\"demo-1\"", "\"name\":\"demo;1\"",
         "instances[0].replication[0].name: expected DNS-1123 label"},
        {REPORT, "\"replication\":[", "\"replication\":{}, \"x\":[",
         "instances[0].replication: expected array, got object"},
        {REPORT, "\"namespace\":\"prod\",\"cluster\":\"bank\",\"member\":\"bank-1\"",
         "\"namespace\":\"default\",\"cluster\":\"demo\",\"member\":\"demo-0\"",
         "instances[1].member: duplicate of instances[0]"},
        /* desired: top level */
        {DESIRED, "\"version\":1", "\"version\":2", "version: expected 1, got 2"},
        {DESIRED, "\"node\":\"node1\"", "\"node\":\"-node\"", "node: expected DNS-1123 subdomain"},
        {DESIRED, "\"heartbeat_ms\":1000", "\"heartbeat_ms\":\"1000\"",
         "heartbeat_ms: expected integer in 10..600000, got string"},
        {DESIRED, "\"generation\":18", "\"generation\":1.5",
         "generation: expected integer in 0..9007199254740991, got 1.5"},
        {DESIRED, "{\"version\":1", "{\"later\":[[[\"x\"]]],\"version\":1", NULL},
        /* desired: instances */
        {DESIRED, "\"port\":5432", "\"port\":0",
         "instances[0].port: expected integer in 1..65535, got 0"},
        {DESIRED, "\"port\":5432", "\"port\":70000",
         "instances[0].port: expected integer in 1..65535, got 70000"},
        {DESIRED, "\"ip\":\"127.0.0.1\"", "\"ip\":\"127.0.0.256\"",
         "instances[0].ip: expected IPv4 or IPv6 address, got \"127.0.0.256\""},
        {DESIRED, "\"ip\":\"127.0.0.1\"", "\"ip\":\"localhost\"",
         "instances[0].ip: expected IPv4 or IPv6 address"},
        {DESIRED, "\"ip\":\"127.0.0.1\"", "\"ip\":\"127.0.0.1/8\"",
         "instances[0].ip: expected IPv4 or IPv6 address"},
        {DESIRED, "\"ip\":\"127.0.0.1\"", "\"ip\":\"fe80::1%eth0\"",
         "instances[0].ip: expected IPv4 or IPv6 address"},
        {DESIRED, "\"member\":\"demo-0\"", "\"member\":\"../../etc\"",
         "instances[0].member: expected DNS-1123 label, got \"../../etc\""},
        {DESIRED, "\"namespace\":\"default\"", "\"namespace\":\"a;b\"",
         "instances[0].namespace: expected DNS-1123 label, got \"a;b\""},
        {DESIRED, "\"role\":\"primary\"", "\"role\":\"unknown\"",
         "instances[0].role: expected one of primary|standby|leader, got \"unknown\""},
        {DESIRED, "\"state\":\"running\"", "\"state\":\"failed\"",
         "instances[0].state: expected running|stopped|fenced, got \"failed\""},
        {DESIRED, "\"state\":\"running\"", "\"state\":\"napping\"",
         "instances[0].state: expected one of creating|"},
        {DESIRED, "\"upstream\":null",
         "\"upstream\":{\"member\":\"demo-1\",\"host\":\"127.0.0.2\",\"port\":5432}",
         "instances[0].upstream: expected null for a primary"},
        {DESIRED, "\"upstream\":null,", "", NULL}, /* absent is none too */
        {DESIRED, "\"upstream\":null", "\"upstream\":\"demo-1\"",
         "instances[0].upstream: expected object, got string"},
        {DESIRED, "\"host\":\"fd00::11\"", "\"host\":\"fd00::zz\"",
         "instances[1].upstream.host: expected IPv4 or IPv6 address, got \"fd00::zz\""},
        {DESIRED, "\"port\":26000}", "\"port\":0}",
         "instances[1].upstream.port: expected integer in 1..65535, got 0"},
        {DESIRED, "\"member\":\"bank-0\"", "\"member\":\"bank-1\"",
         "instances[1].upstream.member: an instance cannot follow itself"},
        {DESIRED, "\"member\":\"bank-0\"", "\"member\":\"bank;0\"",
         "instances[1].upstream.member: expected DNS-1123 label"},
        {DESIRED, "\"upstream\":{\"member\":\"bank-0\",\"host\":\"fd00::11\",\"port\":26000}",
         "\"upstream\":null", NULL}, /* an idle standby, waiting for orders */
        {DESIRED, "\"rebuild\":false", "\"rebuild\":true",
         "instances[0].rebuild: needs an upstream to rebuild from"},
        {DESIRED, "\"names\":[\"demo-1\",\"demo-2\"]", "\"names\":[\"demo-1\",\"demo-0\"]",
         "instances[0].sync.names[1]: names the member itself"},
        {DESIRED, "\"names\":[\"demo-1\",\"demo-2\"]", "\"names\":[\"demo-1\",\"demo-1\"]",
         "instances[0].sync.names[1]: duplicate of names[0]"},
        {DESIRED, "\"names\":[\"demo-1\",\"demo-2\"]", "\"names\":[\"demo-1\",\"Demo_2\"]",
         "instances[0].sync.names[1]: expected DNS-1123 label, got \"Demo_2\""},
        {DESIRED, "\"names\":[\"demo-1\",", "\"names\":[1,",
         "instances[0].sync.names[0]: expected string, got number"},
        {DESIRED, "\"num\":1", "\"num\":3",
         "instances[0].sync.num: expected at most 2 (the number of names), got 3"},
        {DESIRED, "\"num\":1", "\"num\":33", "instances[0].sync.num: expected integer in 0..32"},
        {DESIRED, "\"work_mem\":", "\"Work-Mem\":",
         "instances[0].config.Work-Mem: expected setting name [a-z_][a-z0-9_.]*"},
        {DESIRED, "\"4MB\"", "\"4MB\\nx\"",
         "instances[0].config.work_mem: expected printable UTF-8 text without control "
         "characters, got \"4MB?x\""},
        {DESIRED, "\"4MB\"", "4", "instances[0].config.work_mem: expected string, got number"},
        {DESIRED, "\"work_mem\":\"4MB\"", "\"work_mem\":\"4MB\",\"work_mem\":\"8MB\"",
         "instances[0].config.work_mem: set twice"},
        {DESIRED, "\"config\":{", "\"config\":[],\"x\":{",
         "instances[0].config: expected object, got array"},
        {DESIRED, "\"password\":\"s3cret\"", "\"password\":7",
         "instances[0].auth.password: expected string, got number"},
        {DESIRED, "\"password\":\"s3cret\"", "\"password\":\"s3\\u0001cret\"",
         "instances[0].auth.password: expected printable UTF-8 text"},
        {DESIRED, "\"auth\":{", "\"auht\":{", "instances[0].auth: missing"},
        {DESIRED, "\"user\":\"postgres\"", "\"user\":\"\"",
         "instances[0].auth.user: expected non-empty printable UTF-8 text"},
        {DESIRED, "\"namespace\":\"prod\",\"cluster\":\"bank\",\"member\":\"bank-1\"",
         "\"namespace\":\"default\",\"cluster\":\"demo\",\"member\":\"demo-0\"",
         "instances[1].member: duplicate of instances[0]"},
        {DESIRED, "\"namespace\":\"prod\"", "\"namespace\":\"default\"", NULL}, /* other cluster */
        {DESIRED, "\"maintenance\":false", "\"maintenance\":0",
         "instances[0].maintenance: expected boolean, got number"},
        {DESIRED, "\"restart_limit\":3,", "", "instances[0].restart_limit: missing"},
        {DESIRED, "\"name\":\"demo-2\"", "\"name\":\"demo-0\"",
         "instances[0].peers[1].name: names the member itself"},
        {DESIRED, "\"name\":\"demo-2\"", "\"name\":\"demo-1\"",
         "instances[0].peers[1].name: duplicate of peers[0]"},
        {DESIRED, "\"name\":\"demo-2\"", "\"name\":\"Demo_2\"",
         "instances[0].peers[1].name: expected DNS-1123 label"},
        {DESIRED, "\"ip\":\"fd00::3\"", "\"ip\":\"fd00::zz\"",
         "instances[0].peers[1].ip: expected IPv4 or IPv6 address"},
        {DESIRED, "\"port\":5433", "\"port\":0",
         "instances[0].peers[1].port: expected integer in 1..65535"},
        {DESIRED, "\"peers\":[{", "\"peers\":[7,{",
         "instances[0].peers[0]: expected object, got number"},
        {DESIRED, "\"peers\":[", "\"peers\":\"x\",\"peers2\":[",
         "instances[0].peers: expected array, got string"},
        {DESIRED, ",\"ip\":\"fd00::3\"", "", "instances[0].peers[1].ip: missing"},
};

static void test_proto_rejects_malformed(void)
{
    char *texts[2] = {base_text(REPORT), base_text(DESIRED)};

    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *c = &bad_cases[i];
        struct errbuf eb = {{0}};
        char *text = replace_first(texts[c->kind], c->find, c->with);
        int r;

        if (!text) {
            fprintf(stderr, "\n  case %zu: \"%s\" not in the base message\n", i, c->find);
            CU_FAIL("case does not apply");
            continue;
        }
        r = decode(c->kind, text, strlen(text), &eb);
        if (c->error ? (r != -EINVAL || !strstr(eb.msg, c->error)) : r != 0) {
            fprintf(stderr, "\n  case %zu: r=%d\n  got:  %s\n  want: %s\n", i, r, eb.msg,
                    c->error ? c->error : "(success)");
            CU_FAIL("malformed message case");
        }
        free(text);
    }
    free(texts[0]);
    free(texts[1]);
}

/* Decodes text as kind and checks that it is refused with want in the message. */
static void expect_text_error(enum kind kind, const char *text, const char *want)
{
    struct errbuf eb = {{0}};

    CU_ASSERT_EQUAL(decode(kind, text, strlen(text), &eb), -EINVAL);
    if (!strstr(eb.msg, want)) {
        fprintf(stderr, "\n  got:  %s\n  want: %s\n", eb.msg, want);
        CU_FAIL("refused with the expected message");
    }
}

static void test_proto_rejects_non_messages(void)
{
    static const char *const inputs[][2] = {
            {"", "empty"},
            {"hello", "invalid JSON at byte 0"},
            {"[{\"version\":1}]", "expected a JSON object, got array"},
            {"null", "expected a JSON object, got null"},
            {"{}", "version: missing"},
            {"{\"version\":1}", "node: missing"},
    };
    char *texts[2] = {base_text(REPORT), base_text(DESIRED)};

    for (int kind = REPORT; kind <= DESIRED; kind++) {
        char *text = xasprintf("%s x", texts[kind]);

        expect_text_error((enum kind) kind, text, "trailing characters after the value");
        free(text);
        for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
            expect_text_error((enum kind) kind, inputs[i][0], inputs[i][1]);
        }
    }
    free(texts[0]);
    free(texts[1]);
}

/* Appends copies of the first element of list until it holds n elements. */
static void grow_array(cJSON *list, int n)
{
    while (cJSON_GetArraySize(list) < n) {
        CU_ASSERT_FATAL(cJSON_AddItemToArray(list, cJSON_Duplicate(list->child, true)));
    }
}

/* Prints j, decodes it as kind and checks the error. */
static void expect_error(enum kind kind, const cJSON *j, const char *want)
{
    char *text = json_print(j);

    expect_text_error(kind, text, want);
    free(text);
}

static void test_proto_rejects_oversized_arrays(void)
{
    char *texts[2] = {base_text(REPORT), base_text(DESIRED)};
    cJSON *j = NULL;
    cJSON *inst;
    struct errbuf eb = {{0}};

    CU_ASSERT_EQUAL_FATAL(json_parse(texts[REPORT], strlen(texts[REPORT]), 0, &j, &eb), 0);
    inst = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "instances"), 0);
    grow_array(cJSON_GetObjectItemCaseSensitive(inst, "replication"), PROTO_MAX_REPLICAS + 1);
    expect_error(REPORT, j, "instances[0].replication: expected at most 32 elements, got 33");
    grow_array(cJSON_GetObjectItemCaseSensitive(j, "instances"), PROTO_MAX_INSTANCES + 1);
    expect_error(REPORT, j, "instances: expected at most 32 elements, got 33");
    cJSON_Delete(j);

    CU_ASSERT_EQUAL_FATAL(json_parse(texts[DESIRED], strlen(texts[DESIRED]), 0, &j, &eb), 0);
    inst = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "instances"), 0);
    grow_array(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(inst, "sync"),
                                                "names"),
               PROTO_MAX_SYNC + 1);
    expect_error(DESIRED, j, "instances[0].sync.names: expected at most 32 elements, got 33");
    grow_array(cJSON_GetObjectItemCaseSensitive(j, "instances"), PROTO_MAX_INSTANCES + 1);
    expect_error(DESIRED, j, "instances: expected at most 32 elements, got 33");
    cJSON_Delete(j);

    CU_ASSERT_EQUAL_FATAL(json_parse(texts[DESIRED], strlen(texts[DESIRED]), 0, &j, &eb), 0);
    inst = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "instances"), 0);
    for (int k = 0; k < PROTO_MAX_CONFIG; k++) {
        char key[16];
        (void) snprintf(key, sizeof(key), "k%d", k);
        json_add_str(cJSON_GetObjectItemCaseSensitive(inst, "config"), key, "v");
    }
    expect_error(DESIRED, j, "instances[0].config: expected at most 64 settings, got 66");
    cJSON_Delete(j);
    free(texts[0]);
    free(texts[1]);
}

/* Sets member key of instances[0] (or of the top level when top) to string s, then decodes. */
static void expect_long_string(enum kind kind, bool top, const char *key, size_t len,
                               const char *want)
{
    char *base = base_text(kind);
    char *s = xmalloc(len + 1);
    struct errbuf eb = {{0}};
    cJSON *j = NULL;
    cJSON *obj;

    memset(s, 'a', len);
    s[len] = '\0';
    CU_ASSERT_EQUAL_FATAL(json_parse(base, strlen(base), 0, &j, &eb), 0);
    obj = top ? j : cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "instances"), 0);
    if (strcmp(key, "password") == 0) {
        obj = cJSON_GetObjectItemCaseSensitive(obj, "auth");
    }
    if (strcmp(key, "config") == 0) {
        obj = cJSON_GetObjectItemCaseSensitive(obj, "config");
        json_add_str(obj, s, "v"); /* a setting name of len bytes */
    } else {
        CU_ASSERT_FATAL(cJSON_ReplaceItemInObjectCaseSensitive(obj, key, cJSON_CreateString(s)));
    }
    expect_error(kind, j, want);
    cJSON_Delete(j);
    free(s);
    free(base);
}

static void test_proto_rejects_oversized_strings(void)
{
    expect_long_string(REPORT, true, "node", 254,
                       "node: expected string of at most 253 bytes, got 254");
    expect_long_string(REPORT, true, "agent_id", 64,
                       "agent_id: expected string of at most 63 bytes, got 64");
    expect_long_string(REPORT, false, "member", 64,
                       "instances[0].member: expected string of at most 63 bytes, got 64");
    expect_long_string(REPORT, false, "last_error", 256,
                       "instances[0].last_error: expected string of at most 255 bytes, got 256");
    expect_long_string(REPORT, false, "sync_standby_names", 512,
                       "instances[0].sync_standby_names: expected string of at most 511 bytes");
    expect_long_string(DESIRED, false, "ip", 46,
                       "instances[0].ip: expected string of at most 45 bytes, got 46");
    expect_long_string(DESIRED, false, "password", 256,
                       "instances[0].auth.password: expected string of at most 255 bytes");
    expect_long_string(DESIRED, false, "config", 64, "setting name longer than 63 bytes");
}

static void test_proto_validate_structs(void)
{
    struct proto_report *r = xcalloc(1, sizeof(*r));
    struct proto_desired *d = xcalloc(1, sizeof(*d));
    struct errbuf eb = {{0}};
    char *text;

    base_report(r);
    r->n_instances = PROTO_MAX_INSTANCES + 1; /* a bug upstream: refused, never overrun */
    CU_ASSERT_EQUAL(proto_report_validate(r, &eb), -EINVAL);
    CU_ASSERT_STRING_EQUAL(eb.msg, "instances: expected at most 32 elements, got 33");
    text = proto_report_encode(r); /* clamps */
    free(text);
    base_report(r);
    r->instances[0].state = PROTO_STATE_UNKNOWN;
    CU_ASSERT_EQUAL(proto_report_validate(r, &eb), -EINVAL);
    CU_ASSERT_STRING_EQUAL(eb.msg, "instances[0].state: expected a known state, got 0");
    base_report(r);
    r->instances[0].pid = -5;
    CU_ASSERT_EQUAL(proto_report_validate(r, &eb), -EINVAL);
    CU_ASSERT_STRING_EQUAL(eb.msg, "instances[0].pid: expected integer in 0..2147483647, got -5");
    base_report(r);
    r->seq = JSON_INT_MAX + 1;
    CU_ASSERT_EQUAL(proto_report_validate(r, &eb), -EINVAL);
    CU_ASSERT_STRING_EQUAL(eb.msg,
                           "seq: expected integer in 0..9007199254740991, got 9007199254740992");

    base_desired(d);
    d->instances[1].role = (enum proto_role) 42;
    CU_ASSERT_EQUAL(proto_desired_validate(d, &eb), -EINVAL);
    CU_ASSERT_STRING_EQUAL(eb.msg, "instances[1].role: expected primary|standby|leader, got 42");
    base_desired(d);
    d->heartbeat_ms = 0;
    CU_ASSERT_EQUAL(proto_desired_validate(d, &eb), -EINVAL);
    CU_ASSERT_STRING_EQUAL(eb.msg, "heartbeat_ms: expected integer in 10..600000, got 0");
    base_desired(d);
    d->instances[0].n_config = PROTO_MAX_CONFIG + 1;
    CU_ASSERT_EQUAL(proto_desired_validate(d, &eb), -EINVAL);
    CU_ASSERT_STRING_EQUAL(eb.msg, "instances[0].config: expected at most 64 settings, got 65");
    base_desired(d);
    d->version = 0;
    CU_ASSERT_EQUAL(proto_desired_validate(d, &eb), -EINVAL);
    CU_ASSERT_STRING_EQUAL(eb.msg, "version: expected 1, got 0");
    free(r);
    free(d);
}

/* ---- mutations ---- */

/* Knuth's MMIX linear congruential generator: fixed seed, same inputs on every run. */
static uint64_t lcg_next(uint64_t *state)
{
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return *state >> 33;
}

struct mutation_stats {
    unsigned accepted;
    unsigned rejected;
};

/* Decodes one variant; it must be accepted or refused with a message, and never crash. */
static void mutation_check(enum kind kind, const char *text, size_t len, struct mutation_stats *st)
{
    struct errbuf eb = {{0}};
    int r = decode(kind, text, len, &eb);

    if (r == 0) {
        st->accepted++;
        return;
    }
    st->rejected++;
    if (r != -EINVAL || eb.msg[0] == '\0') {
        fprintf(stderr, "\n  r=%d msg=\"%s\" for: %.*s\n", r, eb.msg, (int) len, text);
        CU_FAIL("decode must return 0 or -EINVAL with a message");
    }
}

/* An accepted variant must re-encode to the same struct (decode is a function of content). */
static void mutation_stable(enum kind kind, const char *text, size_t len)
{
    struct errbuf eb = {{0}};
    void *a =
            xcalloc(1, kind == REPORT ? sizeof(struct proto_report) : sizeof(struct proto_desired));
    void *b =
            xcalloc(1, kind == REPORT ? sizeof(struct proto_report) : sizeof(struct proto_desired));
    char *again;
    int r;

    if (kind == REPORT) {
        r = proto_report_decode(text, len, a, &eb);
        again = r == 0 ? proto_report_encode(a) : NULL;
        CU_ASSERT_TRUE(!again || proto_report_decode(again, strlen(again), b, &eb) == 0);
        CU_ASSERT_TRUE(!again || same_bytes(a, b, sizeof(struct proto_report)));
    } else {
        r = proto_desired_decode(text, len, a, &eb);
        again = r == 0 ? proto_desired_encode(a) : NULL;
        CU_ASSERT_TRUE(!again || proto_desired_decode(again, strlen(again), b, &eb) == 0);
        CU_ASSERT_TRUE(!again || same_bytes(a, b, sizeof(struct proto_desired)));
    }
    free(again);
    free(a);
    free(b);
}

static void mutate_kind(enum kind kind, uint64_t *seed, struct mutation_stats *st)
{
    static const char *const tokens[] = {"\"",
                                         "{",
                                         "}",
                                         "[",
                                         "]",
                                         ",",
                                         ":",
                                         "null",
                                         "-1",
                                         "1e999",
                                         "0.5",
                                         "\\u0000",
                                         "\\",
                                         "true",
                                         "\"\":",
                                         "\xff",
                                         "99999999999999999999"};
    char *base = base_text(kind);
    size_t len = strlen(base);
    char *buf = xmalloc(len);

    /* Every truncation. */
    for (size_t n = 1; n < len; n++) {
        mutation_check(kind, base, n, st);
    }
    /* Random byte flips, one to four per variant. */
    for (unsigned v = 0; v < 1000; v++) {
        unsigned flips = 1 + (unsigned) (lcg_next(seed) % 4);
        memcpy(buf, base, len); /* NOLINT(bugprone-not-null-terminated-result): on purpose */
        for (unsigned f = 0; f < flips; f++) {
            buf[lcg_next(seed) % len] = (char) (lcg_next(seed) & 0xff);
        }
        mutation_check(kind, buf, len, st);
        mutation_stable(kind, buf, len);
    }
    /* Random token insertions. */
    for (unsigned v = 0; v < 500; v++) {
        const char *tok = tokens[lcg_next(seed) % (sizeof(tokens) / sizeof(tokens[0]))];
        int at = (int) (lcg_next(seed) % len);
        char *text = xasprintf("%.*s%s%s", at, base, tok, base + at);
        mutation_check(kind, text, strlen(text), st);
        free(text);
    }
    free(buf);
    free(base);
}

static void test_proto_mutations_never_crash(void)
{
    struct mutation_stats st = {0, 0};
    uint64_t seed = 0x6f67u; /* fixed: the same variants on every run */

    mutate_kind(REPORT, &seed, &st);
    mutate_kind(DESIRED, &seed, &st);
    /* Both outcomes occur, so the loop really exercises the decoder and the validator. */
    CU_ASSERT_TRUE(st.accepted > 50);
    CU_ASSERT_TRUE(st.rejected > 2000);
    fprintf(stderr, "\n  mutations: %u accepted, %u rejected\n", st.accepted, st.rejected);
}

int main(void)
{
    CU_TestInfo tests[] = {
            {"samples decode", test_proto_samples_decode},
            {"report round trip", test_proto_report_round_trip},
            {"desired round trip", test_proto_desired_round_trip},
            {"report encode sanitizes free text", test_proto_report_encode_sanitizes_free_text},
            {"rejects malformed", test_proto_rejects_malformed},
            {"rejects non-messages", test_proto_rejects_non_messages},
            {"rejects oversized arrays", test_proto_rejects_oversized_arrays},
            {"rejects oversized strings", test_proto_rejects_oversized_strings},
            {"validate structs", test_proto_validate_structs},
            {"mutations never crash", test_proto_mutations_never_crash},
            CU_TEST_INFO_NULL,
    };
    return cu_run("proto", tests);
}
