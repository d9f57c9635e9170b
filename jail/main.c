/*
 * codeward-jail — one execution in a fresh jail inside a worker container.
 *
 *   codeward-jail -w DIR [-p] [-k] [-t SIZE] [-s SIZE] [-f FILES]
 *       [-u UID:GID] -- PROGRAM ARGS...
 *
 * New user (the caller's uid and gid mapped to themselves), pid, mount, ipc,
 * uts and network namespaces; a private mount tree with a fresh tmpfs on
 * /tmp (SIZE bytes, -t, default 64M) and on /dev/shm (-s, default 16M), each
 * with at most FILES inodes (-f, default 16384; the agent passes the
 * policy's tmp-size, shm-size and tmp-files, as sockproxy gave them); DIR (the worker's staging
 * directory of this execution's inputs, owned by the caller) bound on
 * /mnt/data; with -p a fresh /proc of the new pid namespace, masked as
 * Docker masks its own, or nothing runs; loopback up and no other device.
 *
 * The process tree: this process waits outside the new pid namespace;
 * its child is the namespace's init (pid 1), which mounts, starts PROGRAM
 * as pid 2 and reaps until pid 2 has exited; then it exits with pid 2's
 * status and the kernel kills whatever else is left in the namespace. The
 * init dies with this process (parent-death signal), so killing this
 * process ends the whole execution.
 *
 * -u UID:GID is for gVisor, which has no mount namespace (jail_gvisor.c):
 * started as root with the worker's Sentry capabilities, the same pid, ipc,
 * uts and network namespaces without a user one, the same tree built under
 * a directory of its own and the program chrooted into it, always with a
 * fresh /proc (-p is implied), /tmp a fresh directory on the worker's /tmp
 * (-t and -f do not apply: that volume has the policy's caps; gVisor's
 * tmpfs has no inode limit), init and the program as UID:GID with no
 * capability left; this process keeps root to take the tree down, and
 * removes the jail's /tmp, when the program is gone. As root
 * without -u, and with -u when not root, it refuses.
 *
 * -k keeps the caller's fds 3 and 4 open into PROGRAM (and only into it):
 * a programmatic job's two pipes to the agent (issue 17), nothing else.
 *
 * Exit status: PROGRAM's, 128+N for a
 * signal N, 125 when the jail could not be built, 127 when PROGRAM could
 * not be executed.
 *
 * Trusts: its argv (the worker that starts it). Never: runs the program as
 * root or with a capability, keeps
 * a descriptor above 2 into the jail (above 4 with -k), or lets PROGRAM make a namespace or a
 * mount of its own (jail_filter: the loosening the worker container needs
 * for this helper does not reach the program).
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "jail.h"

static volatile sig_atomic_t init_pid;
static const int stop_signals[] = { SIGTERM, SIGINT, SIGHUP };

static void
usage(void)
{
	dprintf(STDERR_FILENO, "usage: codeward-jail -w DIR [-p] [-k] [-t SIZE] "
	    "[-s SIZE] [-f FILES] [-u UID:GID] -- PROGRAM [ARG...]\n");
	_exit(125);
}

static uint64_t
parse_size(const char *s, uint64_t max)
{
	char *end;
	unsigned long long v;
	uint64_t mult = 1;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *s < '0' || *s > '9')
		usage();
	if (*end == 'K' || *end == 'M' || *end == 'G') {
		mult = *end == 'K' ? 1024 : *end == 'M' ? 1024 * 1024 :
		    1024 * 1024 * 1024;
		end++;
	}
	if (*end != '\0' || v == 0 || v > max / mult)
		usage();
	return (uint64_t)v * mult;
}

/* -u UID:GID, both non-zero */
static void
parse_ids(const char *s, struct jail_conf *c)
{
	unsigned long u, g;
	char *end;

	errno = 0;
	u = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != ':' || *s < '0' || *s > '9')
		usage();
	s = end + 1;
	g = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || *s < '0' || *s > '9' ||
	    u == 0 || g == 0 || u > 65535 || g > 65535)
		usage();
	c->as_root = 1;
	c->uid = (uid_t)u;
	c->gid = (gid_t)g;
}

/* -R's descriptors: 3..99, digits only; -1 otherwise */
static int
reap_fd(const char *s)
{
	if (s[0] < '0' || s[0] > '9' || (s[1] != '\0' && (s[1] < '0' ||
	    s[1] > '9' || s[2] != '\0')))
		return -1;
	return s[1] == '\0' ? s[0] - '0' : (s[0] - '0') * 10 + s[1] - '0';
}

static void
on_signal(int sig)
{
	if (init_pid > 0)
		kill((pid_t)init_pid, SIGKILL);
}

int
main(int argc, char *argv[])
{
	struct jail_conf c = {
		.tmp_size = 64ULL << 20, .shm_size = 16ULL << 20,
		.files = 16384,
	};
	struct sigaction sa;
	char tree[64];
	int ch, status;
	size_t i;
	pid_t pid;

	/* cw_jail_enter's pid 1 (jail/enter.c) */
	if (argc == 4 && strcmp(argv[1], "-R") == 0 && reap_fd(argv[2]) > 2 &&
	    reap_fd(argv[3]) > 2)
		jail_reap(reap_fd(argv[2]), reap_fd(argv[3]));
	while ((ch = getopt(argc, argv, "+w:pkt:s:f:u:")) != -1) {
		switch (ch) {
		case 'w':
			c.workdir = optarg;
			break;
		case 'p':
			c.proc = 1;
			break;
		case 'k':
			jail_keep_ptc = 1;
			break;
		case 't':
			c.tmp_size = parse_size(optarg, 1ULL << 40);
			break;
		case 's':
			c.shm_size = parse_size(optarg, 1ULL << 40);
			break;
		case 'f':
			c.files = (uint32_t)parse_size(optarg, UINT32_MAX);
			break;
		case 'u':
			parse_ids(optarg, &c);
			break;
		default:
			usage();
		}
	}
	if (c.workdir == NULL || c.workdir[0] != '/' || optind >= argc)
		usage();
	c.argv = argv + optind;

	jail_seal();
	if (c.as_root ? jail_gvisor_unshare(&c, tree, sizeof(tree)) == -1 :
	    jail_unshare() == -1)
		jail_die("unshare");

	/* a worker that gives up on the execution ends all of it */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
		sigaction(stop_signals[i], &sa, NULL);

	if ((pid = jail_spawn(&c)) == -1)
		jail_die("fork");
	if (pid == 0) {		/* pid 2, sealed and filtered */
		execvp(c.argv[0], c.argv);
		dprintf(STDERR_FILENO, "codeward-jail: %s: %s\n", c.argv[0],
		    strerror(errno));
		_exit(127);
	}
	init_pid = pid;
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			jail_die("waitpid");
	if (c.as_root)
		jail_gvisor_release(&c, tree);
	return jail_exit_code(status);
}
