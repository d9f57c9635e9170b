/*
 * storeproxy's seccomp filter, tried call by call in the pattern of
 * tests/security/try_syscall.c: a child applies storeproxy_filter() as
 * main.c does and makes one call through syscall(2). A call storeproxy
 * never makes (its main.c's "Never" lines: a file opened, a socket of
 * another family, a listener, a process, an exec) must end the child with
 * SIGSYS; one it makes must go through, so a filter that kills everything
 * fails too. Needs no root and no network.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/memfd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "filter.h"
#include "storeproxy.h"

#define BAD_PTR		((void *)1)
#define KILLED		(-1)

static long c_openat(void) { return syscall(SYS_openat, AT_FDCWD, "/etc/hostname", O_RDONLY); }
static long c_open_creds(void) { return syscall(SYS_openat, AT_FDCWD, "/nonexistent", O_RDONLY); }
static long c_execve(void) { return syscall(SYS_execve, "/bin/true", BAD_PTR, BAD_PTR); }
static long c_fork(void) { return syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0); }
static long c_unix(void) { return syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0); }
static long c_netlink(void) { return syscall(SYS_socket, AF_NETLINK, SOCK_RAW, 0); }
static long c_packet(void) { return syscall(SYS_socket, AF_PACKET, SOCK_RAW, 0); }
static long c_bind(void) { return syscall(SYS_bind, -1, BAD_PTR, 16); }
static long c_listen(void) { return syscall(SYS_listen, -1, 1); }
static long c_accept4(void) { return syscall(SYS_accept4, -1, BAD_PTR, BAD_PTR, 0); }
static long c_ptrace(void) { return syscall(SYS_ptrace, 0, 0, 0, 0); }
static long c_memfd_plain(void) { return syscall(SYS_memfd_create, "x", 0); }
static long c_pair_inet(void) { return syscall(SYS_socketpair, AF_INET, SOCK_STREAM, 0, BAD_PTR); }
static long c_inet(void) { return syscall(SYS_socket, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0); }
static long c_inet6(void) { return syscall(SYS_socket, AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0); }
static long c_pair_unix(void)
{
	int sv[2];

	return syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
}
static long c_memfd(void)
{
	return syscall(SYS_memfd_create, "x", MFD_CLOEXEC | MFD_ALLOW_SEALING);
}
static long c_getrandom(void)
{
	char b[16];

	return syscall(SYS_getrandom, b, sizeof(b), 0);
}
static long c_pread(void) { return syscall(SYS_pread64, -1, BAD_PTR, 1, 0); }
static long c_recvmsg(void) { return syscall(SYS_recvmsg, -1, BAD_PTR, 0); }
static long c_connect(void) { return syscall(SYS_connect, -1, BAD_PTR, 16); }

static const struct attempt {
	const char	*what;
	long		(*call)(void);
	int		 want;	/* KILLED, or the exit status: 0 or an errno */
} attempts[] = {
	{ "openat", c_openat, KILLED },
	{ "openat of a missing file", c_open_creds, KILLED },
	{ "execve", c_execve, KILLED },
	{ "clone without CLONE_THREAD", c_fork, KILLED },
	{ "socket AF_UNIX", c_unix, KILLED },
	{ "socket AF_NETLINK", c_netlink, KILLED },
	{ "socket AF_PACKET", c_packet, KILLED },
	{ "bind", c_bind, KILLED },
	{ "listen", c_listen, KILLED },
	{ "accept4", c_accept4, KILLED },
	{ "ptrace", c_ptrace, KILLED },
	{ "memfd_create without sealing", c_memfd_plain, KILLED },
	{ "socketpair AF_INET", c_pair_inet, KILLED },
	{ "socket AF_INET", c_inet, 0 },
	{ "socket AF_INET6", c_inet6, 0 },
	{ "socketpair AF_UNIX", c_pair_unix, 0 },
	{ "memfd_create sealable", c_memfd, 0 },
	{ "getrandom", c_getrandom, 0 },
	{ "pread64", c_pread, EBADF },
	{ "recvmsg", c_recvmsg, EBADF },
	{ "connect", c_connect, EBADF },
};

/* exit_group itself: a sanitizer's _exit would run what the filter kills */
static void
child(const struct attempt *a)
{
	long r;

	filter_load(storeproxy_filter());
	errno = 0;
	r = a->call();
	if (r != -1)
		syscall(SYS_exit_group, 0);
	syscall(SYS_exit_group, errno > 0 && errno < 200 ? errno : 199);
	abort();
}

int
main(void)
{
	size_t i;
	int failures = 0;

	for (i = 0; i < sizeof(attempts) / sizeof(attempts[0]); i++) {
		const struct attempt *a = &attempts[i];
		int status, ok;
		pid_t pid;

		fflush(NULL);
		if ((pid = fork()) < 0) {
			perror("fork");
			return 2;
		}
		if (pid == 0)
			child(a);
		if (waitpid(pid, &status, 0) != pid) {
			perror("waitpid");
			return 2;
		}
		if (a->want == KILLED)
			ok = WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS;
		else
			ok = WIFEXITED(status) && WEXITSTATUS(status) == a->want;
		printf("%s storeproxy %s: %s %d\n", ok ? "ok  " : "FAIL", a->what,
		    WIFSIGNALED(status) ? "signal" : "exit",
		    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		failures += !ok;
	}
	printf("%zu passed, %d failed\n",
	    sizeof(attempts) / sizeof(attempts[0]) - (size_t)failures, failures);
	return failures != 0;
}
