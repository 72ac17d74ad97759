/*
 * arbiter/world_cmd.h
 *
 * The REST API's commands, run by the loop on its world (world.h): each answers with an
 * HTTP status and a JSON body or an error message, so the handlers stay thin. Switchover
 * and manual failover run decide at once with the request, so a refusal comes back as 409
 * with decide's own reason. Every accepted change is persisted before the answer.
 */
#ifndef OG_ARBITER_WORLD_CMD_H
#define OG_ARBITER_WORLD_CMD_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "arbiter/spec.h"
#include "arbiter/world.h"
#include "common/errbuf.h"

#define WORLD_CMD_HISTORY_MAX 1000 /* most history entries one call returns */

/* The answer to a command: an HTTP status and either a body or an error message. */
struct world_cmd_answer {
    int status;
    cJSON *body;             /* owned; NULL with an error */
    char error[ERRBUF_SIZE]; /* the message when status >= 400 */
};

/*
 * PUT: creates (201) or updates (200) cluster ns/name from spec (decoded from spec_json,
 * stored as given). 422 for bad names, a standby site, an immutable field changed, an
 * address in use by another cluster, or a node over PROTO_MAX_INSTANCES instances; 500 when
 * the store fails. An identical spec answers 200 and changes nothing.
 */
void world_cmd_put(struct world *w, const char *ns, const char *name, const char *spec_json,
                   const struct spec *spec, uint64_t now_ms, struct world_cmd_answer *ret);
/* DELETE: 200 or 404. The members leave their nodes' desired states; data is kept. */
void world_cmd_delete(struct world *w, const char *ns, const char *name,
                      struct world_cmd_answer *ret);
/*
 * POST switchover to target ("" = best candidate): 202 with the plan when decide starts it
 * (the old primary is ordered fenced), 409 with decide's reason otherwise (or when one is
 * already under way), 404.
 */
void world_cmd_switchover(struct world *w, const char *ns, const char *name, const char *target,
                          uint64_t now_ms, struct world_cmd_answer *ret);
/* POST manual failover to target ("" = best): 202 when decide promotes, else 409; 404. */
void world_cmd_failover(struct world *w, const char *ns, const char *name, const char *target,
                        uint64_t now_ms, struct world_cmd_answer *ret);
/* PUT maintenance: sets spec.maintenance (the stored spec text too); 200 with the cluster. */
void world_cmd_maintenance(struct world *w, const char *ns, const char *name, bool enabled,
                           uint64_t now_ms, struct world_cmd_answer *ret);
/* GET history: 200 with the newest `limit` entries, newest first; 404. */
void world_cmd_history(struct world *w, const char *ns, const char *name, uint32_t limit,
                       struct world_cmd_answer *ret);

/* Frees the answer's body. NULL-safe. */
void world_cmd_answer_done(struct world_cmd_answer *a);

#endif
