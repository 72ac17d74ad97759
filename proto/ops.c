/*
 * proto/ops.c
 *
 * The ops socket's wire format (see ops.h): requests are decoded strictly, because they
 * reach the supervisor; responses and results are decoded for display, so they accept what
 * a newer agent may add (unknown error codes, extra keys, missing optional fields) and
 * sanitize every free-text field before it reaches a terminal.
 *
 * Layer: core
 */
#include "proto/ops.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/mem.h"
#include "common/str.h"

#define OPS_JSON_DEPTH 16 /* a status is 3 levels deep; room for additions */

const char *proto_ops_op_to_string(enum proto_ops_op v)
{
    switch (v) {
    case PROTO_OPS_OP_UNKNOWN:
        return "unknown";
    case PROTO_OPS_OP_STATUS:
        return "status";
    case PROTO_OPS_OP_START:
        return "start";
    case PROTO_OPS_OP_STOP:
        return "stop";
    case PROTO_OPS_OP_RESTART:
        return "restart";
    case PROTO_OPS_OP_BACKUP:
        return "backup";
    case PROTO_OPS_OP_MAINTENANCE:
        return "maintenance";
    case _PROTO_OPS_OP_MAX:
        break;
    }
    return "unknown";
}

int proto_ops_op_from_string(const char *s, enum proto_ops_op *ret)
{
    if (!s) {
        return -EINVAL;
    }
    for (int v = PROTO_OPS_OP_UNKNOWN + 1; v < _PROTO_OPS_OP_MAX; v++) {
        if (strcmp(s, proto_ops_op_to_string((enum proto_ops_op) v)) == 0) {
            *ret = (enum proto_ops_op) v;
            return 0;
        }
    }
    return -EINVAL;
}

bool proto_ops_op_needs_member(enum proto_ops_op op)
{
    return op == PROTO_OPS_OP_START || op == PROTO_OPS_OP_STOP || op == PROTO_OPS_OP_RESTART ||
           op == PROTO_OPS_OP_BACKUP;
}

const char *proto_ops_code_to_string(enum proto_ops_code v)
{
    switch (v) {
    case PROTO_OPS_CODE_UNKNOWN:
        return "unknown";
    case PROTO_OPS_CODE_BAD_REQUEST:
        return "bad_request";
    case PROTO_OPS_CODE_UNKNOWN_OP:
        return "unknown_op";
    case PROTO_OPS_CODE_TOO_LARGE:
        return "too_large";
    case PROTO_OPS_CODE_FORBIDDEN:
        return "forbidden";
    case PROTO_OPS_CODE_NOT_FOUND:
        return "not_found";
    case PROTO_OPS_CODE_CONFLICT:
        return "conflict";
    case PROTO_OPS_CODE_BUSY:
        return "busy";
    case PROTO_OPS_CODE_UNSUPPORTED:
        return "unsupported";
    case PROTO_OPS_CODE_TIMEOUT:
        return "timeout";
    case PROTO_OPS_CODE_CANCELED:
        return "canceled";
    case PROTO_OPS_CODE_FAILED:
        return "failed";
    case _PROTO_OPS_CODE_MAX:
        break;
    }
    return "unknown";
}

int proto_ops_code_from_string(const char *s, enum proto_ops_code *ret)
{
    if (!s) {
        return -EINVAL;
    }
    for (int v = PROTO_OPS_CODE_UNKNOWN + 1; v < _PROTO_OPS_CODE_MAX; v++) {
        if (strcmp(s, proto_ops_code_to_string((enum proto_ops_code) v)) == 0) {
            *ret = (enum proto_ops_code) v;
            return 0;
        }
    }
    return -EINVAL;
}

enum proto_ops_code proto_ops_code_from_errno(int r)
{
    switch (r) {
    case -ENOENT:
        return PROTO_OPS_CODE_NOT_FOUND;
    case -EALREADY:
    case -EEXIST:
        return PROTO_OPS_CODE_CONFLICT;
    case -EBUSY:
    case -EAGAIN:
        return PROTO_OPS_CODE_BUSY;
    case -EOPNOTSUPP:
        return PROTO_OPS_CODE_UNSUPPORTED;
    case -ETIMEDOUT:
        return PROTO_OPS_CODE_TIMEOUT;
    case -ECANCELED:
        return PROTO_OPS_CODE_CANCELED;
    case -EPERM:
    case -EACCES:
        return PROTO_OPS_CODE_FORBIDDEN;
    case -EINVAL:
        return PROTO_OPS_CODE_BAD_REQUEST;
    case -ENOSYS:
        return PROTO_OPS_CODE_UNKNOWN_OP;
    case -E2BIG:
        return PROTO_OPS_CODE_TOO_LARGE;
    default:
        return PROTO_OPS_CODE_FAILED;
    }
}

/* ---- requests ---- */

void proto_ops_request_init(struct proto_ops_request *req)
{
    memset(req, 0, sizeof(*req));
    req->version = PROTO_OPS_VERSION;
}

int proto_ops_request_validate(const struct proto_ops_request *req, struct errbuf *eb)
{
    if (req->version != PROTO_OPS_VERSION) {
        return json_error(eb, NULL, "version", "expected %d, got %" PRIu32, PROTO_OPS_VERSION,
                          req->version);
    }
    if (req->op <= PROTO_OPS_OP_UNKNOWN || req->op >= _PROTO_OPS_OP_MAX) {
        return json_error(eb, NULL, "op", "expected a known operation, got %d", (int) req->op);
    }
    if (!proto_ops_op_needs_member(req->op)) {
        if (req->member[0] != '\0') {
            return json_error(eb, NULL, "member", "not used by op '%s'",
                              proto_ops_op_to_string(req->op));
        }
        return 0;
    }
    if (req->member[0] == '\0') {
        return json_error(eb, NULL, "member", "missing (op '%s' needs one)",
                          proto_ops_op_to_string(req->op));
    }
    return json_expect(eb, NULL, "member", str_is_dns_label(req->member), "DNS-1123 label",
                       req->member);
}

/* The op of a request: -ENOSYS when it names no operation, -EINVAL when not a string. */
static int ops_decode_op(const cJSON *j, enum proto_ops_op *ret, struct errbuf *eb)
{
    char name[64];
    int r = json_get_str(j, NULL, "op", true, name, sizeof(name), eb);

    if (r == -EINVAL && json_has(j, "op") &&
        cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "op"))) {
        /* A string too long to be any operation: still "unknown op", not "bad request". */
        errbuf_set(eb, "op: unknown operation (expected status, start, stop, restart, backup "
                       "or maintenance)");
        return -ENOSYS;
    }
    if (r < 0) {
        return r;
    }
    if (proto_ops_op_from_string(name, ret) < 0) {
        json_text_sanitize(name);
        errbuf_set(eb,
                   "op: unknown operation '%s' (expected status, start, stop, restart, backup "
                   "or maintenance)",
                   name);
        return -ENOSYS;
    }
    return 0;
}

int proto_ops_request_decode(const char *json, size_t len, struct proto_ops_request *ret,
                             struct errbuf *eb)
{
    struct proto_ops_request req;
    cJSON *j = NULL;
    int r;

    if (len > PROTO_OPS_REQUEST_MAX) {
        errbuf_set(eb, "request: larger than %zu bytes", PROTO_OPS_REQUEST_MAX);
        return -E2BIG;
    }
    r = json_parse_object(json, len, OPS_JSON_DEPTH, &j, eb);
    if (r < 0) {
        errbuf_prefix(eb, "request");
        return -EINVAL;
    }
    proto_ops_request_init(&req);
    r = json_get_u32(j, NULL, "version", 0, UINT32_MAX, &req.version, eb);
    if (r < 0) {
        goto out;
    }
    r = ops_decode_op(j, &req.op, eb);
    if (r < 0) {
        goto out;
    }
    /* Shape first; which op needs which field is proto_ops_request_validate's job. */
    if (json_has(j, "member")) {
        r = json_get_str(j, NULL, "member", true, req.member, sizeof(req.member), eb);
        if (r < 0) {
            goto out;
        }
        if (req.member[0] == '\0') {
            r = json_expect(eb, NULL, "member", false, "DNS-1123 label", "");
            goto out;
        }
    }
    if (req.op == PROTO_OPS_OP_MAINTENANCE) {
        r = json_get_bool(j, NULL, "on", &req.on, eb);
        if (r < 0) {
            goto out;
        }
    } else if (json_has(j, "on")) {
        r = json_error(eb, NULL, "on", "not used by op '%s'", proto_ops_op_to_string(req.op));
        goto out;
    }
    r = proto_ops_request_validate(&req, eb);
    if (r < 0) {
        goto out;
    }
    *ret = req;
out:
    cJSON_Delete(j);
    return r;
}

char *proto_ops_request_encode(const struct proto_ops_request *req)
{
    cJSON *j = json_new_object();
    char *text, *line;

    json_add_u64(j, "version", req->version);
    json_add_str(j, "op", proto_ops_op_to_string(req->op));
    if (req->member[0] != '\0') {
        json_add_str(j, "member", req->member);
    }
    if (req->op == PROTO_OPS_OP_MAINTENANCE) {
        json_add_bool(j, "on", req->on);
    }
    text = json_print(j);
    line = xasprintf("%s\n", text);
    free(text);
    cJSON_Delete(j);
    return line;
}

/* ---- responses ---- */

/* The printed text of j followed by a newline; deletes j. */
static char *ops_line_take(cJSON *j)
{
    char *text = json_print(j);
    char *line = xasprintf("%s\n", text);

    free(text);
    cJSON_Delete(j);
    return line;
}

char *proto_ops_response_encode_ok(const cJSON *result)
{
    cJSON *j = json_new_object();

    json_add_bool(j, "ok", true);
    if (result) {
        /*
         * A reference, not a copy: the caller keeps result. cJSON's API takes it non-const but
         * only reads it, and deleting j leaves a referenced item alone.
         */
        if (!cJSON_AddItemReferenceToObject(j, "result", (cJSON *) result)) {
            abort(); /* out of memory: as xmalloc */
        }
    } else {
        (void) json_add_object(j, "result");
    }
    return ops_line_take(j);
}

char *proto_ops_response_encode_error(enum proto_ops_code code, const char *message)
{
    char text[PROTO_OPS_MESSAGE_MAX + 1];
    cJSON *j = json_new_object();
    cJSON *e;

    (void) str_copy(text, sizeof(text), message ? message : ""); /* cut on purpose */
    json_text_sanitize(text);
    json_add_bool(j, "ok", false);
    e = json_add_object(j, "error");
    json_add_str(e, "code", proto_ops_code_to_string(code));
    json_add_str(e, "message", text);
    return ops_line_take(j);
}

/* The "error" object of a failed response into ret. */
static int ops_decode_error(const cJSON *j, struct proto_ops_response *ret, struct errbuf *eb)
{
    const struct json_path at = {.key = "error"};
    const cJSON *e = NULL;
    const cJSON *msg;
    char code[32];
    int r;

    r = json_get_object(j, NULL, "error", true, &e, eb);
    if (r < 0) {
        return r;
    }
    r = json_get_str(e, &at, "code", true, code, sizeof(code), eb);
    if (r < 0) {
        return r;
    }
    if (proto_ops_code_from_string(code, &ret->code) < 0) {
        ret->code = PROTO_OPS_CODE_UNKNOWN; /* a newer agent's code: the message still helps */
    }
    msg = cJSON_GetObjectItemCaseSensitive(e, "message");
    if (msg && !cJSON_IsNull(msg) && !cJSON_IsString(msg)) {
        return json_error(eb, &at, "message", "expected string, got %s", json_type_name(msg));
    }
    (void) str_copy(ret->message, sizeof(ret->message),
                    cJSON_IsString(msg) ? msg->valuestring : "");
    json_text_sanitize(ret->message);
    return 0;
}

int proto_ops_response_decode(const char *json, size_t len, struct proto_ops_response *ret,
                              struct errbuf *eb)
{
    struct proto_ops_response resp;
    const cJSON *result = NULL;
    cJSON *j = NULL;
    int r;

    if (len > PROTO_OPS_RESPONSE_MAX) {
        errbuf_set(eb, "response: larger than %zu bytes", PROTO_OPS_RESPONSE_MAX);
        return -E2BIG;
    }
    r = json_parse_object(json, len, OPS_JSON_DEPTH, &j, eb);
    if (r < 0) {
        errbuf_prefix(eb, "response");
        return -EINVAL;
    }
    memset(&resp, 0, sizeof(resp));
    r = json_get_bool(j, NULL, "ok", &resp.ok, eb);
    if (r < 0) {
        goto out;
    }
    if (!resp.ok) {
        r = ops_decode_error(j, &resp, eb);
        goto out;
    }
    r = json_get_object(j, NULL, "result", false, &result, eb);
    if (r < 0) {
        goto out;
    }
    if (result) {
        /* Detach it from the envelope so the caller owns only what it needs. */
        resp.result = cJSON_DetachItemFromObjectCaseSensitive(j, "result");
    } else {
        resp.result = json_new_object();
    }
out:
    cJSON_Delete(j);
    if (r == 0) {
        *ret = resp;
    }
    return r;
}

void proto_ops_response_done(struct proto_ops_response *r)
{
    if (!r) {
        return;
    }
    cJSON_Delete(r->result);
    r->result = NULL;
}

/* ---- results ---- */

/* Optional number member: absent or null leaves *ret alone. */
static int ops_get_opt_u32(const cJSON *obj, const struct json_path *at, const char *key,
                           uint32_t *ret, struct errbuf *eb)
{
    if (!json_has(obj, key)) {
        return 0;
    }
    return json_get_u32(obj, at, key, 0, UINT32_MAX, ret, eb);
}

/* Optional boolean member: absent or null leaves *ret alone. */
static int ops_get_opt_bool(const cJSON *obj, const struct json_path *at, const char *key,
                            bool *ret, struct errbuf *eb)
{
    if (!json_has(obj, key)) {
        return 0;
    }
    return json_get_bool(obj, at, key, ret, eb);
}

/* Optional LSN text: absent, null or "" means unknown. */
static int ops_get_opt_lsn(const cJSON *obj, const struct json_path *at, const char *key,
                           bool *ret_has, uint64_t *ret, struct errbuf *eb)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    if (!json_has(obj, key) || (cJSON_IsString(v) && v->valuestring[0] == '\0')) {
        *ret_has = false;
        return 0;
    }
    *ret_has = true;
    return json_get_lsn(obj, at, key, ret, eb);
}

/* Optional short text (role, state): printable, bounded. */
static int ops_get_opt_text(const cJSON *obj, const struct json_path *at, const char *key,
                            char *buf, size_t size, struct errbuf *eb)
{
    int r = json_get_str(obj, at, key, false, buf, size, eb);

    if (r < 0) {
        return r;
    }
    return json_expect(eb, at, key, json_is_text(buf), "printable text", buf);
}

/* Optional DNS label (cluster, namespace): "" when absent. */
static int ops_get_opt_label(const cJSON *obj, const struct json_path *at, const char *key,
                             char *buf, size_t size, struct errbuf *eb)
{
    int r = json_get_str(obj, at, key, false, buf, size, eb);

    if (r < 0 || buf[0] == '\0') {
        return r;
    }
    return json_expect(eb, at, key, str_is_dns_label(buf), "DNS-1123 label", buf);
}

static int ops_instance_from_json(const cJSON *obj, const struct json_path *at,
                                  struct proto_ops_instance *in, struct errbuf *eb)
{
    int r;

    if (!cJSON_IsObject(obj)) {
        return json_error(eb, at, NULL, "expected object, got %s", json_type_name(obj));
    }
    r = json_get_str(obj, at, "member", true, in->member, sizeof(in->member), eb);
    if (r == 0) {
        r = json_expect(eb, at, "member", str_is_dns_label(in->member), "DNS-1123 label",
                        in->member);
    }
    r = r ? r : ops_get_opt_label(obj, at, "cluster", in->cluster, sizeof(in->cluster), eb);
    r = r ? r : ops_get_opt_label(obj, at, "namespace", in->namespace_, sizeof(in->namespace_), eb);
    r = r ? r : ops_get_opt_text(obj, at, "role", in->role, sizeof(in->role), eb);
    r = r ? r : ops_get_opt_text(obj, at, "state", in->state, sizeof(in->state), eb);
    r = r ? r : ops_get_opt_u32(obj, at, "pid", &in->pid, eb);
    r = r ? r : ops_get_opt_u32(obj, at, "restarts", &in->restarts, eb);
    r = r ? r : ops_get_opt_lsn(obj, at, "lsn", &in->has_lsn, &in->lsn, eb);
    r = r ? r
          : json_get_str(obj, at, "last_error", false, in->last_error, sizeof(in->last_error), eb);
    r = r ? r : ops_get_opt_bool(obj, at, "maintenance", &in->maintenance, eb);
    json_text_sanitize(in->last_error);
    return r;
}

int proto_ops_status_from_json(const cJSON *result, struct proto_ops_status *ret, struct errbuf *eb)
{
    const struct json_path list = {.key = "instances"};
    struct proto_ops_status *st = xcalloc(1, sizeof(*st));
    const cJSON *arr = NULL;
    const cJSON *item;
    uint32_t i = 0;
    int r, n;

    if (!cJSON_IsObject(result)) {
        r = json_error(eb, NULL, NULL, "expected a status object, got %s", json_type_name(result));
        goto out;
    }
    r = json_get_str(result, NULL, "node", false, st->node, sizeof(st->node), eb);
    r = r ? r
          : json_expect(eb, NULL, "node", st->node[0] == '\0' || str_is_dns_subdomain(st->node),
                        "DNS-1123 subdomain", st->node);
    r = r ? r : ops_get_opt_bool(result, NULL, "maintenance", &st->maintenance, eb);
    if (r < 0) {
        goto out;
    }
    n = json_get_array(result, NULL, "instances", true, PROTO_MAX_INSTANCES, &arr, eb);
    if (n < 0) {
        r = n;
        goto out;
    }
    cJSON_ArrayForEach(item, arr)
    {
        const struct json_path at = {.up = &list, .index = i};
        r = ops_instance_from_json(item, &at, &st->instances[i], eb);
        if (r < 0) {
            goto out;
        }
        i++;
    }
    st->n_instances = i;
    *ret = *st;
out:
    free(st);
    return r;
}

cJSON *proto_ops_status_to_json(const struct proto_ops_status *st)
{
    cJSON *j = json_new_object();
    cJSON *arr;

    json_add_str(j, "node", st->node);
    json_add_bool(j, "maintenance", st->maintenance);
    arr = json_add_array(j, "instances");
    for (uint32_t i = 0; i < st->n_instances && i < PROTO_MAX_INSTANCES; i++) {
        const struct proto_ops_instance *in = &st->instances[i];
        cJSON *o = json_add_object(arr, NULL);
        char last_error[PROTO_ERROR_MAX + 1];

        json_add_str(o, "member", in->member);
        json_add_str(o, "cluster", in->cluster);
        json_add_str(o, "namespace", in->namespace_);
        json_add_str(o, "role", in->role);
        json_add_str(o, "state", in->state);
        json_add_u64(o, "pid", in->pid);
        json_add_u64(o, "restarts", in->restarts);
        if (in->has_lsn) {
            json_add_lsn(o, "lsn", in->lsn);
        } else {
            json_add_null(o, "lsn");
        }
        (void) str_copy(last_error, sizeof(last_error), in->last_error);
        json_text_sanitize(last_error);
        json_add_str(o, "last_error", last_error);
        json_add_bool(o, "maintenance", in->maintenance);
    }
    return j;
}

int proto_ops_backup_from_json(const cJSON *result, struct proto_ops_backup *ret, struct errbuf *eb)
{
    struct proto_ops_backup *b = xcalloc(1, sizeof(*b));
    uint64_t bytes = 0;
    int r;

    if (!cJSON_IsObject(result)) {
        r = json_error(eb, NULL, NULL, "expected a backup object, got %s", json_type_name(result));
        goto out;
    }
    r = json_get_str(result, NULL, "path", true, b->path, sizeof(b->path), eb);
    r = r ? r : json_expect(eb, NULL, "path", json_is_text(b->path), "printable text", b->path);
    r = r ? r : ops_get_opt_lsn(result, NULL, "lsn", &b->has_lsn, &b->lsn, eb);
    if (r == 0 && json_has(result, "bytes")) {
        r = json_get_u64(result, NULL, "bytes", 0, JSON_INT_MAX, &bytes, eb);
        b->bytes = bytes;
    }
    if (r == 0) {
        *ret = *b;
    }
out:
    free(b);
    return r;
}

cJSON *proto_ops_backup_to_json(const struct proto_ops_backup *b)
{
    cJSON *j = json_new_object();

    json_add_str(j, "path", b->path);
    if (b->has_lsn) {
        json_add_lsn(j, "lsn", b->lsn);
    } else {
        json_add_null(j, "lsn");
    }
    json_add_u64(j, "bytes", b->bytes);
    return j;
}
