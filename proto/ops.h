/*
 * proto/ops.h
 *
 * The agent's ops socket (DESIGN.md "Interfaces": a Unix socket, 0600, peer credentials
 * checked), spoken by `og-agent ctl` and served by agent/ops_server.c. One request per
 * connection and one JSON line each way:
 *
 *   request   {"version":1,"op":"restart","member":"demo-0"}
 *             {"version":1,"op":"maintenance","on":true}
 *   response  {"ok":true,"result":{...}}
 *             {"ok":false,"error":{"code":"not_found","message":"no member demo-9"}}
 *
 * Request rules: version must be PROTO_OPS_VERSION; op is one of the PROTO_OPS_OP_* names;
 * member (a DNS-1123 label) is required by start, stop, restart and backup and refused by the
 * others; on (true/false) is required by maintenance and refused by the others. Unknown keys
 * are ignored. A request is at most PROTO_OPS_REQUEST_MAX bytes.
 *
 * Results: status gives a proto_ops_status object, backup a proto_ops_backup object,
 * start/stop/restart {"member":M}, maintenance {"maintenance":on}. The client reads results
 * for display only, so their decoders are lenient where the agent's internals may grow
 * (role and state are free short text, most fields optional).
 */
#ifndef OG_PROTO_OPS_H
#define OG_PROTO_OPS_H

#include <cjson/cJSON.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/errbuf.h"
#include "proto/model.h"

#define PROTO_OPS_VERSION      1
#define PROTO_OPS_REQUEST_MAX  ((size_t) 64 * 1024)   /* bytes of one request line */
#define PROTO_OPS_RESPONSE_MAX ((size_t) 1024 * 1024) /* bytes of one response line */
#define PROTO_OPS_MESSAGE_MAX  255                    /* error message text */
#define PROTO_OPS_TEXT_MAX     31                     /* role and state names in a status */

/* The operations of the socket. */
enum proto_ops_op {
    PROTO_OPS_OP_UNKNOWN = 0,
    PROTO_OPS_OP_STATUS,      /* the node's instances */
    PROTO_OPS_OP_START,       /* start one member's instance */
    PROTO_OPS_OP_STOP,        /* stop one member's instance (stays stopped) */
    PROTO_OPS_OP_RESTART,     /* restart one member's instance */
    PROTO_OPS_OP_BACKUP,      /* take a local backup of one member (may take minutes) */
    PROTO_OPS_OP_MAINTENANCE, /* node maintenance on/off: no automatic restarts */
    _PROTO_OPS_OP_MAX
};

/* The error codes of a failed response ("error.code"). */
enum proto_ops_code {
    PROTO_OPS_CODE_UNKNOWN = 0, /* a code this version does not know */
    PROTO_OPS_CODE_BAD_REQUEST, /* not JSON, a field missing or invalid, wrong version */
    PROTO_OPS_CODE_UNKNOWN_OP,  /* op names no operation */
    PROTO_OPS_CODE_TOO_LARGE,   /* request longer than PROTO_OPS_REQUEST_MAX */
    PROTO_OPS_CODE_FORBIDDEN,   /* the peer's uid may not use the socket */
    PROTO_OPS_CODE_NOT_FOUND,   /* no such member on this node (-ENOENT) */
    PROTO_OPS_CODE_CONFLICT,    /* not possible in the current state (-EALREADY, -EEXIST) */
    PROTO_OPS_CODE_BUSY,        /* try again later (-EBUSY, -EAGAIN, too many connections) */
    PROTO_OPS_CODE_UNSUPPORTED, /* the agent does not offer this operation (-EOPNOTSUPP) */
    PROTO_OPS_CODE_TIMEOUT,     /* a deadline passed (-ETIMEDOUT) */
    PROTO_OPS_CODE_CANCELED,    /* the agent is shutting down (-ECANCELED) */
    PROTO_OPS_CODE_FAILED,      /* the operation failed (any other error) */
    _PROTO_OPS_CODE_MAX
};

/* One decoded request. */
struct proto_ops_request {
    uint32_t version;                /* PROTO_OPS_VERSION */
    enum proto_ops_op op;            /* known */
    char member[PROTO_NAME_MAX + 1]; /* DNS label for ops that take one, else "" */
    bool on;                         /* maintenance only */
};

/* One decoded response. Release with proto_ops_response_done. */
struct proto_ops_response {
    bool ok;
    cJSON *result;                           /* ok: the result object, owned; else NULL */
    enum proto_ops_code code;                /* !ok */
    char message[PROTO_OPS_MESSAGE_MAX + 1]; /* !ok: sanitized free text */
};

/* One instance in a status result (display only). */
struct proto_ops_instance {
    char member[PROTO_NAME_MAX + 1]; /* required, DNS label */
    char cluster[PROTO_NAME_MAX + 1];
    char namespace_[PROTO_NAME_MAX + 1];
    char role[PROTO_OPS_TEXT_MAX + 1];  /* "primary", "standby", ..., "" when unknown */
    char state[PROTO_OPS_TEXT_MAX + 1]; /* "running", "stopped", ... */
    uint32_t pid;                       /* 0: not running */
    uint32_t restarts;
    bool has_lsn; /* lsn known ("lsn" present and not null or "") */
    uint64_t lsn;
    char last_error[PROTO_ERROR_MAX + 1]; /* sanitized free text */
    bool maintenance;
};

/* A status result: {"node":..,"maintenance":bool,"instances":[...]}. About 20 KiB. */
struct proto_ops_status {
    char node[PROTO_NODE_MAX + 1];
    bool maintenance;
    uint32_t n_instances;
    struct proto_ops_instance instances[PROTO_MAX_INSTANCES];
};

/* A backup result: {"path":..,"lsn":"X/Y","bytes":N}. */
struct proto_ops_backup {
    char path[PATH_MAX];
    bool has_lsn;
    uint64_t lsn;
    uint64_t bytes;
};

/* Wire names: "status", "start", "stop", "restart", "backup", "maintenance" ("unknown"). */
const char *proto_ops_op_to_string(enum proto_ops_op v);
/* 0, or -EINVAL for a name that is not an operation (including "unknown"). */
int proto_ops_op_from_string(const char *s, enum proto_ops_op *ret);
/* True when op acts on one member and so needs "member". */
bool proto_ops_op_needs_member(enum proto_ops_op op);

/* Wire names: "bad_request", "unknown_op", ..., "failed" ("unknown" for 0). */
const char *proto_ops_code_to_string(enum proto_ops_code v);
/* 0, or -EINVAL for a name that is not a code (including "unknown"). */
int proto_ops_code_from_string(const char *s, enum proto_ops_code *ret);
/*
 * The code reporting a negative errno: -ENOENT not_found, -EALREADY/-EEXIST conflict,
 * -EBUSY/-EAGAIN busy, -EOPNOTSUPP unsupported, -ETIMEDOUT timeout, -ECANCELED canceled,
 * -EPERM/-EACCES forbidden, -EINVAL bad_request, -ENOSYS unknown_op, -E2BIG too_large,
 * anything else failed.
 */
enum proto_ops_code proto_ops_code_from_errno(int r);

/* Zeroes req and sets its version to PROTO_OPS_VERSION. */
void proto_ops_request_init(struct proto_ops_request *req);
/*
 * Checks the rules above on a struct (the encoder's side): version, op known, member present
 * and a DNS label exactly when the op needs one. 0 or -EINVAL naming the field in eb.
 */
int proto_ops_request_validate(const struct proto_ops_request *req, struct errbuf *eb);
/*
 * Decodes and validates one request from json[0..len) (a trailing newline is allowed).
 * *ret is written only on success. Returns 0; -E2BIG when len > PROTO_OPS_REQUEST_MAX;
 * -ENOSYS when op names no operation (eb names it); -EINVAL for anything else, eb naming the
 * field ("member: expected DNS-1123 label, got "X"", "op: missing"). Never crashes.
 */
int proto_ops_request_decode(const char *json, size_t len, struct proto_ops_request *ret,
                             struct errbuf *eb);
/* One request line (JSON and "\n") of a valid req, owned by the caller (free()). */
char *proto_ops_request_encode(const struct proto_ops_request *req);

/*
 * A success response line (JSON and "\n") wrapping result (borrowed; NULL gives {}), owned
 * by the caller (free()).
 */
char *proto_ops_response_encode_ok(const cJSON *result);
/*
 * A failure response line (JSON and "\n"), owned by the caller (free()). message (NULL gives
 * "") is cut to PROTO_OPS_MESSAGE_MAX bytes and sanitized (json_text_sanitize).
 */
char *proto_ops_response_encode_error(enum proto_ops_code code, const char *message);
/*
 * Decodes one response from json[0..len) (a trailing newline is allowed) into *ret, written
 * only on success; ret->result is then owned by ret. An unknown error code decodes as
 * PROTO_OPS_CODE_UNKNOWN (a newer agent), a long message is cut, and control characters in
 * it are replaced. Returns 0, -E2BIG (len > PROTO_OPS_RESPONSE_MAX) or -EINVAL.
 */
int proto_ops_response_decode(const char *json, size_t len, struct proto_ops_response *ret,
                              struct errbuf *eb);
/* Releases r->result (NULL-safe, idempotent). */
void proto_ops_response_done(struct proto_ops_response *r);

/*
 * Reads a status result (borrowed). Required: "instances" (an array of at most
 * PROTO_MAX_INSTANCES objects, each with a "member" DNS label). Optional: "node",
 * "maintenance" and per instance "cluster", "namespace" (DNS labels), "role", "state" (short
 * text), "pid", "restarts" (numbers), "lsn" ("X/Y" text), "last_error", "maintenance".
 * *ret (large: keep it on the heap) is written only on success. 0 or -EINVAL with the path.
 */
int proto_ops_status_from_json(const cJSON *result, struct proto_ops_status *ret,
                               struct errbuf *eb);
/* The JSON tree of st, owned by the caller (cJSON_Delete). */
cJSON *proto_ops_status_to_json(const struct proto_ops_status *st);

/*
 * Reads a backup result (borrowed): "path" required (text), "lsn" and "bytes" optional.
 * *ret written only on success. 0 or -EINVAL.
 */
int proto_ops_backup_from_json(const cJSON *result, struct proto_ops_backup *ret,
                               struct errbuf *eb);
/* The JSON tree of b, owned by the caller (cJSON_Delete). */
cJSON *proto_ops_backup_to_json(const struct proto_ops_backup *b);

#endif
