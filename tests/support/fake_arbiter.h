/*
 * tests/support/fake_arbiter.h
 *
 * A scripted peer of the agent protocol (proto/report.h, proto/desired.h) for integration
 * tests: a common/http server on 127.0.0.1 (ephemeral port) answering POST /api/v1/report
 * with the desired state the test set for the reporting node, honouring long polls (a report
 * with wait_ms and known_generation equal to the current generation is held until the
 * desired state changes or wait_ms passes), and keeping the latest report of every node.
 * It can stop listening and listen again on the same port (an arbiter outage), and answer
 * raw text instead of a desired state (a broken arbiter).
 */
#ifndef OG_TESTS_FAKE_ARBITER_H
#define OG_TESTS_FAKE_ARBITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/desired.h"
#include "proto/report.h"

#define FAKE_ARBITER_MAX_NODES 8

struct fake_arbiter;

/* Starts listening on 127.0.0.1:0. 0 and *ret, or -errno with err filled. */
int fake_arbiter_start(struct fake_arbiter **ret, char *err, size_t errsize);

/* "http://127.0.0.1:<port>", valid for the life of fa. */
const char *fake_arbiter_url(const struct fake_arbiter *fa);

/*
 * Answers d (copied) to the reports of node d->node from now on; its generation is replaced
 * by a new, higher one, and held long polls of that node are answered at once.
 */
void fake_arbiter_set_desired(struct fake_arbiter *fa, const struct proto_desired *d);

/* Answers text (copied; status 200) to node's reports instead of a desired state; NULL stops. */
void fake_arbiter_set_raw(struct fake_arbiter *fa, const char *node, const char *text);

/* Heartbeat (ms) written into desired states of nodes the test has not set (default 1000). */
void fake_arbiter_set_heartbeat(struct fake_arbiter *fa, uint32_t heartbeat_ms);

/* Copies node's latest report into *ret (heap-sized); false when none arrived yet. */
bool fake_arbiter_report(struct fake_arbiter *fa, const char *node, struct proto_report *ret);

/* How many valid reports node sent so far. */
uint64_t fake_arbiter_report_count(struct fake_arbiter *fa, const char *node);

/* True when any report of node so far showed member in state. */
bool fake_arbiter_seen_state(struct fake_arbiter *fa, const char *node, const char *member,
                             enum proto_state state);

/* Stops listening (held polls are answered first): agents get "connection refused". */
void fake_arbiter_pause(struct fake_arbiter *fa);

/* Listens again on the same port. 0 or -errno (retried a few times on "address in use"). */
int fake_arbiter_resume(struct fake_arbiter *fa);

/* Stops and frees fa. NULL-safe. */
void fake_arbiter_free(struct fake_arbiter *fa);

/* The instance report of member in rep, or NULL. */
const struct proto_instance_report *fake_report_find(const struct proto_report *rep,
                                                     const char *member);

#endif
