/*
 * The pair rule. privd spawns frontd and exits when frontd dies, but only
 * after draining its runs, whose answers no one can receive any more; the
 * supervisor watches frontd through a pidfd and kills privd SV_PAIR_GRACE_MS
 * later (time for privd to answer the connections frontd left, and no
 * more), so the pair is back within the restart delay. The dead pair's sandboxes are
 * swept by the next privd at its start.
 */
#include "supervise.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"

/*
 * 0 when PID runs 'want': the real path of its argv[0] (privd execs frontd
 * by its absolute path). /proc/PID/cmdline, not /proc/PID/exe: frontd,
 * once it has dropped its privileges, is not dumpable, and reading its exe
 * link would need CAP_SYS_PTRACE.
 */
static int
exe_is(pid_t pid, const char *want)
{
	char path[64], arg0[PATH_MAX], real[PATH_MAX];

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	if (sv_read_small(path, arg0, sizeof(arg0)) <= 0)
		return -1;
	if (arg0[0] != '/' || realpath(arg0, real) == NULL)
		return -1;
	return strcmp(real, want) == 0 ? 0 : -1;
}

int
sv_pair_find(struct sv_child *c)
{
	char path[64], buf[4096], *p, *end;
	int fd;

	if (c->pair_exe == NULL || c->pid == 0 || c->pair_fd >= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)c->pid,
	    (int)c->pid);
	if (sv_read_small(path, buf, sizeof(buf)) <= 0)
		return -1;
	for (p = buf; *p != '\0'; p = end) {
		long pid = strtol(p, &end, 10);

		if (end == p)
			break;
		if (pid <= 0 || exe_is((pid_t)pid, c->pair_exe) != 0)
			continue;
		if ((fd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0)) < 0) {
			log_warn("sv_pair_find: pidfd_open %ld", pid);
			return -1;
		}
		c->pair_pid = (pid_t)pid;
		c->pair_fd = fd;
		return 0;
	}
	return -1;
}

void
sv_pair_ended(struct sv_child *c, uint64_t now_ms)
{
	uint64_t ran = now_ms - c->started_ms;
	const char *pair = strrchr(c->pair_exe, '/') + 1;

	if (strncmp(pair, "codeward-", 9) == 0)
		pair += 9;
	log_warnx("supervise: %s's %s (pid %d) ended, %llu.%llu s after %s "
	    "started: %s (pid %d) goes with it, SIGKILL in %d ms", c->name,
	    pair, (int)c->pair_pid, (unsigned long long)(ran / 1000),
	    (unsigned long long)(ran % 1000 / 100), c->name, c->name,
	    (int)c->pid, SV_PAIR_GRACE_MS);
	if (c->pid != 0)
		c->pair_kill_ms = now_ms + SV_PAIR_GRACE_MS;
	sv_pair_forget(c);
}

uint64_t
sv_pair_grace(struct sv_child *c, uint64_t now_ms)
{
	if (c->pair_kill_ms == 0 || c->pid == 0)
		return c->pair_kill_ms = 0;
	if (c->pair_kill_ms > now_ms)
		return c->pair_kill_ms;
	kill(c->pid, SIGKILL);
	return c->pair_kill_ms = 0;
}

void
sv_pair_forget(struct sv_child *c)
{
	if (c->pair_fd >= 0)
		close(c->pair_fd);
	c->pair_fd = -1;
	c->pair_pid = 0;
}
