/*
 * common/signals.h
 *
 * Process signals as flags plus a self-pipe: the handlers only set volatile sig_atomic_t
 * flags and write one byte to a non-blocking pipe, and the main loop polls the pipe's read
 * end and advances its state in one place (pg_auto_failover signals.c, PostgreSQL's
 * postmaster). SIGTERM and SIGINT ask to stop, SIGHUP asks to reload, SIGPIPE is ignored so
 * that a closed socket is an EPIPE, not a death.
 */
#ifndef OG_COMMON_SIGNALS_H
#define OG_COMMON_SIGNALS_H

#include <stdbool.h>

#include "common/errbuf.h"

/*
 * Creates the self-pipe (O_CLOEXEC, O_NONBLOCK) and installs the handlers. Call once from
 * main before any thread starts; a second call is a no-op returning 0. Returns 0, or -errno
 * (pipe2/sigaction failure, detail in eb).
 */
int signals_setup(struct errbuf *eb);
/* Read end of the self-pipe for poll(POLLIN), or -1 before signals_setup. */
int signals_fd(void);
/* Reads and discards every pending wakeup byte (non-blocking; safe before setup). */
void signals_drain(void);
/* True once SIGTERM or SIGINT arrived or signals_request_stop was called; stays true. */
bool signals_should_stop(void);
/* True when SIGHUP arrived since the last call; clears the flag (several SIGHUPs merge). */
bool signals_take_reload(void);
/* Same as receiving SIGTERM: sets the stop flag and wakes the poller (tests, fatal paths). */
void signals_request_stop(void);

#endif
