/*
 * codeward-supervise — starts the daemons and restarts the one that dies.
 *
 *   codeward-supervise --run DIR --log DIR [--wait-socket PATH] \
 *       [--pair privd=/path/codeward-frontd [--listen ADDR:PORT]] \
 *       -- /path/codeward-sockproxy ARGS... -- /path/codeward-privd ARGS...
 *
 * Each program after a "--" is a child, named by its file name without
 * "codeward-"; they start in order (the next once PATH exists, when
 * --wait-socket names sockproxy's socket) and stop in reverse order.
 * privd and frontd are one child: privd spawns frontd; frontd leaves when
 * privd dies (its parent-death signal and its socketpair's end of file),
 * and with --pair privd=FRONTD privd is killed SV_PAIR_GRACE_MS after
 * frontd dies (pair.c). With --listen it binds the API's listener once
 * and hands it to that child at each start (systemd's LISTEN_FDS, fd 3),
 * so a connection made during the pair's restart waits in the backlog.
 *
 * Trusts: its own argv and nothing else; it parses no file, no socket, no
 * environment, only signals and its children's wait statuses.
 * Never: reads what the daemons send (their output goes to DIR/NAME.log
 * as it is), drops privileges or loads a seccomp filter itself: it runs as
 * root because the daemons start as root and drop their own, and a filter
 * would be inherited by every daemon it execs (SECURITY.md).
 *
 * A dead child: one log line with its name, its exit status or signal and
 * how long it ran, and a restart at once; a child that keeps dying within
 * SV_HEALTHY_MS of its start waits SV_BACKOFF_MIN_MS, then twice that, up
 * to SV_BACKOFF_MAX_MS. A process a dead child leaves (frontd, privd's
 * policy reader) is reaped here (it is a subreaper) and killed if it is
 * still there ORPHAN_GRACE_MS later. SIGTERM or SIGINT: SIGTERM to each
 * child, the last started first, STOP_GRACE_MS for each, then SIGKILL;
 * exit 0. DIR/supervise.status and DIR/NAME.pid say what runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "listen.h"
#include "log.h"
#include "supervise.h"
#include "util.h"

#define STOP_GRACE_MS	10000
#define ORPHAN_GRACE_MS	3000
#define SOCKET_POLL_MS	50
#define PAIR_FIND_MS	10000	/* a pair not spawned by then is not looked for */

static struct sv_child	children[SV_CHILDREN_MAX];
static size_t		nchildren;
static const char	*rundir, *logdir, *wait_socket, *pair_spec, *listen_spec;
static volatile sig_atomic_t got_stop;
static int		wake_pipe[2] = { -1, -1 };

static void
usage(void)
{
	fprintf(stderr,
	    "usage: codeward-supervise --run DIR --log DIR [--wait-socket PATH]\n"
	    "           [--pair NAME=PROGRAM [--listen ADDR:PORT]]\n"
	    "           -- PROGRAM [ARG...] [-- PROGRAM [ARG...]]...\n");
	exit(2);
}

static void
on_signal(int sig)
{
	int e = errno;

	if (sig == SIGTERM || sig == SIGINT)
		got_stop = sig;
	(void)!write(wake_pipe[1], "x", 1);
	errno = e;
}

/* argv[i..] split at each "--" into children, each named by its program */
static void
parse_children(int argc, char **argv, int i)
{
	while (i < argc) {
		struct sv_child *c;
		const char *base;
		size_t k;
		int end;

		if (nchildren == SV_CHILDREN_MAX)
			fatalx("at most %d programs", SV_CHILDREN_MAX);
		for (end = i; end < argc && strcmp(argv[end], "--") != 0; end++)
			;
		if (end == i || argv[i][0] != '/')
			fatalx("each program is an absolute path after '--'");
		c = &children[nchildren];
		base = strrchr(argv[i], '/') + 1;
		if (strncmp(base, "codeward-", 9) == 0)
			base += 9;
		if (base[0] == '\0' || strlen(base) >= sizeof(c->name) ||
		    strspn(base, "abcdefghijklmnopqrstuvwxyz0123456789-") !=
		    strlen(base))
			fatalx("'%s': not a program name for a log file", argv[i]);
		for (k = 0; k < nchildren; k++)
			if (strcmp(children[k].name, base) == 0)
				fatalx("'%s' is named twice", base);
		snprintf(c->name, sizeof(c->name), "%s", base);
		c->argv = &argv[i];
		argv[end < argc ? end : argc] = NULL;
		nchildren++;
		i = end + 1;
	}
	if (nchildren == 0)
		usage();
}

/* --pair NAME=PROGRAM: NAME's child running PROGRAM lives and dies with it */
static void
parse_pair(const char *spec)
{
	static char exe[PATH_MAX];
	const char *eq = strchr(spec, '=');
	size_t i;

	if (eq == NULL || realpath(eq + 1, exe) == NULL)
		fatalx("--pair %s: not NAME=PROGRAM with an existing PROGRAM", spec);
	for (i = 0; i < nchildren; i++) {
		if (strlen(children[i].name) == (size_t)(eq - spec) &&
		    strncmp(children[i].name, spec, (size_t)(eq - spec)) == 0) {
			children[i].pair_exe = exe;
			return;
		}
	}
	fatalx("--pair %s: no program named so", spec);
}

/*
 * --listen ADDR:PORT: the API's listener, bound once here and handed to the
 * pair's child (privd, which hands it to frontd) at each of its starts, so
 * that a client connecting while the pair restarts waits in the backlog
 * rather than being refused (common/listen.h).
 */
static void
hold_listener(const char *spec)
{
	char err[256];
	size_t i;
	int fd;

	if (pair_spec == NULL)
		fatalx("--listen %s: it goes to the --pair child; none named", spec);
	if ((fd = cw_listen_bind(spec, err, sizeof(err))) < 0)
		fatalx("--listen: %s", err);
	for (i = 0; i < nchildren; i++)
		if (children[i].pair_exe != NULL)
			children[i].listen_fd = fd;
	log_info("supervise: holding the listener %s for the pair", spec);
}

static struct sv_child *
child_of(pid_t pid)
{
	size_t i;

	for (i = 0; i < nchildren; i++)
		if (children[i].pid == pid)
			return &children[i];
	return NULL;
}

/* every wait status there is, without blocking: no SIGCHLD is lost */
static int
reap(int stopping, uint64_t *orphan_due)
{
	int status, changed = 0;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct sv_child *c = child_of(pid);
		char why[SV_REASON_MAX];

		if (c == NULL) {
			sv_reason(status, why, sizeof(why));
			log_info("supervise: pid %d, left by a dead daemon, "
			    "ended (%s)", (int)pid, why);
			continue;
		}
		sv_pair_forget(c);
		c->pair_kill_ms = 0;
		sv_ended(c, status, cw_now_ms(), stopping);
		*orphan_due = cw_now_ms() + ORPHAN_GRACE_MS;
		changed = 1;
	}
	if (pid < 0 && errno != ECHILD)
		log_warn("supervise: waitpid");
	return changed;
}

/* the next child may start: the one before it is up (its socket exists) */
static int
ready_for(size_t i)
{
	struct stat st;

	if (i == 0 || wait_socket == NULL)
		return 1;
	return children[i - 1].pid != 0 && stat(wait_socket, &st) == 0 &&
	    S_ISSOCK(st.st_mode);
}

static int
wait_ms(uint64_t now, uint64_t due, int cur)
{
	int ms;

	if (due == 0)
		return cur;
	ms = due <= now ? 0 : (due - now > 60000 ? 60000 : (int)(due - now));
	return cur < 0 || ms < cur ? ms : cur;
}

/*
 * Stop: SIGTERM to the last started child, up to STOP_GRACE_MS for it to
 * end, then SIGKILL; then the one before it. Returns when all are gone.
 */
static void
stop_all(uint64_t *orphan_due)
{
	size_t i;

	for (i = nchildren; i > 0; i--) {
		struct sv_child *c = &children[i - 1];
		uint64_t deadline = cw_now_ms() + STOP_GRACE_MS;
		int killed = 0;

		c->due_ms = 0;
		if (c->pid == 0)
			continue;
		log_info("supervise: stopping %s (pid %d)", c->name, (int)c->pid);
		kill(c->pid, SIGTERM);
		while (c->pid != 0) {
			struct pollfd pfd = { wake_pipe[0], POLLIN, 0 };
			char buf[64];

			if (!killed && cw_now_ms() >= deadline) {
				log_warnx("supervise: %s did not stop in %d s: "
				    "SIGKILL", c->name, STOP_GRACE_MS / 1000);
				kill(c->pid, SIGKILL);
				killed = 1;
			}
			(void)poll(&pfd, 1, 100);
			while (read(wake_pipe[0], buf, sizeof(buf)) > 0)
				;
			reap(1, orphan_due);
		}
		sv_write_status(rundir, children, nchildren, getpid());
	}
}

/* up to a second for the orphans to be gone (with kill_them: SIGKILL first) */
static void
orphans_settle(int kill_them, uint64_t *orphan_due)
{
	int i;

	for (i = 0; i < 20 && sv_orphans(children, nchildren, kill_them && i == 0) > 0;
	    i++) {
		struct timespec ts = { 0, 50000000L };

		nanosleep(&ts, NULL);
		reap(1, orphan_due);
	}
}

static void
finish(uint64_t *orphan_due)
{
	size_t k;

	/* a pair that ends now ends because its parent is stopping */
	for (k = 0; k < nchildren; k++) {
		sv_pair_forget(&children[k]);
		children[k].pair_kill_ms = 0;
	}
	stop_all(orphan_due);
	/* what the daemons left: a second to end on its own, then killed */
	orphans_settle(0, orphan_due);
	orphans_settle(1, orphan_due);
	sv_write_status(rundir, children, nchildren, getpid());
	log_info("supervise: stopped");
	exit(0);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "run", required_argument, NULL, 'r' },
		{ "log", required_argument, NULL, 'l' },
		{ "wait-socket", required_argument, NULL, 'w' },
		{ "pair", required_argument, NULL, 'p' },
		{ "listen", required_argument, NULL, 'L' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t orphan_due = 0, waiting_since = 0;
	struct sigaction sa;
	struct stat st;
	size_t next = 0, i;
	int ch;

	log_init("supervise");
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'r': rundir = optarg; break;
		case 'l': logdir = optarg; break;
		case 'w': wait_socket = optarg; break;
		case 'p': pair_spec = optarg; break;
		case 'L': listen_spec = optarg; break;
		default: usage();
		}
	}
	/* getopt_long consumed the first "--" */
	if (rundir == NULL || logdir == NULL || optind >= argc ||
	    strcmp(argv[optind - 1], "--") != 0)
		usage();
	parse_children(argc, argv, optind);
	for (i = 0; i < nchildren; i++) {
		children[i].pair_fd = -1;
		children[i].listen_fd = -1;
	}
	if (pair_spec != NULL)
		parse_pair(pair_spec);
	if (listen_spec != NULL)
		hold_listener(listen_spec);

	if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
		fatal("pipe2");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGHUP, SIG_IGN);	/* a reload is each daemon's SIGHUP */
	signal(SIGPIPE, SIG_IGN);
	/* frontd, orphaned by privd's death, comes here to be reaped */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0)
		fatal("PR_SET_CHILD_SUBREAPER");
	/* a socket left by a killed sockproxy would look ready */
	if (wait_socket != NULL && lstat(wait_socket, &st) == 0 &&
	    S_ISSOCK(st.st_mode) && unlink(wait_socket) != 0)
		fatal("unlink %s", wait_socket);
	log_info("supervise: pid %d, %zu programs, status in %s/supervise.status",
	    (int)getpid(), nchildren, rundir);

	for (;;) {
		struct pollfd pfd[1 + SV_CHILDREN_MAX];
		uint64_t now = cw_now_ms();
		int timeout = -1, changed = 0;
		nfds_t npfd = 1;
		char buf[64];

		if (got_stop) {
			log_info("supervise: signal %d: stopping", (int)got_stop);
			finish(&orphan_due);
		}
		/* the first start, in order */
		while (next < nchildren && ready_for(next)) {
			if (sv_start(&children[next], logdir, rundir) != 0)
				children[next].due_ms = now + SV_BACKOFF_MAX_MS;
			next++;
			changed = 1;
			waiting_since = 0;
		}
		if (next < nchildren) {
			if (waiting_since == 0)
				waiting_since = now;
			else if (now - waiting_since > 10000) {
				log_warnx("supervise: %s still waits for %s",
				    children[next].name, wait_socket);
				waiting_since = now;
			}
			timeout = SOCKET_POLL_MS;
		}
		/* restarts that are due */
		for (i = 0; i < next; i++) {
			struct sv_child *c = &children[i];

			if (c->pid == 0 && c->due_ms != 0 && c->due_ms <= now) {
				if (sv_start(c, logdir, rundir) != 0)
					c->due_ms = now + SV_BACKOFF_MAX_MS;
				changed = 1;
			}
			timeout = wait_ms(now, c->due_ms, timeout);
		}
		/* pairs: found soon after their parent starts, then watched */
		pfd[0] = (struct pollfd){ wake_pipe[0], POLLIN, 0 };
		for (i = 0; i < next; i++) {
			struct sv_child *c = &children[i];

			timeout = wait_ms(now, sv_pair_grace(c, now), timeout);
			if (c->pair_exe == NULL || c->pid == 0 || c->pair_kill_ms != 0)
				continue;
			if (c->pair_fd < 0 && sv_pair_find(c) != 0) {
				if (c->started_ms + PAIR_FIND_MS > now)
					timeout = wait_ms(now, now + SOCKET_POLL_MS,
					    timeout);
				continue;
			}
			pfd[npfd++] = (struct pollfd){ c->pair_fd, POLLIN, 0 };
		}
		if (orphan_due != 0 && orphan_due <= now) {
			sv_orphans(children, nchildren, 1);
			orphan_due = 0;
		}
		timeout = wait_ms(now, orphan_due, timeout);
		if (changed)
			sv_write_status(rundir, children, nchildren, getpid());

		if (poll(pfd, npfd, timeout) < 0 && errno != EINTR)
			fatal("poll");
		while (read(wake_pipe[0], buf, sizeof(buf)) > 0)
			;
		for (i = 0; i < nchildren; i++) {
			nfds_t k;

			for (k = 1; k < npfd; k++)
				if (pfd[k].revents != 0 &&
				    pfd[k].fd == children[i].pair_fd && !got_stop)
					sv_pair_ended(&children[i], cw_now_ms());
		}
		if (reap(0, &orphan_due))
			sv_write_status(rundir, children, nchildren, getpid());
	}
}
