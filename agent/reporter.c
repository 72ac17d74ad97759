/*
 * agent/reporter.c
 *
 * Layer: edge (HTTP through common/httpc). One keep-alive connection to the arbiter.
 */
#include "agent/reporter.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/httpc.h"
#include "common/mem.h"

struct reporter {
    struct httpc *http;
    char *url;
    uint32_t timeout_ms;
};

struct reporter *reporter_new(const char *base_url, const char *bearer_token, uint32_t timeout_ms)
{
    struct httpc_options opt = {.connect_timeout_ms = timeout_ms,
                                .timeout_ms = timeout_ms,
                                .bearer_token = bearer_token};
    struct reporter *rp = xcalloc(1, sizeof(*rp));
    size_t n = strlen(base_url);

    /* Tolerate a trailing slash in the flag. */
    while (n > 0 && base_url[n - 1] == '/') {
        n--;
    }
    rp->url = xasprintf("%.*s/api/v1/report", (int) n, base_url);
    rp->http = httpc_new(&opt);
    rp->timeout_ms = timeout_ms;
    return rp;
}

void reporter_free(struct reporter *rp)
{
    if (!rp) {
        return;
    }
    httpc_free(rp->http);
    free(rp->url);
    free(rp);
}

/* The message of an {"error":{"message":...}} body, or the status alone. */
static void reporter_error_text(const struct httpc_response *resp, struct errbuf *eb)
{
    cJSON *j = cJSON_ParseWithLength(resp->body ? resp->body : "", resp->body_len);
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(j, "error"), "message");

    if (cJSON_IsString(msg)) {
        errbuf_set(eb, "arbiter answered %ld: %s", resp->status, msg->valuestring);
    } else {
        errbuf_set(eb, "arbiter answered %ld", resp->status);
    }
    cJSON_Delete(j);
}

int reporter_send(struct reporter *rp, const struct proto_report *rep, uint32_t extra_timeout_ms,
                  struct proto_desired *ret, struct errbuf *eb)
{
    struct httpc_response resp = {0};
    struct proto_desired *d = NULL;
    char *body = proto_report_encode(rep);
    struct httpc_request req = {.method = "POST",
                                .url = rp->url,
                                .content_type = "application/json",
                                .body = body,
                                .body_len = strlen(body),
                                .timeout_ms = rp->timeout_ms + extra_timeout_ms};
    int r;

    r = httpc_do(rp->http, &req, &resp, eb);
    if (r < 0) {
        goto out;
    }
    if (resp.status != 200) {
        reporter_error_text(&resp, eb);
        r = -EPROTO;
        goto out;
    }
    d = xcalloc(1, sizeof(*d));
    r = proto_desired_decode(resp.body, resp.body_len, d, eb);
    if (r < 0) {
        errbuf_prefix(eb, "invalid desired state from the arbiter");
        r = -EBADMSG;
        goto out;
    }
    /* Only the entries in use: copying all PROTO_MAX_INSTANCES would make every page of ret
     * resident (850 KiB per buffer) on the first heartbeat. Readers stop at n_instances. */
    memcpy(ret, d,
           offsetof(struct proto_desired, instances) + d->n_instances * sizeof(d->instances[0]));
out:
    free(d);
    free(body);
    httpc_response_done(&resp);
    return r;
}
