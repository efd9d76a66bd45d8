#ifndef IAMKEYS_PROCESS_H
#define IAMKEYS_PROCESS_H
/*
 * The process itself: hardening at start, and SIGINT/SIGTERM as a request
 * to stop between steps (docs/safety.md, "Locking and process hardening").
 */

/*
 * No core dumps and no ptrace by other processes of the same user: a core
 * of a rotation holds new secrets and the caller's own. Sets
 * PR_SET_DUMPABLE to 0 and RLIMIT_CORE (soft and hard) to 0. 0, or -1 when
 * either failed (errno set).
 */
int process_harden(void);

/*
 * Sets FD_CLOEXEC on every open descriptor from 3 up (read from
 * /proc/self/fd): for descriptors libraries open without it (libcurl's
 * wakeup socket pair). Children are started with everything from 3 up
 * closed anyway; this is the second line.
 */
void process_cloexec_all(void);

/*
 * SIGINT and SIGTERM no longer end the process: they set a flag (SA_RESTART,
 * so the AWS call in flight completes), which long-running commands check
 * between users and steps. A second signal of either kind restores the
 * default action, so pressing ^C twice still ends the process at once.
 */
void interrupt_install(void);
/* The first of SIGINT / SIGTERM received since interrupt_install, or 0. */
int interrupt_signal(void);
/* "SIGINT", "SIGTERM" (for messages). */
const char *interrupt_name(int sig);

#endif
