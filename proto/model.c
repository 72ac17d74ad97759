/*
 * proto/model.c
 *
 * Layer: core. String forms of the shared enums; each switch has no default so that
 * -Wswitch flags a value added without its name.
 */
#include "proto/model.h"

#include <errno.h>
#include <string.h>

const char *proto_role_to_string(enum proto_role v)
{
    switch (v) {
    case PROTO_ROLE_UNKNOWN:
        return "unknown";
    case PROTO_ROLE_PRIMARY:
        return "primary";
    case PROTO_ROLE_STANDBY:
        return "standby";
    case PROTO_ROLE_LEADER:
        return "leader";
    case _PROTO_ROLE_MAX:
        break;
    }
    return "unknown";
}

const char *proto_state_to_string(enum proto_state v)
{
    switch (v) {
    case PROTO_STATE_UNKNOWN:
        return "unknown";
    case PROTO_STATE_CREATING:
        return "creating";
    case PROTO_STATE_RUNNING:
        return "running";
    case PROTO_STATE_RESTARTING:
        return "restarting";
    case PROTO_STATE_FAILED:
        return "failed";
    case PROTO_STATE_STOPPED:
        return "stopped";
    case PROTO_STATE_REBUILDING:
        return "rebuilding";
    case PROTO_STATE_FENCED:
        return "fenced";
    case PROTO_STATE_LOST:
        return "lost";
    case _PROTO_STATE_MAX:
        break;
    }
    return "unknown";
}

const char *proto_repl_state_to_string(enum proto_repl_state v)
{
    switch (v) {
    case PROTO_REPL_STATE_UNKNOWN:
        return "unknown";
    case PROTO_REPL_STATE_STARTUP:
        return "startup";
    case PROTO_REPL_STATE_CATCHUP:
        return "catchup";
    case PROTO_REPL_STATE_STREAMING:
        return "streaming";
    case PROTO_REPL_STATE_BACKUP:
        return "backup";
    case PROTO_REPL_STATE_STOPPING:
        return "stopping";
    case _PROTO_REPL_STATE_MAX:
        break;
    }
    return "unknown";
}

const char *proto_sync_state_to_string(enum proto_sync_state v)
{
    switch (v) {
    case PROTO_SYNC_STATE_UNKNOWN:
        return "unknown";
    case PROTO_SYNC_STATE_ASYNC:
        return "async";
    case PROTO_SYNC_STATE_POTENTIAL:
        return "potential";
    case PROTO_SYNC_STATE_SYNC:
        return "sync";
    case PROTO_SYNC_STATE_QUORUM:
        return "quorum";
    case _PROTO_SYNC_STATE_MAX:
        break;
    }
    return "unknown";
}

/* Shared lookup: index 1.._max-1 whose name matches; 0 ("unknown") never parses. */
static int model_lookup(const char *s, int max, const char *(*name)(int), int *ret)
{
    if (!s) {
        return -EINVAL;
    }
    for (int v = 1; v < max; v++) {
        if (strcmp(s, name(v)) == 0) {
            *ret = v;
            return 0;
        }
    }
    return -EINVAL;
}

static const char *role_name(int v)
{
    return proto_role_to_string((enum proto_role) v);
}

static const char *state_name(int v)
{
    return proto_state_to_string((enum proto_state) v);
}

static const char *repl_name(int v)
{
    return proto_repl_state_to_string((enum proto_repl_state) v);
}

static const char *sync_name(int v)
{
    return proto_sync_state_to_string((enum proto_sync_state) v);
}

int proto_role_from_string(const char *s, enum proto_role *ret)
{
    int v;
    int r = model_lookup(s, _PROTO_ROLE_MAX, role_name, &v);
    if (r == 0) {
        *ret = (enum proto_role) v;
    }
    return r;
}

int proto_state_from_string(const char *s, enum proto_state *ret)
{
    int v;
    int r = model_lookup(s, _PROTO_STATE_MAX, state_name, &v);
    if (r == 0) {
        *ret = (enum proto_state) v;
    }
    return r;
}

int proto_repl_state_from_string(const char *s, enum proto_repl_state *ret)
{
    int v;
    int r = model_lookup(s, _PROTO_REPL_STATE_MAX, repl_name, &v);
    if (r == 0) {
        *ret = (enum proto_repl_state) v;
    }
    return r;
}

int proto_sync_state_from_string(const char *s, enum proto_sync_state *ret)
{
    int v;
    int r = model_lookup(s, _PROTO_SYNC_STATE_MAX, sync_name, &v);
    if (r == 0) {
        *ret = (enum proto_sync_state) v;
    }
    return r;
}
