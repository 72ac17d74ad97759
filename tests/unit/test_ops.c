/*
 * tests/unit/test_ops.c
 *
 * proto/ops, the ops socket's wire format: requests survive encode -> decode; a table of
 * malformed requests (not JSON, unknown op, missing or bad member, wrong version, oversized)
 * is refused with an error naming the field; responses and results decode leniently but
 * safely; truncated and mutated input never crashes (run under ASan).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/mem.h"
#include "proto/ops.h"
#include "tests/support/cu_main.h"

/* A status request padded to any length with "%*s". */
#define PAD_FMT "{\"version\":1,\"op\":\"status\",\"pad\":\"%*s\"}"

/* Decodes text from an exact-size heap copy, so ASan sees any read past its end. */
static int decode_req(const char *text, size_t len, struct proto_ops_request *ret,
                      struct errbuf *eb)
{
    char *copy = xmalloc(len ? len : 1);
    int r;

    memcpy(copy, text, len); /* NOLINT(bugprone-not-null-terminated-result): on purpose */
    r = proto_ops_request_decode(copy, len, ret, eb);
    free(copy);
    return r;
}

static int decode_resp(const char *text, size_t len, struct proto_ops_response *ret,
                       struct errbuf *eb)
{
    char *copy = xmalloc(len ? len : 1);
    int r;

    memcpy(copy, text, len); /* NOLINT(bugprone-not-null-terminated-result): on purpose */
    r = proto_ops_response_decode(copy, len, ret, eb);
    free(copy);
    return r;
}

static void test_ops_names_round_trip(void)
{
    enum proto_ops_op op = PROTO_OPS_OP_UNKNOWN;
    enum proto_ops_code code = PROTO_OPS_CODE_UNKNOWN;

    for (int v = PROTO_OPS_OP_UNKNOWN + 1; v < _PROTO_OPS_OP_MAX; v++) {
        CU_ASSERT_EQUAL(proto_ops_op_from_string(proto_ops_op_to_string(v), &op), 0);
        CU_ASSERT_EQUAL(op, v);
    }
    for (int v = PROTO_OPS_CODE_UNKNOWN + 1; v < _PROTO_OPS_CODE_MAX; v++) {
        CU_ASSERT_EQUAL(proto_ops_code_from_string(proto_ops_code_to_string(v), &code), 0);
        CU_ASSERT_EQUAL(code, v);
    }
    CU_ASSERT_EQUAL(proto_ops_op_from_string("unknown", &op), -EINVAL);
    CU_ASSERT_EQUAL(proto_ops_op_from_string("Status", &op), -EINVAL);
    CU_ASSERT_EQUAL(proto_ops_op_from_string(NULL, &op), -EINVAL);
    CU_ASSERT_EQUAL(proto_ops_code_from_string("unknown", &code), -EINVAL);
    CU_ASSERT_STRING_EQUAL(proto_ops_op_to_string(_PROTO_OPS_OP_MAX), "unknown");
    CU_ASSERT_TRUE(proto_ops_op_needs_member(PROTO_OPS_OP_BACKUP));
    CU_ASSERT_TRUE(proto_ops_op_needs_member(PROTO_OPS_OP_RESTART));
    CU_ASSERT_FALSE(proto_ops_op_needs_member(PROTO_OPS_OP_STATUS));
    CU_ASSERT_FALSE(proto_ops_op_needs_member(PROTO_OPS_OP_MAINTENANCE));
}

static void test_ops_code_from_errno(void)
{
    CU_ASSERT_EQUAL(proto_ops_code_from_errno(-ENOENT), PROTO_OPS_CODE_NOT_FOUND);
    CU_ASSERT_EQUAL(proto_ops_code_from_errno(-EALREADY), PROTO_OPS_CODE_CONFLICT);
    CU_ASSERT_EQUAL(proto_ops_code_from_errno(-EBUSY), PROTO_OPS_CODE_BUSY);
    CU_ASSERT_EQUAL(proto_ops_code_from_errno(-EAGAIN), PROTO_OPS_CODE_BUSY);
    CU_ASSERT_EQUAL(proto_ops_code_from_errno(-EOPNOTSUPP), PROTO_OPS_CODE_UNSUPPORTED);
    CU_ASSERT_EQUAL(proto_ops_code_from_errno(-ETIMEDOUT), PROTO_OPS_CODE_TIMEOUT);
    CU_ASSERT_EQUAL(proto_ops_code_from_errno(-ECANCELED), PROTO_OPS_CODE_CANCELED);
    CU_ASSERT_EQUAL(proto_ops_code_from_errno(-EPERM), PROTO_OPS_CODE_FORBIDDEN);
    CU_ASSERT_EQUAL(proto_ops_code_from_errno(-EINVAL), PROTO_OPS_CODE_BAD_REQUEST);
    CU_ASSERT_EQUAL(proto_ops_code_from_errno(-ENOSYS), PROTO_OPS_CODE_UNKNOWN_OP);
    CU_ASSERT_EQUAL(proto_ops_code_from_errno(-E2BIG), PROTO_OPS_CODE_TOO_LARGE);
    CU_ASSERT_EQUAL(proto_ops_code_from_errno(-EIO), PROTO_OPS_CODE_FAILED);
    CU_ASSERT_EQUAL(proto_ops_code_from_errno(0), PROTO_OPS_CODE_FAILED);
}

static void test_ops_request_round_trip(void)
{
    static const struct {
        enum proto_ops_op op;
        const char *member;
        bool on;
    } cases[] = {
            {PROTO_OPS_OP_STATUS, "", false},        {PROTO_OPS_OP_START, "demo-0", false},
            {PROTO_OPS_OP_STOP, "demo-1", false},    {PROTO_OPS_OP_RESTART, "a", false},
            {PROTO_OPS_OP_BACKUP, "demo-12", false}, {PROTO_OPS_OP_MAINTENANCE, "", true},
            {PROTO_OPS_OP_MAINTENANCE, "", false},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct proto_ops_request req, back;
        struct errbuf eb = {{0}};
        char *line;

        proto_ops_request_init(&req);
        req.op = cases[i].op;
        (void) snprintf(req.member, sizeof(req.member), "%s", cases[i].member);
        req.on = cases[i].on;
        CU_ASSERT_EQUAL(proto_ops_request_validate(&req, &eb), 0);
        line = proto_ops_request_encode(&req);
        CU_ASSERT_PTR_NOT_NULL_FATAL(line);
        CU_ASSERT_EQUAL(line[strlen(line) - 1], '\n');
        CU_ASSERT_PTR_EQUAL(strchr(line, '\n'), line + strlen(line) - 1); /* one line */
        memset(&back, 0x5a, sizeof(back));
        CU_ASSERT_EQUAL_FATAL(decode_req(line, strlen(line), &back, &eb), 0);
        CU_ASSERT_EQUAL(back.version, PROTO_OPS_VERSION);
        CU_ASSERT_EQUAL(back.op, req.op);
        CU_ASSERT_STRING_EQUAL(back.member, req.member);
        CU_ASSERT_EQUAL(back.on, req.on);
        free(line);
    }
}

/* One malformed request: the return code and a piece of the error text. */
struct bad_request {
    const char *text;
    int rc;
    const char *expect;
};

static void test_ops_request_malformed(void)
{
    static const struct bad_request cases[] = {
            {"not json", -EINVAL, "request: invalid JSON"},
            {"", -EINVAL, "request: invalid JSON: empty"},
            {"[1,2]", -EINVAL, "expected a JSON object"},
            {"{\"version\":1,\"op\":\"status\"} x", -EINVAL, "trailing"},
            {"{\"version\":1,\"op\":\"frobnicate\"}", -ENOSYS,
             "op: unknown operation 'frobnicate'"},
            {"{\"version\":1,\"op\":\"unknown\"}", -ENOSYS, "'unknown'"},
            {"{\"version\":1,\"op\":\"STATUS\"}", -ENOSYS, "'STATUS'"},
            {"{\"version\":1}", -EINVAL, "op: missing"},
            {"{\"version\":1,\"op\":7}", -EINVAL, "op: expected string"},
            {"{\"op\":\"status\"}", -EINVAL, "version: missing"},
            {"{\"version\":2,\"op\":\"status\"}", -EINVAL, "version: expected 1, got 2"},
            {"{\"version\":\"1\",\"op\":\"status\"}", -EINVAL, "version"},
            {"{\"version\":-1,\"op\":\"status\"}", -EINVAL, "version"},
            {"{\"version\":1,\"op\":\"restart\"}", -EINVAL, "member: missing"},
            {"{\"version\":1,\"op\":\"backup\",\"member\":null}", -EINVAL, "member: missing"},
            {"{\"version\":1,\"op\":\"restart\",\"member\":\"Demo_0\"}", -EINVAL,
             "member: expected DNS-1123 label, got \"Demo_0\""},
            {"{\"version\":1,\"op\":\"stop\",\"member\":\"../etc\"}", -EINVAL,
             "member: expected DNS-1123 label"},
            {"{\"version\":1,\"op\":\"start\",\"member\":\"a;rm -rf\"}", -EINVAL,
             "member: expected DNS-1123 label"},
            {"{\"version\":1,\"op\":\"start\",\"member\":\"\"}", -EINVAL,
             "member: expected DNS-1123 label"},
            {"{\"version\":1,\"op\":\"start\",\"member\":7}", -EINVAL, "member: expected string"},
            {"{\"version\":1,\"op\":\"start\",\"member\":\"-demo\"}", -EINVAL, "member"},
            {"{\"version\":1,\"op\":\"status\",\"member\":\"demo-0\"}", -EINVAL,
             "member: not used by op 'status'"},
            {"{\"version\":1,\"op\":\"maintenance\"}", -EINVAL, "on: missing"},
            {"{\"version\":1,\"op\":\"maintenance\",\"on\":\"yes\"}", -EINVAL,
             "on: expected boolean"},
            {"{\"version\":1,\"op\":\"maintenance\",\"on\":true,\"member\":\"x\"}", -EINVAL,
             "member: not used"},
            {"{\"version\":1,\"op\":\"status\",\"on\":true}", -EINVAL, "on: not used"},
            {"{\"version\":1,\"op\":\"status\",\"x\":\"\x01\"}", -EINVAL, "control character"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct proto_ops_request req;
        struct errbuf eb = {{0}};
        int r;

        memset(&req, 0x5a, sizeof(req));
        r = decode_req(cases[i].text, strlen(cases[i].text), &req, &eb);
        if (r != cases[i].rc || !strstr(eb.msg, cases[i].expect)) {
            fprintf(stderr, "\ncase %zu (%s): rc %d, error \"%s\"\n", i, cases[i].text, r, eb.msg);
        }
        CU_ASSERT_EQUAL(r, cases[i].rc);
        CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, cases[i].expect));
        CU_ASSERT_EQUAL(req.version, 0x5a5a5a5a); /* untouched on failure */
    }
}

static void test_ops_request_long_names(void)
{
    struct proto_ops_request req;
    struct errbuf eb = {{0}};
    char name[100], *text;

    memset(name, 'a', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    text = xasprintf("{\"version\":1,\"op\":\"restart\",\"member\":\"%s\"}", name);
    CU_ASSERT_EQUAL(decode_req(text, strlen(text), &req, &eb), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, "member: expected string of at most 63 bytes"));
    free(text);
    /* A long op is still "unknown op", not a generic bad request. */
    text = xasprintf("{\"version\":1,\"op\":\"%s\"}", name);
    CU_ASSERT_EQUAL(decode_req(text, strlen(text), &req, &eb), -ENOSYS);
    CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, "op: unknown operation"));
    free(text);
    /* 63 characters is the largest label. */
    name[63] = '\0';
    text = xasprintf("{\"version\":1,\"op\":\"restart\",\"member\":\"%s\"}", name);
    CU_ASSERT_EQUAL(decode_req(text, strlen(text), &req, &eb), 0);
    CU_ASSERT_STRING_EQUAL(req.member, name);
    free(text);
}

static void test_ops_request_size_bound(void)
{
    int pad = (int) PROTO_OPS_REQUEST_MAX - (int) strlen(PAD_FMT) + 3; /* "%*s" prints pad bytes */
    struct proto_ops_request req;
    struct errbuf eb = {{0}};
    char *text;

    /* Exactly the bound: accepted. */
    text = xasprintf(PAD_FMT, pad, "");
    CU_ASSERT_EQUAL_FATAL(strlen(text), PROTO_OPS_REQUEST_MAX);
    CU_ASSERT_EQUAL(decode_req(text, strlen(text), &req, &eb), 0);
    CU_ASSERT_EQUAL(req.op, PROTO_OPS_OP_STATUS);
    free(text);
    /* One byte more: refused before parsing. */
    text = xasprintf(PAD_FMT, pad + 1, "");
    CU_ASSERT_EQUAL(decode_req(text, strlen(text), &req, &eb), -E2BIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, "request: larger than 65536 bytes"));
    free(text);
    /* A trailing newline and unknown keys are fine. */
    {
        const char *ok = "{\"version\":1,\"op\":\"stop\",\"member\":\"demo-0\",\"why\":\"x\"}\n";
        CU_ASSERT_EQUAL(decode_req(ok, strlen(ok), &req, &eb), 0);
        CU_ASSERT_STRING_EQUAL(req.member, "demo-0");
    }
}

static void test_ops_request_validate(void)
{
    struct proto_ops_request req;
    struct errbuf eb = {{0}};

    proto_ops_request_init(&req);
    CU_ASSERT_EQUAL(proto_ops_request_validate(&req, &eb), -EINVAL); /* op unknown */
    CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, "op:"));
    req.op = PROTO_OPS_OP_BACKUP;
    CU_ASSERT_EQUAL(proto_ops_request_validate(&req, &eb), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, "member: missing"));
    (void) snprintf(req.member, sizeof(req.member), "x_y");
    CU_ASSERT_EQUAL(proto_ops_request_validate(&req, &eb), -EINVAL);
    (void) snprintf(req.member, sizeof(req.member), "x-y");
    CU_ASSERT_EQUAL(proto_ops_request_validate(&req, &eb), 0);
    req.version = 3;
    CU_ASSERT_EQUAL(proto_ops_request_validate(&req, &eb), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, "version: expected 1, got 3"));
}

static void test_ops_response_ok(void)
{
    struct proto_ops_response resp;
    struct errbuf eb = {{0}};
    cJSON *result = json_new_object();
    char *line;

    json_add_str(result, "member", "demo-0");
    json_add_u64(result, "bytes", 123456789012ULL); /* a raw item, printed digit for digit */
    line = proto_ops_response_encode_ok(result);
    cJSON_Delete(result); /* the response only referenced it */
    CU_ASSERT_EQUAL(line[strlen(line) - 1], '\n');
    CU_ASSERT_EQUAL_FATAL(decode_resp(line, strlen(line), &resp, &eb), 0);
    CU_ASSERT_TRUE(resp.ok);
    CU_ASSERT_PTR_NOT_NULL_FATAL(resp.result);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(resp.result, "member")->valuestring, "demo-0");
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(resp.result, "bytes")->valuedouble, 123456789012.0);
    proto_ops_response_done(&resp);
    CU_ASSERT_PTR_NULL(resp.result);
    proto_ops_response_done(&resp); /* idempotent */
    proto_ops_response_done(NULL);
    free(line);

    line = proto_ops_response_encode_ok(NULL);
    CU_ASSERT_STRING_EQUAL(line, "{\"ok\":true,\"result\":{}}\n");
    CU_ASSERT_EQUAL(decode_resp(line, strlen(line), &resp, &eb), 0);
    CU_ASSERT_TRUE(cJSON_IsObject(resp.result));
    proto_ops_response_done(&resp);
    free(line);

    /* A result may be absent: an empty object stands in. */
    CU_ASSERT_EQUAL(decode_resp("{\"ok\":true}", 11, &resp, &eb), 0);
    CU_ASSERT_TRUE(cJSON_IsObject(resp.result));
    proto_ops_response_done(&resp);
}

static void test_ops_response_error(void)
{
    struct proto_ops_response resp;
    struct errbuf eb = {{0}};
    char long_msg[400];
    char *line;

    line = proto_ops_response_encode_error(PROTO_OPS_CODE_FORBIDDEN, "uid 65534 is not allowed");
    CU_ASSERT_STRING_EQUAL(
            line, "{\"ok\":false,\"error\":{\"code\":\"forbidden\",\"message\":\"uid 65534 is not "
                  "allowed\"}}\n");
    CU_ASSERT_EQUAL(decode_resp(line, strlen(line), &resp, &eb), 0);
    CU_ASSERT_FALSE(resp.ok);
    CU_ASSERT_PTR_NULL(resp.result);
    CU_ASSERT_EQUAL(resp.code, PROTO_OPS_CODE_FORBIDDEN);
    CU_ASSERT_STRING_EQUAL(resp.message, "uid 65534 is not allowed");
    proto_ops_response_done(&resp);
    free(line);

    /* Control characters never reach a terminal; long text is cut. */
    memset(long_msg, 'm', sizeof(long_msg) - 1);
    long_msg[sizeof(long_msg) - 1] = '\0';
    long_msg[3] = '\033';
    line = proto_ops_response_encode_error(PROTO_OPS_CODE_FAILED, long_msg);
    CU_ASSERT_EQUAL(decode_resp(line, strlen(line), &resp, &eb), 0);
    CU_ASSERT_EQUAL(strlen(resp.message), PROTO_OPS_MESSAGE_MAX);
    CU_ASSERT_EQUAL(resp.message[3], '?');
    free(line);

    {
        const char *newer =
                "{\"ok\":false,\"error\":{\"code\":\"quota\",\"message\":\"a\\u001bb\"}}";
        CU_ASSERT_EQUAL(decode_resp(newer, strlen(newer), &resp, &eb), 0);
        CU_ASSERT_EQUAL(resp.code, PROTO_OPS_CODE_UNKNOWN);
        CU_ASSERT_STRING_EQUAL(resp.message, "a?b");
    }
}

static void test_ops_response_malformed(void)
{
    static const struct bad_request cases[] = {
            {"nope", -EINVAL, "response: invalid JSON"},
            {"{}", -EINVAL, "ok: missing"},
            {"{\"ok\":1}", -EINVAL, "ok: expected boolean"},
            {"{\"ok\":false}", -EINVAL, "error: missing"},
            {"{\"ok\":false,\"error\":{}}", -EINVAL, "error.code: missing"},
            {"{\"ok\":false,\"error\":{\"code\":\"failed\",\"message\":3}}", -EINVAL,
             "error.message: expected string"},
            {"{\"ok\":true,\"result\":[1]}", -EINVAL, "result: expected object"},
    };
    struct proto_ops_response resp;
    struct errbuf eb = {{0}};
    char *big;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int r = decode_resp(cases[i].text, strlen(cases[i].text), &resp, &eb);
        if (r != cases[i].rc || !strstr(eb.msg, cases[i].expect)) {
            fprintf(stderr, "\ncase %zu (%s): rc %d, error \"%s\"\n", i, cases[i].text, r, eb.msg);
        }
        CU_ASSERT_EQUAL(r, cases[i].rc);
        CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, cases[i].expect));
    }
    big = xcalloc(1, PROTO_OPS_RESPONSE_MAX + 1);
    CU_ASSERT_EQUAL(proto_ops_response_decode(big, PROTO_OPS_RESPONSE_MAX + 1, &resp, &eb), -E2BIG);
    free(big);
}

static void fill_status(struct proto_ops_status *st)
{
    memset(st, 0, sizeof(*st));
    (void) snprintf(st->node, sizeof(st->node), "node1.example");
    st->maintenance = true;
    st->n_instances = PROTO_MAX_INSTANCES;
    for (uint32_t i = 0; i < st->n_instances; i++) {
        struct proto_ops_instance *in = &st->instances[i];
        (void) snprintf(in->member, sizeof(in->member), "demo-%u", i);
        (void) snprintf(in->cluster, sizeof(in->cluster), "demo");
        (void) snprintf(in->namespace_, sizeof(in->namespace_), "ns%u", i % 3);
        (void) snprintf(in->role, sizeof(in->role), i == 0 ? "primary" : "standby");
        (void) snprintf(in->state, sizeof(in->state), i % 2 ? "failed" : "running");
        in->pid = i % 2 ? 0 : 1000 + i;
        in->restarts = i;
        in->has_lsn = i % 4 != 3;
        in->lsn = in->has_lsn ? 0x16B374D848ULL + i : 0;
        (void) snprintf(in->last_error, sizeof(in->last_error), i % 2 ? "exit code %u" : "", i);
        in->maintenance = i == 5;
    }
}

static void test_ops_status_round_trip(void)
{
    struct proto_ops_status *st = xcalloc(1, sizeof(*st));
    struct proto_ops_status *back = xcalloc(1, sizeof(*back));
    struct errbuf eb = {{0}};
    cJSON *j;
    char *text;

    fill_status(st);
    j = proto_ops_status_to_json(st);
    text = json_print(j);
    cJSON_Delete(j);
    CU_ASSERT_EQUAL_FATAL(json_parse_object(text, strlen(text), 0, &j, &eb), 0);
    CU_ASSERT_EQUAL(proto_ops_status_from_json(j, back, &eb), 0);
    /* Byte equality holds: both come zeroed from xcalloc and decoding copies a zeroed struct. */
    /* NOLINTNEXTLINE(bugprone-suspicious-memory-comparison) */
    CU_ASSERT_EQUAL(memcmp(st, back, sizeof(*st)), 0);
    cJSON_Delete(j);
    free(text);
    free(st);
    free(back);
}

/* The optional fields may be missing or null; the decoder fills sensible defaults. */
static void test_ops_status_lenient(void)
{
    const char *text = "{\"instances\":[{\"member\":\"demo-0\"},"
                       "{\"member\":\"demo-1\",\"lsn\":null,\"pid\":null,\"role\":\"unknown\","
                       "\"last_error\":\"bad\\u0007bell\",\"extra\":{\"x\":1}},"
                       "{\"member\":\"demo-2\",\"lsn\":\"\"}]}";
    struct proto_ops_status *st = xcalloc(1, sizeof(*st));
    struct errbuf eb = {{0}};
    cJSON *j = NULL;

    CU_ASSERT_EQUAL_FATAL(json_parse_object(text, strlen(text), 0, &j, &eb), 0);
    CU_ASSERT_EQUAL(proto_ops_status_from_json(j, st, &eb), 0);
    CU_ASSERT_EQUAL(st->n_instances, 3);
    CU_ASSERT_STRING_EQUAL(st->node, "");
    CU_ASSERT_FALSE(st->instances[0].has_lsn);
    CU_ASSERT_EQUAL(st->instances[1].pid, 0);
    CU_ASSERT_STRING_EQUAL(st->instances[1].role, "unknown");
    CU_ASSERT_STRING_EQUAL(st->instances[1].last_error, "bad?bell");
    CU_ASSERT_FALSE(st->instances[2].has_lsn);
    cJSON_Delete(j);
    free(st);
}

static void test_ops_status_malformed(void)
{
    static const struct bad_request cases[] = {
            {"{}", -EINVAL, "instances: missing"},
            {"{\"instances\":{}}", -EINVAL, "instances: expected array"},
            {"{\"instances\":[1]}", -EINVAL, "instances[0]: expected object"},
            {"{\"instances\":[{}]}", -EINVAL, "instances[0].member: missing"},
            {"{\"instances\":[{\"member\":\"x\"},{\"member\":\"X\"}]}", -EINVAL,
             "instances[1].member: expected DNS-1123 label"},
            {"{\"instances\":[{\"member\":\"x\",\"lsn\":\"zz\"}]}", -EINVAL,
             "instances[0].lsn: expected LSN text"},
            {"{\"instances\":[{\"member\":\"x\",\"lsn\":5}]}", -EINVAL, "instances[0].lsn"},
            {"{\"instances\":[{\"member\":\"x\",\"pid\":-1}]}", -EINVAL, "instances[0].pid"},
            {"{\"instances\":[{\"member\":\"x\",\"restarts\":\"3\"}]}", -EINVAL,
             "instances[0].restarts"},
            {"{\"instances\":[{\"member\":\"x\",\"cluster\":\"a/b\"}]}", -EINVAL,
             "instances[0].cluster: expected DNS-1123 label"},
            {"{\"instances\":[{\"member\":\"x\",\"state\":\"a\\u001bb\"}]}", -EINVAL,
             "instances[0].state: expected printable text"},
            {"{\"instances\":[{\"member\":\"x\",\"maintenance\":\"yes\"}]}", -EINVAL,
             "instances[0].maintenance: expected boolean"},
            {"{\"node\":\"a b\",\"instances\":[]}", -EINVAL, "node: expected DNS-1123 subdomain"},
            {"{\"maintenance\":1,\"instances\":[]}", -EINVAL, "maintenance: expected boolean"},
    };
    struct proto_ops_status *st = xcalloc(1, sizeof(*st));
    struct errbuf eb = {{0}};

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cJSON *j = NULL;
        int r;

        CU_ASSERT_EQUAL_FATAL(json_parse_object(cases[i].text, strlen(cases[i].text), 0, &j, &eb),
                              0);
        r = proto_ops_status_from_json(j, st, &eb);
        if (r != cases[i].rc || !strstr(eb.msg, cases[i].expect)) {
            fprintf(stderr, "\ncase %zu (%s): rc %d, error \"%s\"\n", i, cases[i].text, r, eb.msg);
        }
        CU_ASSERT_EQUAL(r, cases[i].rc);
        CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, cases[i].expect));
        cJSON_Delete(j);
    }
    /* One instance more than the bound. */
    {
        cJSON *j = json_new_object();
        cJSON *arr = json_add_array(j, "instances");
        for (int i = 0; i <= PROTO_MAX_INSTANCES; i++) {
            json_add_str(json_add_object(arr, NULL), "member", "x");
        }
        CU_ASSERT_EQUAL(proto_ops_status_from_json(j, st, &eb), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, "instances: expected at most 32"));
        cJSON_Delete(j);
    }
    CU_ASSERT_EQUAL(proto_ops_status_from_json(NULL, st, &eb), -EINVAL);
    free(st);
}

static void test_ops_backup(void)
{
    struct proto_ops_backup b = {.has_lsn = true, .lsn = 0x3000060, .bytes = 4096};
    struct proto_ops_backup back;
    struct errbuf eb = {{0}};
    char *text;
    cJSON *j;

    (void) snprintf(b.path, sizeof(b.path), "/var/lib/og-agent/ns/demo/demo-0/backup/b1");
    j = proto_ops_backup_to_json(&b);
    text = json_print(j); /* the tree is for printing (raw numbers): read it back as text */
    cJSON_Delete(j);
    CU_ASSERT_EQUAL_FATAL(json_parse_object(text, strlen(text), 0, &j, &eb), 0);
    free(text);
    memset(&back, 0, sizeof(back));
    CU_ASSERT_EQUAL(proto_ops_backup_from_json(j, &back, &eb), 0);
    CU_ASSERT_STRING_EQUAL(back.path, b.path);
    CU_ASSERT_TRUE(back.has_lsn);
    CU_ASSERT_EQUAL(back.lsn, b.lsn);
    CU_ASSERT_EQUAL(back.bytes, 4096);
    cJSON_Delete(j);

    j = json_new_object();
    CU_ASSERT_EQUAL(proto_ops_backup_from_json(j, &back, &eb), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, "path: missing"));
    json_add_str(j, "path", "/x");
    json_add_str(j, "bytes", "12");
    CU_ASSERT_EQUAL(proto_ops_backup_from_json(j, &back, &eb), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(eb.msg, "bytes"));
    cJSON_Delete(j);
}

/* Every prefix and many single-byte mutations of valid messages: 0 or an error, no crash. */
static void test_ops_never_crashes(void)
{
    const char *texts[] = {
            "{\"version\":1,\"op\":\"maintenance\",\"on\":true}\n",
            "{\"version\":1,\"op\":\"restart\",\"member\":\"demo-0\"}",
            "{\"ok\":false,\"error\":{\"code\":\"busy\",\"message\":\"later\"}}",
            "{\"ok\":true,\"result\":{\"node\":\"n\",\"instances\":[{\"member\":\"d\",\"lsn\":"
            "\"0/1\"}]}}",
    };
    static const char bytes[] = "{}[]\":,\\0a-\n\x01\xff";
    unsigned seed = 12345;

    for (size_t t = 0; t < sizeof(texts) / sizeof(texts[0]); t++) {
        size_t len = strlen(texts[t]);
        char *buf = xmalloc(len);

        for (size_t cut = 0; cut <= len; cut++) {
            struct proto_ops_request req;
            struct proto_ops_response resp;
            struct errbuf eb = {{0}};
            int r1 = decode_req(texts[t], cut, &req, &eb);
            int r2 = decode_resp(texts[t], cut, &resp, &eb);
            CU_ASSERT(r1 == 0 || r1 == -EINVAL || r1 == -ENOSYS);
            CU_ASSERT(r2 == 0 || r2 == -EINVAL);
            if (r2 == 0) {
                proto_ops_response_done(&resp);
            }
        }
        for (int i = 0; i < 2000; i++) {
            struct proto_ops_request req;
            struct proto_ops_response resp;
            struct errbuf eb = {{0}};
            int r;

            memcpy(buf, texts[t], len);         /* NOLINT(bugprone-not-null-terminated-result) */
            seed = seed * 1103515245u + 12345u; /* a fixed LCG: reproducible */
            buf[(seed >> 8) % len] = bytes[(seed >> 20) % (sizeof(bytes) - 1)];
            r = decode_req(buf, len, &req, &eb);
            CU_ASSERT(r == 0 || r == -EINVAL || r == -ENOSYS);
            r = decode_resp(buf, len, &resp, &eb);
            CU_ASSERT(r == 0 || r == -EINVAL);
            if (r == 0) {
                struct proto_ops_status *st = xcalloc(1, sizeof(*st));
                (void) proto_ops_status_from_json(resp.result, st, &eb);
                free(st);
                proto_ops_response_done(&resp);
            }
        }
        free(buf);
    }
}

int main(void)
{
    CU_TestInfo tests[] = {
            {"names round trip", test_ops_names_round_trip},
            {"code from errno", test_ops_code_from_errno},
            {"request round trip", test_ops_request_round_trip},
            {"request malformed", test_ops_request_malformed},
            {"request long names", test_ops_request_long_names},
            {"request size bound", test_ops_request_size_bound},
            {"request validate", test_ops_request_validate},
            {"response ok", test_ops_response_ok},
            {"response error", test_ops_response_error},
            {"response malformed", test_ops_response_malformed},
            {"status round trip", test_ops_status_round_trip},
            {"status lenient", test_ops_status_lenient},
            {"status malformed", test_ops_status_malformed},
            {"backup", test_ops_backup},
            {"never crashes", test_ops_never_crashes},
            CU_TEST_INFO_NULL,
    };
    return cu_run("ops", tests);
}
