/*
 * tests/support/fake_agent.h
 *
 * A scripted agent for arbiter tests: it posts whatever report the test writes (any
 * instance roles, states, LSNs, epochs) to a real og-arbiter over HTTP and decodes the
 * desired state in the answer. A send is either synchronous, or started on a thread and
 * awaited later (a long poll held by the arbiter while the test does something else).
 * No PostgreSQL behind it: the test plays the database by editing the report.
 */
#ifndef OG_TESTS_FAKE_AGENT_H
#define OG_TESTS_FAKE_AGENT_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/desired.h"
#include "proto/report.h"

struct fake_agent;

/* An agent of node `node` reporting to base_url ("http://127.0.0.1:8080"). NULL on failure. */
struct fake_agent *fake_agent_new(const char *base_url, const char *node);
/* Waits for a send in flight (bounded by its HTTP timeout), then frees. NULL-safe. */
void fake_agent_free(struct fake_agent *fa);
/* Points the agent at another arbiter URL (after a restart on a new port). */
void fake_agent_set_url(struct fake_agent *fa, const char *base_url);

/* The report sent next, to edit freely (seq and known_generation are set by the sends). */
struct proto_report *fake_agent_report(struct fake_agent *fa);
/*
 * The instance (ns, cluster, member) of the next report, added when missing (state
 * stopped, role unknown, everything else zero).
 */
struct proto_instance_report *fake_agent_instance(struct fake_agent *fa, const char *ns,
                                                  const char *cluster, const char *member);
/* Drops an instance from the next report (no-op when absent). */
void fake_agent_drop_instance(struct fake_agent *fa, const char *member);

/*
 * Sends the report with seq + 1, known_generation = the generation of the last desired
 * state received, and wait_ms. Returns the HTTP status (the desired state is decoded and
 * kept on 200) or -errno when the arbiter was not reached or the answer did not decode.
 */
int fake_agent_send(struct fake_agent *fa, uint32_t wait_ms);
/* As fake_agent_send, on a thread; false when one is already in flight. */
bool fake_agent_send_async(struct fake_agent *fa, uint32_t wait_ms);
/*
 * Waits up to timeout_ms for the async send: returns its result (as fake_agent_send) and
 * the time from its start to its answer in *ret_elapsed_ms (may be NULL); -ETIMEDOUT when
 * still in flight.
 */
int fake_agent_wait(struct fake_agent *fa, uint64_t timeout_ms, uint64_t *ret_elapsed_ms);

/* The last desired state received (zeroed before the first). Valid until the next send. */
const struct proto_desired *fake_agent_desired(const struct fake_agent *fa);
/* The order for member in the last desired state, or NULL. */
const struct proto_instance_desired *fake_agent_order(const struct fake_agent *fa,
                                                      const char *member);
/* The generation of the last desired state received (0 before the first). */
uint64_t fake_agent_generation(const struct fake_agent *fa);
/* The last error text (HTTP error message or transport error), "" when none. */
const char *fake_agent_error(const struct fake_agent *fa);

#endif
