/*
 * agent/ctl.h
 *
 * `og-agent ctl`: the command-line client of the agent's ops socket (agent/ops.h, wire
 * format proto/ops.h), in the manner of `patronictl` and `pg_autoctl show state`:
 *
 *   og-agent ctl [--socket PATH] [--json] [--timeout DURATION] COMMAND [ARGS]
 *     status | start MEMBER | stop MEMBER | restart MEMBER | backup MEMBER | maintenance on|off
 *
 * Options may come before or after the command. Exit codes (common/exitcode.h): EXIT_OK,
 * EXIT_BAD_ARGS for usage errors, EXIT_UNAVAIL when the socket cannot be reached or does
 * not answer in time, EXIT_RUNTIME when the agent refused or failed the operation (or sent
 * an answer that cannot be read).
 */
#ifndef OG_AGENT_CTL_H
#define OG_AGENT_CTL_H

#include <stdint.h>

#include "common/errbuf.h"
#include "proto/ops.h"

/*
 * The `ctl` subcommand (struct cfg_command): argv[0] is "ctl". Prints results to stdout and
 * errors to stderr; returns an exit code.
 */
int cmd_ctl(int argc, char *argv[]);

/*
 * One round trip on the socket at socket_path: sends req (valid), waits at most timeout_ms
 * in all for the response, and decodes it into *ret (written only on success; release with
 * proto_ops_response_done). A response that says ok:false is a success here: the caller
 * reads ret->code and ret->message. Returns 0; -ENAMETOOLONG (path); the connect errno
 * (-ENOENT, -ECONNREFUSED, -EACCES, -EAGAIN when the agent's backlog is full); -ETIMEDOUT;
 * -ECONNRESET when the agent closed without answering; -EPROTO when the answer cannot be
 * decoded. eb says which.
 */
int ctl_request(const char *socket_path, const struct proto_ops_request *req, uint64_t timeout_ms,
                struct proto_ops_response *ret, struct errbuf *eb);

#endif
