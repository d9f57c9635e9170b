#include "filter.h"

#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"

#if defined(__SANITIZE_ADDRESS__)
#define CW_SANITIZED	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CW_SANITIZED	1
#endif
#endif

#ifdef CW_SANDBOX_DEBUG
#define DEFAULT_ACTION	SCMP_ACT_LOG
#else
#define DEFAULT_ACTION	SCMP_ACT_KILL_PROCESS
#endif

#define SC(name)	SCMP_SYS(name)

/*
 * The lists hold what the daemons were seen to call under load (strace -f
 * of the whole appliance serving every route and every kind of run, then
 * stopped), plus the few calls of paths a trace rarely meets, each named.
 * SECURITY.md carries the same lists with one line of why per call; the
 * security suite compares the two.
 *
 * Every daemon: fd I/O, memory, signals, threads, time, exit.
 */
static const int base_syscalls[] = {
	SC(read), SC(write), SC(close), SC(lseek), SC(fcntl), SC(newfstatat),
	SC(poll),
	SC(brk), SC(mmap), SC(munmap), SC(mremap), SC(madvise), SC(mprotect),
	SC(rt_sigaction), SC(rt_sigprocmask), SC(rt_sigreturn),
	SC(futex), SC(set_robust_list), SC(rseq), SC(exit),
	SC(clock_gettime), SC(clock_nanosleep), SC(restart_syscall),
	SC(getpid), SC(gettid), SC(tgkill), SC(exit_group),
};

/*
 * frontd: the HTTP server on the listener it bound before the drop, the file
 * store below its directory fd, memfds for the code it passes on, SCM_RIGHTS
 * on the socketpair. No socket, connect, bind or execve. Rules with
 * arguments: prctl (below).
 */
static const int frontd_syscalls[] = {
	SC(accept4), SC(recvfrom), SC(sendto), SC(recvmsg), SC(sendmsg),
	SC(shutdown), SC(setsockopt), SC(getsockopt), SC(getsockname),
	SC(eventfd2),
	SC(openat), SC(mkdirat), SC(unlinkat), SC(renameat), SC(getdents64),
	SC(fsync), SC(dup), SC(pread64), SC(sendfile),
	SC(memfd_create), SC(getrandom),
};

/*
 * privd: its HTTP client over AF_UNIX to sockproxy, memfds for what it
 * relays, SCM_RIGHTS on the socketpair, frontd's exit status. No openat, no
 * execve. Rules with arguments: socket (below).
 */
static const int privd_syscalls[] = {
	SC(connect), SC(recvfrom), SC(sendto), SC(recvmsg), SC(sendmsg),
	SC(shutdown), SC(memfd_create), SC(pread64), SC(wait4),
};

/*
 * sockproxy: accept from privd, connect to dockerd (socket: AF_UNIX only,
 * below), send and receive, one thread per connection. No file is opened
 * after start-up.
 */
static const int sockproxy_syscalls[] = {
	SC(accept4), SC(connect), SC(recvfrom), SC(sendto),
};

static void
allow_all(scmp_filter_ctx ctx, const int *list, size_t n, const char *what)
{
	size_t i;
	int r;

	for (i = 0; i < n; i++) {
		if (list[i] < 0)	/* not on this architecture */
			continue;
		if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, list[i], 0)) != 0)
			fatalx("filter_apply: %s syscall %d: %s", what, list[i],
			    strerror(-r));
	}
}

#ifdef CW_TEST_TRIGGERS
/*
 * Test builds only (meson refuses -Dtest_triggers in release builds): with
 * CW_TEST_TRIGGER=<name> in the environment, SIGUSR2 makes the daemon
 * perform one syscall its filter must refuse, in whichever thread takes the
 * signal. The filter kills the process with SIGSYS; if the call returns
 * instead, the daemon exits 70 so the test sees the hole.
 */
enum trigger { TRIG_NONE, TRIG_EXECVE, TRIG_INET, TRIG_UNIX, TRIG_OPEN,
    TRIG_PTRACE, TRIG_FORK };

static volatile sig_atomic_t trigger_what = TRIG_NONE;

static void
trigger_fire(int sig)
{
	static const char msg[] = "TEST TRIGGER: a forbidden syscall returned\n";
	char *const argv[] = { (char *)"true", NULL };
	char *const envp[] = { NULL };

	(void)sig;
	switch (trigger_what) {
	case TRIG_EXECVE:
		syscall(SYS_execve, "/bin/true", argv, envp);
		break;
	case TRIG_INET:
		syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
		break;
	case TRIG_UNIX:
		syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
		break;
	case TRIG_OPEN:
		syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY | O_CLOEXEC);
		break;
	case TRIG_PTRACE:
		syscall(SYS_ptrace, PTRACE_TRACEME, 0, NULL, NULL);
		break;
	case TRIG_FORK:
		/* what fork() does: clone without CLONE_THREAD */
		syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, 0);
		break;
	default:
		return;
	}
	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	_exit(70);
}

static void
trigger_arm(enum cw_role role)
{
	static const struct {
		const char	*name;
		enum trigger	what;
	} names[] = {
		{ "execve", TRIG_EXECVE }, { "inet", TRIG_INET },
		{ "unix", TRIG_UNIX }, { "open", TRIG_OPEN },
		{ "ptrace", TRIG_PTRACE }, { "fork", TRIG_FORK },
	};
	const char *v = getenv("CW_TEST_TRIGGER");
	struct sigaction sa;
	size_t i;

	log_warnx("TEST BUILD: seccomp test triggers are compiled in; never "
	    "deploy this build");
	if (v == NULL)
		return;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(v, names[i].name) == 0)
			trigger_what = names[i].what;
	if (trigger_what == TRIG_NONE)
		fatalx("filter_apply: unknown CW_TEST_TRIGGER '%.16s'", v);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = trigger_fire;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR2, &sa, NULL) != 0)
		fatal("filter_apply: sigaction");
	log_warnx("TEST BUILD: role %d: SIGUSR2 performs '%s'", (int)role, v);
}
#endif

/* one rule on the first argument; fatal when it cannot be added */
static void
rule(scmp_filter_ctx ctx, uint32_t action, int nr, struct scmp_arg_cmp cmp,
    const char *what)
{
	int r;

	if ((r = seccomp_rule_add(ctx, action, nr, 1, cmp)) != 0)
		fatalx("filter_apply: %s rule: %s", what, strerror(-r));
}

void
filter_apply(enum cw_role role)
{
	scmp_filter_ctx ctx;
	int r;

#ifdef CW_TEST_TRIGGERS
	trigger_arm(role);
#endif

	/*
	 * glibc's per-thread malloc arenas read /sys/devices/system/cpu/online
	 * when created and /proc/sys/vm/overcommit_memory when they shrink,
	 * long after the filter: one arena for every thread (sanitizer builds
	 * replace malloc and have no arenas).
	 */
#ifndef CW_SANITIZED
	if (mallopt(M_ARENA_MAX, 1) != 1)
		fatalx("filter_apply: mallopt M_ARENA_MAX failed");
#endif

	if ((ctx = seccomp_init(DEFAULT_ACTION)) == NULL)
		fatalx("filter_apply: seccomp_init failed");
	if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) != 0)
		fatalx("filter_apply: TSYNC: %s", strerror(-r));
	allow_all(ctx, base_syscalls, sizeof(base_syscalls) / sizeof(int), "base");
	/*
	 * Threads, never processes: clone only with CLONE_THREAD (fork and
	 * posix_spawn lack it); clone3 keeps its flags in memory a filter
	 * cannot read, so it fails with ENOSYS and glibc falls back to clone.
	 */
	rule(ctx, SCMP_ACT_ALLOW, SC(clone), SCMP_A0(SCMP_CMP_MASKED_EQ,
	    CLONE_THREAD, CLONE_THREAD), "clone");
	if ((r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SC(clone3), 0)) != 0)
		fatalx("filter_apply: clone3 rule: %s", strerror(-r));
	switch (role) {
	case ROLE_FRONTD:
		allow_all(ctx, frontd_syscalls,
		    sizeof(frontd_syscalls) / sizeof(int), "frontd");
		/* libmicrohttpd names its threads; nothing else of prctl */
		rule(ctx, SCMP_ACT_ALLOW, SC(prctl),
		    SCMP_A0(SCMP_CMP_EQ, PR_SET_NAME), "prctl");
		break;
	case ROLE_PRIVD:
		allow_all(ctx, privd_syscalls,
		    sizeof(privd_syscalls) / sizeof(int), "privd");
		/* sockets: AF_UNIX only (sockproxy) */
		rule(ctx, SCMP_ACT_ALLOW, SC(socket),
		    SCMP_A0(SCMP_CMP_EQ, AF_UNIX), "socket");
		break;
	case ROLE_SOCKPROXY:
		allow_all(ctx, sockproxy_syscalls,
		    sizeof(sockproxy_syscalls) / sizeof(int), "sockproxy");
		rule(ctx, SCMP_ACT_ALLOW, SC(socket),
		    SCMP_A0(SCMP_CMP_EQ, AF_UNIX), "socket");
		break;
	default:
		fatalx("filter_apply: unknown role %d", (int)role);
	}
	if ((r = seccomp_load(ctx)) != 0)
		fatalx("filter_apply: seccomp_load: %s", strerror(-r));
	seccomp_release(ctx);
}
