/*
 * arbiter/spec.h
 *
 * The spec of an OpenGaussCluster (the body of PUT /api/v1/clusters/{ns}/{name} in local
 * mode): the original operator's lowercase fields, unchanged (reference/original-operator.md
 * §2.2), plus our `ha` block (DESIGN.md "The resource"). Decoding is strict, as a local-mode
 * API must be where Kubernetes would have pruned: an unknown field is an error naming it.
 * Every error names its JSON path from "spec": "spec.iplist[1].ip: duplicate address
 * 127.0.0.2". Only what the arbiter uses is kept in struct spec; the rest is validated and
 * stays in the stored JSON text.
 *
 * Member names: each iplist address gets `<cluster>-<n>` the first time it appears, n
 * counting up from 0 over the cluster's life; the address-to-name map is kept (struct
 * spec_names, persisted by the caller), so names never move when the list is edited.
 *
 * Layer: core
 */
#ifndef OG_ARBITER_SPEC_H
#define OG_ARBITER_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arbiter/decide.h"
#include "common/errbuf.h"
#include "proto/desired.h"
#include "proto/model.h"

#define SPEC_MAX_MEMBERS DECIDE_MAX_MEMBERS /* iplist entries */
#define SPEC_MAX_REMOTE  32                 /* remoteiplist entries */
#define SPEC_MAX_NAMES   256                /* addresses remembered per cluster */
#define SPEC_MAP_MAX     64                 /* entries of customizedenv, annotations, labels */
#define SPEC_TEXT_MAX    1023               /* image names, paths, ConfigMap names */

/* Defaults of DESIGN.md "The resource" and the original operator. */
#define SPEC_DEFAULT_DBPORT          5432
#define SPEC_DEFAULT_STORAGE         "3Gi"
#define SPEC_DEFAULT_SYNCREPLICAS    1
#define SPEC_DEFAULT_RESTARTLIMIT    3
#define SPEC_DEFAULT_RESTARTWINDOW_S 60
#define SPEC_DEFAULT_LOSTTIMEOUT_S   5
#define SPEC_DEFAULT_MAXLAG          1048576

/* The site role (spec.localrole). */
enum spec_localrole {
    SPEC_LOCALROLE_UNKNOWN = 0,
    SPEC_LOCALROLE_PRIMARY, /* this site holds the primary */
    SPEC_LOCALROLE_STANDBY, /* standby site: its leader follows remoteiplist */
    _SPEC_LOCALROLE_MAX
};

/* One iplist entry. ip and extendip are in canonical form (inet_ntop). */
struct spec_member {
    char ip[PROTO_IP_MAX + 1];
    char nodename[PROTO_NODE_MAX + 1];
    char extendip[PROTO_IP_MAX + 1]; /* "" when absent */
};

/* The ha block, in the units the arbiter uses. */
struct spec_ha {
    uint32_t sync_replicas;
    uint32_t restart_limit;
    uint64_t restart_window_ms;
    uint64_t lost_timeout_ms;
    uint64_t max_lag_bytes;
};

/* What the arbiter uses of a valid spec, defaults applied. Plain data, about 35 KiB. */
struct spec {
    uint32_t dbport;
    uint32_t readport, writeport; /* 0 when not given */
    enum spec_localrole localrole;
    uint64_t storage_bytes;
    bool maintenance;
    bool has_password; /* dbpasswd given: password holds it, decoded */
    char password[PROTO_SECRET_MAX + 1];
    char hostpathroot[SPEC_TEXT_MAX + 1];
    char networkclass[16];
    uint32_t n_members;
    struct spec_member members[SPEC_MAX_MEMBERS];
    uint32_t n_config;
    struct proto_kv config[PROTO_MAX_CONFIG];
    struct spec_ha ha;
};

/* One remembered address and the member name it was given. */
struct spec_name {
    char ip[PROTO_IP_MAX + 1];
    char name[PROTO_NAME_MAX + 1];
};

/* A cluster's address-to-name map: persisted, only ever grows (up to SPEC_MAX_NAMES). */
struct spec_names {
    uint32_t next_index; /* n of the next new member name */
    uint32_t n;
    struct spec_name names[SPEC_MAX_NAMES];
};

/*
 * Decodes and validates spec JSON text json[0..len) into *ret (written only on success).
 * Returns 0; -EBADMSG when the text is not a JSON object (eb: the parser's words, for a 400);
 * -EINVAL when it is not a valid spec (eb: "spec.<path>: <what>", for a 422).
 */
int spec_parse(const char *json, size_t len, struct spec *ret, struct errbuf *eb);

/*
 * Validates the cluster's namespace and name: DNS-1123 labels, and the name short enough
 * for member names `<name>-<n>` (at most PROTO_NAME_MAX - 4 characters). 0 or -EINVAL with
 * "metadata.namespace: ..." / "metadata.name: ..." in eb.
 */
int spec_check_names(const char *ns, const char *name, struct errbuf *eb);

/*
 * Checks an update of a cluster from old to new (both valid): the immutable fields dbport,
 * hostpathroot, networkclass, localrole and dbpasswd keep their values. A member's node
 * cannot change either (its data lives there): names is the cluster's map, used to tell
 * which entries are existing members. 0 or -EINVAL with the field in eb.
 */
int spec_check_update(const struct spec *old, const struct spec *new_spec,
                      const struct spec_names *names, struct errbuf *eb);

/*
 * Names the members of spec for cluster `cluster`: ret_names[i] gets the name of
 * spec->members[i], the remembered one for a known address, else `<cluster>-<next_index>`
 * (and the map and next_index grow). When the map is full, the oldest address not in
 * spec is forgotten to make room. 0, or -EINVAL (a name would exceed PROTO_NAME_MAX) with eb;
 * *names is left unchanged on error.
 */
int spec_names_assign(const char *cluster, const struct spec *spec, struct spec_names *names,
                      char ret_names[][PROTO_NAME_MAX + 1], struct errbuf *eb);

/*
 * Returns the spec JSON text json with its top-level "maintenance" set to on, as a new
 * unformatted text owned by the caller (free()); NULL when json is not an object.
 */
char *spec_set_maintenance(const char *json, bool on);

/* "primary", "standby" ("unknown" for 0). */
const char *spec_localrole_to_string(enum spec_localrole v);
/* 0, or -EINVAL for an unknown name. */
int spec_localrole_from_string(const char *s, enum spec_localrole *ret);

#endif
