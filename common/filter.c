#include "filter.h"

#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "log.h"

#ifdef CW_SANDBOX_DEBUG
#define DEFAULT_ACTION	SCMP_ACT_LOG
#else
#define DEFAULT_ACTION	SCMP_ACT_KILL_PROCESS
#endif

#define SC(name)	SCMP_SYS(name)

/* Every daemon: memory, time, signals, threads, plain fd I/O, exit. */
static const int base_syscalls[] = {
	SC(read), SC(write), SC(readv), SC(writev), SC(pread64), SC(pwrite64),
	SC(close), SC(fstat), SC(newfstatat), SC(statx), SC(lseek), SC(fcntl),
	SC(dup), SC(dup3),
	SC(brk), SC(mmap), SC(munmap), SC(mremap), SC(madvise),
	SC(rt_sigaction), SC(rt_sigprocmask), SC(rt_sigreturn), SC(sigaltstack),
	SC(futex), SC(set_robust_list), SC(rseq), SC(sched_yield),
	SC(sched_getaffinity),
	SC(clock_gettime), SC(clock_nanosleep), SC(nanosleep), SC(gettimeofday),
	SC(getpid), SC(gettid), SC(getuid), SC(geteuid), SC(getgid), SC(getegid),
	SC(poll), SC(ppoll), SC(epoll_create1), SC(epoll_ctl), SC(epoll_wait),
	SC(epoll_pwait), SC(eventfd2), SC(pipe2),
	SC(getrandom), SC(restart_syscall), SC(exit), SC(exit_group),
	SC(tgkill),	/* abort() on an impossible state */
};

/*
 * frontd: the HTTP server (accept on the listener it bound before the drop),
 * the file store below its directory fd, memfds for the code it passes on,
 * and SCM_RIGHTS on the socketpair.
 */
static const int frontd_syscalls[] = {
	SC(accept4), SC(recvfrom), SC(sendto), SC(recvmsg), SC(sendmsg),
	SC(shutdown), SC(setsockopt), SC(getsockopt), SC(getsockname),
	SC(getpeername),
	SC(openat), SC(mkdirat), SC(unlinkat), SC(renameat), SC(renameat2),
	SC(getdents64), SC(fsync), SC(fdatasync), SC(ftruncate), SC(fchmod),
	SC(utimensat), SC(fstatfs), SC(memfd_create), SC(sendfile),
	SC(clone), SC(clone3), SC(mprotect), SC(select), SC(pselect6),
};

/*
 * privd: threads for executions, libcurl over AF_UNIX to sockproxy, memfds
 * for what it relays, SCM_RIGHTS on the socketpair.
 */
static const int privd_syscalls[] = {
	SC(connect), SC(recvfrom), SC(sendto), SC(recvmsg), SC(sendmsg),
	SC(shutdown), SC(setsockopt), SC(getsockopt), SC(getsockname),
	SC(getpeername), SC(socketpair),
	SC(memfd_create), SC(ftruncate), SC(wait4), SC(kill),
	SC(clone), SC(clone3), SC(mprotect), SC(select), SC(pselect6),
	SC(uname),
};

/*
 * sockproxy: accept from privd, connect to dockerd (socket: AF_UNIX only,
 * below), send and receive, one thread per connection. No file is opened
 * after start-up.
 */
static const int sockproxy_syscalls[] = {
	SC(accept4), SC(connect), SC(recvfrom), SC(sendto),
	SC(clone), SC(clone3), SC(mprotect),
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

void
filter_apply(enum cw_role role)
{
	scmp_filter_ctx ctx;
	int r;

	if ((ctx = seccomp_init(DEFAULT_ACTION)) == NULL)
		fatalx("filter_apply: seccomp_init failed");
	if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) != 0)
		fatalx("filter_apply: TSYNC: %s", strerror(-r));
	allow_all(ctx, base_syscalls, sizeof(base_syscalls) / sizeof(int), "base");
	switch (role) {
	case ROLE_FRONTD:
		allow_all(ctx, frontd_syscalls,
		    sizeof(frontd_syscalls) / sizeof(int), "frontd");
		/* libmicrohttpd names its threads; nothing else of prctl */
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SC(prctl), 1,
		    SCMP_A0(SCMP_CMP_EQ, PR_SET_NAME));
		if (r != 0)
			fatalx("filter_apply: prctl rule: %s", strerror(-r));
		break;
	case ROLE_PRIVD:
		allow_all(ctx, privd_syscalls,
		    sizeof(privd_syscalls) / sizeof(int), "privd");
		/* sockets: AF_UNIX only */
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SC(socket), 1,
		    SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
		if (r != 0)
			fatalx("filter_apply: socket rule: %s", strerror(-r));
		break;
	case ROLE_SOCKPROXY:
		allow_all(ctx, sockproxy_syscalls,
		    sizeof(sockproxy_syscalls) / sizeof(int), "sockproxy");
		/* sockets: AF_UNIX only */
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SC(socket), 1,
		    SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
		if (r != 0)
			fatalx("filter_apply: socket rule: %s", strerror(-r));
		/*
		 * ioctl: TCGETS only. Each log line goes through dprintf, and
		 * stdio asks isatty() of a stderr that is a character device
		 * (a terminal, or /dev/null under a supervisor).
		 */
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SC(ioctl), 1,
		    SCMP_A1(SCMP_CMP_EQ, TCGETS));
		if (r != 0)
			fatalx("filter_apply: ioctl rule: %s", strerror(-r));
		break;
	default:
		fatalx("filter_apply: unknown role %d", (int)role);
	}
	if ((r = seccomp_load(ctx)) != 0)
		fatalx("filter_apply: seccomp_load: %s", strerror(-r));
	seccomp_release(ctx);
}
