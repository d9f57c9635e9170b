/*
 * One supervised child: started with its log as stdout and stderr, its end
 * logged with the reason and how long it ran, its restart scheduled with a
 * backoff that doubles while it keeps dying young, and every child's state
 * in the status file the operator's `./codeward status` reads.
 */
#include "supervise.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "listen.h"
#include "log.h"
#include "util.h"

uint32_t
sv_backoff(uint32_t *backoff_ms, uint64_t ran_ms)
{
	uint32_t delay;

	if (ran_ms >= SV_HEALTHY_MS)
		*backoff_ms = 0;
	/* the first death after a healthy run: at once */
	delay = *backoff_ms;
	if (*backoff_ms == 0)
		*backoff_ms = SV_BACKOFF_MIN_MS;
	else if (*backoff_ms < SV_BACKOFF_MAX_MS / 2)
		*backoff_ms *= 2;
	else
		*backoff_ms = SV_BACKOFF_MAX_MS;
	return delay;
}

void
sv_reason(int status, char *out, size_t outlen)
{
	if (WIFEXITED(status))
		snprintf(out, outlen, "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(out, outlen, "signal %d, SIG%s%s", WTERMSIG(status),
		    sigabbrev_np(WTERMSIG(status)) ? sigabbrev_np(WTERMSIG(status)) : "?",
		    WTERMSIG(status) == SIGSYS ? ", its seccomp filter refused "
		    "a syscall" : "");
	else
		snprintf(out, outlen, "status 0x%x", (unsigned int)status);
}

/* rundir/NAME.pid, for `./codeward policy apply` (its SIGHUP) */
static void
write_pidfile(const char *rundir, const char *name, pid_t pid)
{
	char path[4096], tmp[4096 + 8];
	int fd;

	snprintf(path, sizeof(path), "%s/%s.pid", rundir, name);
	if (pid == 0) {
		unlink(path);
		return;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0 ||
	    dprintf(fd, "%d\n", (int)pid) < 0 || close(fd) != 0 ||
	    rename(tmp, path) != 0)
		log_warn("write_pidfile: %s", path);
}

/*
 * In the child, before its exec: the held listener on fd 3 (without
 * close-on-exec) and systemd's two variables naming it (the supervisor is
 * single-threaded: setenv after fork is safe here).
 */
static int
hand_listener(int fd)
{
	char pid[24];

	if (fd == CW_LISTEN_FD_FIRST) {
		if (fcntl(fd, F_SETFD, 0) != 0)
			return -1;
	} else if (dup2(fd, CW_LISTEN_FD_FIRST) < 0)
		return -1;
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	if (setenv("LISTEN_FDS", "1", 1) != 0 || setenv("LISTEN_PID", pid, 1) != 0)
		return -1;
	return 0;
}

int
sv_start(struct sv_child *c, const char *logdir, const char *rundir)
{
	char path[4096];
	int logfd = -1, nullfd;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/%s.log", logdir, c->name);
	/* opened again at each start: a rotated log is followed */
	if ((logfd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0640)) < 0) {
		log_warn("sv_start: %s: log %s", c->name, path);
		return -1;
	}
	if ((nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
		log_warn("sv_start: /dev/null");
		close(logfd);
		return -1;
	}
	if ((pid = fork()) < 0) {
		log_warn("sv_start: %s: fork", c->name);
		close(logfd);
		close(nullfd);
		return -1;
	}
	if (pid == 0) {
		sigset_t none;
		int sig;

		for (sig = 1; sig < NSIG; sig++)
			signal(sig, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (dup2(nullfd, STDIN_FILENO) < 0 ||
		    dup2(logfd, STDOUT_FILENO) < 0 ||
		    dup2(logfd, STDERR_FILENO) < 0)
			_exit(127);
		if (c->listen_fd >= 0 && hand_listener(c->listen_fd) != 0)
			_exit(127);
		execv(c->argv[0], c->argv);
		dprintf(STDERR_FILENO, "codeward-supervise: exec %s: %s\n",
		    c->argv[0], strerror(errno));
		_exit(127);
	}
	close(logfd);
	close(nullfd);
	c->pid = pid;
	c->started_ms = cw_now_ms();
	c->started_at = time(NULL);
	c->due_ms = 0;
	write_pidfile(rundir, c->name, pid);
	log_info("supervise: started %s, pid %d%s", c->name, (int)pid,
	    c->restarts > 0 ? " (a restart)" : "");
	return 0;
}

void
sv_ended(struct sv_child *c, int status, uint64_t now_ms, int stopping)
{
	uint64_t ran = now_ms - c->started_ms;
	uint32_t delay;

	sv_reason(status, c->last, sizeof(c->last));
	c->pid = 0;
	if (stopping) {
		log_info("supervise: %s stopped (%s) after %llu.%llu s", c->name,
		    c->last, (unsigned long long)(ran / 1000),
		    (unsigned long long)(ran % 1000 / 100));
		return;
	}
	delay = sv_backoff(&c->backoff_ms, ran);
	c->due_ms = now_ms + delay;
	c->restarts++;
	log_warnx("supervise: %s died (%s) after %llu.%llu s; restart %u "
	    "in %u ms", c->name, c->last, (unsigned long long)(ran / 1000),
	    (unsigned long long)(ran % 1000 / 100), c->restarts, delay);
}

void
sv_write_status(const char *rundir, const struct sv_child *c, size_t n,
    pid_t self)
{
	char path[4096], tmp[4096 + 8], when[32];
	size_t i;
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "%s/supervise.status", rundir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0 ||
	    (f = fdopen(fd, "w")) == NULL) {
		log_warn("sv_write_status: %s", tmp);
		if (fd >= 0)
			close(fd);
		return;
	}
	fprintf(f, "# codeward-supervise %d: NAME PID STARTED RESTARTS LAST-EXIT "
	    "(pid 0: waiting to restart)\n", (int)self);
	for (i = 0; i < n; i++) {
		struct tm tm;

		if (c[i].started_at != 0) {
			gmtime_r(&c[i].started_at, &tm);
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		} else
			snprintf(when, sizeof(when), "-");
		fprintf(f, "%s\t%d\t%s\t%u\t%s\n", c[i].name, (int)c[i].pid, when,
		    c[i].restarts, c[i].last[0] ? c[i].last : "-");
	}
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		log_warn("sv_write_status: %s", path);
	for (i = 0; i < n; i++)
		write_pidfile(rundir, c[i].name, c[i].pid);
}

ssize_t
sv_read_small(const char *path, char *buf, size_t size)
{
	ssize_t len;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	len = read(fd, buf, size - 1);
	close(fd);
	if (len >= 0)
		buf[len] = '\0';
	return len;
}

/* the parent pid in /proc/PID/stat: after the last ')' (the name may hold one) */
static pid_t
parent_of(const char *pid)
{
	char path[64], buf[512], *p;

	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	if (sv_read_small(path, buf, sizeof(buf)) <= 0)
		return -1;
	if ((p = strrchr(buf, ')')) == NULL || p[1] != ' ' || p[2] == '\0' ||
	    p[3] != ' ')
		return -1;
	return (pid_t)strtol(p + 4, NULL, 10);
}

size_t
sv_orphans(const struct sv_child *c, size_t n, int kill_them)
{
	struct dirent *e;
	size_t killed = 0, i;
	pid_t self = getpid();
	DIR *d;

	if ((d = opendir("/proc")) == NULL) {
		log_warn("sv_kill_orphans: /proc");
		return 0;
	}
	while ((e = readdir(d)) != NULL) {
		pid_t pid;
		int ours = 0;

		if (e->d_name[0] < '1' || e->d_name[0] > '9' ||
		    parent_of(e->d_name) != self)
			continue;
		pid = (pid_t)strtol(e->d_name, NULL, 10);
		for (i = 0; i < n; i++)
			if (c[i].pid == pid)
				ours = 1;
		if (ours)
			continue;
		killed++;
		if (!kill_them)
			continue;
		log_warnx("supervise: pid %d, left by a dead daemon, still runs: "
		    "killed", (int)pid);
		kill(pid, SIGKILL);
	}
	closedir(d);
	return killed;
}
