/*
 * Process hardening and the stop request (see process.h).
 */
#include "core/compat.h"
#include "aws/process.h"

#include <dirent.h>
#include <sys/prctl.h>
#include <sys/resource.h>

int process_harden(void)
{
	struct rlimit none = { 0, 0 };
	int rc = 0;

	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		rc = -1;
	if (setrlimit(RLIMIT_CORE, &none) < 0)
		rc = -1;
	return rc;
}

void process_cloexec_all(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char *end;
		long fd = strtol(e->d_name, &end, 10);
		int flags;
		if (*end || end == e->d_name || fd < 3 || fd == dirfd(d))
			continue;
		flags = fcntl((int)fd, F_GETFD);
		if (flags >= 0 && !(flags & FD_CLOEXEC))
			fcntl((int)fd, F_SETFD, flags | FD_CLOEXEC);
	}
	closedir(d);
}

static volatile sig_atomic_t first_signal;

static void on_signal(int sig)
{
	struct sigaction dfl;

	if (!first_signal) {
		first_signal = sig;
		return;
	}
	/* a second one: the default action from now on, and take this one too */
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigaction(SIGINT, &dfl, NULL);
	sigaction(SIGTERM, &dfl, NULL);
	raise(sig);
}

void interrupt_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGINT);
	sigaddset(&sa.sa_mask, SIGTERM);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int interrupt_signal(void)
{
	return first_signal;
}

const char *interrupt_name(int sig)
{
	return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "a signal";
}
