/*
 * arbiter/kpub_build.h
 *
 * The objects kpub (arbiter/kpub.h) writes to Kubernetes, built from a cluster's custom
 * resource and the arbiter's view of it, without any I/O: the two NodePort Services without
 * selectors, their EndpointSlices (discovery.k8s.io/v1), the role label patches of the agent
 * pods, the status merge patch and the Events. Pure functions: the caller passes the time
 * as text. Every returned cJSON tree is owned by the caller (cJSON_Delete).
 */
#ifndef OG_ARBITER_KPUB_BUILD_H
#define OG_ARBITER_KPUB_BUILD_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/errbuf.h"

#define KPUB_MAX_MEMBERS   32
#define KPUB_NAME_MAX      253 /* DNS-1123 subdomain */
#define KPUB_LABEL_KEY_MAX 320 /* "<cluster>.<namespace>.opengauss.sig/role" */
#define KPUB_MESSAGE_MAX   512

#define KPUB_MANAGED_BY     "og-operator"
#define KPUB_SLICE_MANAGER  "og-arbiter.opengauss.sig"
#define KPUB_COMPONENT      "og-arbiter"
#define KPUB_CR_API_VERSION "opengauss.sig/v1"
#define KPUB_CR_KIND        "OpenGaussCluster"

/* What kpub needs of an OpenGaussCluster object. */
struct kpub_cr {
    char ns[64];
    char name[KPUB_NAME_MAX + 1];
    char uid[128]; /* "" when the object has none (then no ownerReferences) */
    uint64_t generation;
    uint32_t readport, writeport, dbport; /* 0 when missing */
};

/* One member of the arbiter's view (proto/openapi.yaml "Member"); "" for missing fields. */
struct kpub_member {
    char name[64];
    char node[KPUB_NAME_MAX + 1];
    char ip[64];
    char role[16];  /* unknown primary standby leader */
    char state[16]; /* unknown creating running restarting failed stopped rebuilding fenced lost */
    char sync[16];  /* async potential sync quorum, or "" (null) */
};

/* The arbiter's view of a cluster (proto/openapi.yaml "Cluster"), as far as kpub uses it. */
struct kpub_view {
    bool present;   /* false: nothing decided yet (state "creating") */
    char state[32]; /* creating ready updating failed maintaining invalid recovering restoring */
    char primary[64];
    char message[KPUB_MESSAGE_MAX];
    uint64_t epoch;
    size_t n_members;
    struct kpub_member members[KPUB_MAX_MEMBERS];
};

/*
 * Reads cr's metadata (namespace, name, uid, generation) and spec (readport, writeport,
 * dbport). 0, or -EINVAL with eb filled when namespace or name is missing or too long.
 */
int kpub_cr_parse(const cJSON *cr, struct kpub_cr *ret, struct errbuf *eb);

/*
 * Reads a Cluster view; NULL gives an absent view (present false, state "creating"). Fields
 * that are missing, null or too long read as "" (the message is cut); members past
 * KPUB_MAX_MEMBERS are ignored. 0, or -EINVAL when view is not an object.
 */
int kpub_view_parse(const cJSON *view, struct kpub_view *ret, struct errbuf *eb);

/* True when a and b hold the same values (field by field: no padding compared). */
bool kpub_cr_equal(const struct kpub_cr *a, const struct kpub_cr *b);
/* True when a and b hold the same picture (field by field, members in order). */
bool kpub_view_equal(const struct kpub_view *a, const struct kpub_view *b);

/* "og-<name>-svc" (read false) or "og-<name>-svc-read" into buf; 0 or -ENAMETOOLONG. */
int kpub_service_name(const char *cluster, bool read, char *buf, size_t size);

/* "<cluster>.<namespace>.opengauss.sig/role" into buf; 0 or -ENAMETOOLONG. */
int kpub_label_key(const char *ns, const char *cluster, char *buf, size_t size);

/*
 * The Service og-<name>-svc[-read]: type NodePort, no selector, one port {name "db", TCP,
 * port and targetPort dbport, nodePort writeport (read: readport)}, our labels and an
 * ownerReference to the custom resource (when it has a uid).
 */
cJSON *kpub_build_service(const struct kpub_cr *cr, bool read);

/*
 * True when the existing Service svc has what we own: type NodePort, no selector, exactly
 * our one port (name, protocol, port, targetPort, nodePort).
 */
bool kpub_service_is_current(const cJSON *svc, const struct kpub_cr *cr, bool read);

/*
 * The merge patch that makes an existing Service ours again: labels, type, the port list
 * and selector null.
 */
cJSON *kpub_build_service_patch(const struct kpub_cr *cr, bool read);

/*
 * The members the slice names, in view order, into ret[max] (borrowed from v); returns how
 * many. Write slice: the view's primary, only when that member has role primary and state
 * running (never more than one). Read slice: the members with role standby and state
 * running; when there is none, the write slice's member. Members without an address, and
 * members whose address family differs from the first selected one, are left out.
 */
size_t kpub_slice_members(const struct kpub_view *v, bool read, const struct kpub_member **ret,
                          size_t max);

/*
 * The EndpointSlice og-<name>-svc[-read] for the Service of the same name: labels
 * kubernetes.io/service-name and endpointslice.kubernetes.io/managed-by, addressType IPv4
 * (IPv6 when the selected addresses are), one port {name "db", port dbport, TCP}, one
 * endpoint per kpub_slice_members() member {addresses [ip], conditions.ready true, nodeName}.
 */
cJSON *kpub_build_slice(const struct kpub_cr *cr, const struct kpub_view *v, bool read);

/*
 * True when the existing slice has the desired one's addressType, ports, endpoints
 * (addresses, ready condition, nodeName) and our two labels.
 */
bool kpub_slice_is_current(const cJSON *slice, const cJSON *desired);

/* The merge patch for an existing slice with the desired one's labels, ports and endpoints. */
cJSON *kpub_build_slice_patch(const cJSON *desired);

/*
 * The role label value for the agent pod on node: "primary" when a member on node has role
 * primary and state running, else "standby" when one has role standby and state running,
 * else NULL (the label is removed: fenced, failed, stopped, lost, unknown, ...).
 */
const char *kpub_label_value(const struct kpub_view *v, const char *node);

/* The merge patch {"metadata":{"labels":{key: value}}} (value NULL: null, i.e. remove). */
cJSON *kpub_build_label_patch(const char *key, const char *value);

/*
 * The status the custom resource should have: state (the view's, "creating" when absent,
 * "invalid" when invalid_message is not NULL), primary, message (invalid_message when set),
 * epoch, observedGeneration (cr generation), ready "<running>/<members>", podstate (member
 * → "<role>/<state>"), syncState ([{name, ip, state}] for members with a sync state) and
 * conditions Ready (True when the state is ready) and Valid (False with reason InvalidSpec
 * when invalid_message is set). A condition keeps the lastTransitionTime it has in prev
 * (a status object, may be NULL) while its status is unchanged; otherwise it gets now (an
 * RFC 3339 time, e.g. "2026-11-25T00:00:00Z"). Nothing else in it depends on time, so
 * building twice from the same inputs and prev gives equal trees (kpub_status_equal).
 */
cJSON *kpub_build_status(const struct kpub_cr *cr, const struct kpub_view *v,
                         const char *invalid_message, const cJSON *prev, const char *now);

/* True when status a and b (from kpub_build_status, or a server's status) agree on every
 * field kpub_build_status writes. NULL equals only NULL. */
bool kpub_status_equal(const cJSON *a, const cJSON *b);

/*
 * The merge patch {"status": status} for the /status subresource, with null for every
 * podstate key of prev (may be NULL) that status no longer has.
 */
cJSON *kpub_build_status_patch(const cJSON *status, const cJSON *prev);

/* One Event to post. All strings borrowed. */
struct kpub_event_spec {
    const char *type;      /* "Normal" or "Warning" */
    const char *reason;    /* CamelCase */
    const char *message;   /* cut to 1024 bytes */
    const char *identity;  /* reportingInstance */
    uint64_t id;           /* unique per event: the name is "<cluster>.<16 hex digits of id>" */
    const char *now;       /* RFC 3339, seconds: firstTimestamp, lastTimestamp */
    const char *now_micro; /* RFC 3339 with microseconds: eventTime */
};

/* The core/v1 Event on the custom resource (namespace, involvedObject, source, count 1). */
cJSON *kpub_build_event(const struct kpub_cr *cr, const struct kpub_event_spec *ev);

#endif
