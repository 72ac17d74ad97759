/*
 * arbiter/kctl_check.h
 *
 * Validation of an OpenGaussCluster resource before the controller (kctl.h) hands it to the
 * loop: the same checks as a local-mode PUT body (spec_parse, spec_check_names: fields,
 * ranges, duplicate addresses, readport differing from writeport), plus what only the API
 * server knows: every iplist[].nodename names an existing Node (looked up with GET
 * /api/v1/nodes/<name>, each answer cached for KCTL_CHECK_NODE_TTL_MS). NodePorts used by
 * other resources are checked by the controller, which holds all of them.
 *
 * Used by the controller's thread only (the client is that thread's).
 */
#ifndef OG_ARBITER_KCTL_CHECK_H
#define OG_ARBITER_KCTL_CHECK_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "arbiter/spec.h"
#include "common/errbuf.h"

#define KCTL_CHECK_NODE_TTL_MS 5000
#define KCTL_CHECK_NODES_MAX   1024 /* nodes remembered */

struct kube_client;
struct kctl_check;

/* A checker using kc (borrowed; must outlive it). */
struct kctl_check *kctl_check_new(struct kube_client *kc);
/* NULL-safe. */
void kctl_check_free(struct kctl_check *c);

/*
 * Validates resource obj whose spec is the JSON text spec_json, and decodes it into *ret.
 * 0; -EINVAL with the reason in eb ("spec.iplist[1].nodename: node node9 does not exist");
 * -EAGAIN when a Node could not be looked up (API error: try again later, eb says why).
 */
int kctl_check_spec(struct kctl_check *c, const cJSON *obj, const char *spec_json, struct spec *ret,
                    struct errbuf *eb);

#endif
