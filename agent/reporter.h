/*
 * agent/reporter.h
 *
 * The agent's half of the protocol: sends the node's report to the arbiter and decodes the
 * desired state in the answer (proto/report.h, proto/desired.h).
 */
#ifndef OG_AGENT_REPORTER_H
#define OG_AGENT_REPORTER_H

#include <stdint.h>

#include "common/errbuf.h"
#include "proto/desired.h"
#include "proto/report.h"

struct reporter;

/* A reporter for the arbiter at base_url ("http://127.0.0.1:8080"); strings are copied. */
struct reporter *reporter_new(const char *base_url, const char *bearer_token, uint32_t timeout_ms);
/* NULL-safe. */
void reporter_free(struct reporter *rp);
/*
 * POSTs rep and decodes the answer into ret (written only on success).
 * 0; -ECONNREFUSED/-ETIMEDOUT/... when the arbiter was not reached; -EPROTO when it answered
 * with an error status (eb has its message); -EBADMSG when the answer is not a valid desired
 * state. extra_timeout_ms lengthens this call (a long poll).
 */
int reporter_send(struct reporter *rp, const struct proto_report *rep, uint32_t extra_timeout_ms,
                  struct proto_desired *ret, struct errbuf *eb);

#endif
