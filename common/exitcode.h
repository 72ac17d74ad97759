/*
 * common/exitcode.h
 *
 * Exit codes of every og-operator binary (after pg_auto_failover's defaults.h), so that
 * a supervisor can tell "fix your flags" from "restart me" from "do not restart".
 */
#ifndef OG_COMMON_EXITCODE_H
#define OG_COMMON_EXITCODE_H

#define EXIT_OK         0 /* success */
#define EXIT_BAD_ARGS   1 /* unknown flag, bad value: fix the command line */
#define EXIT_BAD_CONFIG 2 /* configuration or environment invalid */
#define EXIT_FATAL      3 /* unrecoverable: do not restart */
#define EXIT_RUNTIME    4 /* a runtime failure: restarting may help */
#define EXIT_UNAVAIL    5 /* a peer (server, socket) could not be reached */

#endif
