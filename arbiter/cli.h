/*
 * arbiter/cli.h
 *
 * og-arbiter's operator commands, thin clients of the REST API (proto/openapi.yaml):
 *
 *   og-arbiter status      [--server URL] [NS/NAME]
 *   og-arbiter switchover  [--server URL] NS/NAME [--to MEMBER]
 *   og-arbiter failover    [--server URL] NS/NAME [--to MEMBER]
 *   og-arbiter maintenance [--server URL] NS/NAME on|off
 *   og-arbiter apply       [--server URL] NS/NAME FILE.json
 *
 * --server defaults to $OG_ARBITER_URL, else http://127.0.0.1:8080. Flags may come before
 * or after the arguments. Errors print the API's own message. Each returns an exit code of
 * common/exitcode.h: EXIT_OK; EXIT_BAD_ARGS for bad arguments and for 400, 404, 422;
 * EXIT_RUNTIME for a refusal (409) or a server failure (500); EXIT_UNAVAIL when the
 * arbiter cannot be reached or answers 503. Each takes main's argc/argv shifted so that
 * argv[0] is the command name (cfg_dispatch).
 */
#ifndef OG_ARBITER_CLI_H
#define OG_ARBITER_CLI_H

#include <cjson/cJSON.h>
#include <stdio.h>

/* Prints the header line and member table of one cluster view (schema Cluster) to out. */
void cli_print_cluster(FILE *out, const cJSON *view);

int cli_status(int argc, char *argv[]);
int cli_switchover(int argc, char *argv[]);
int cli_failover(int argc, char *argv[]);
int cli_maintenance(int argc, char *argv[]);
int cli_apply(int argc, char *argv[]);

#endif
