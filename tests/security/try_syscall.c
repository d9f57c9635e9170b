/*
 * Each daemon's seccomp filter, tried call by call (bubblewrap's
 * tests/try-syscall.c is the pattern). For every case a child process makes
 * what its daemon's main.c makes before the filter (a TCP socket, a sealable
 * memfd, a page, a thread), applies the daemon's filter exactly as the
 * daemon does, and makes one call. A call the daemon must never make (its
 * "Never" lines, an argument outside its rules) must end the child with
 * SIGSYS; a call it makes, with the arguments it uses, must return success,
 * so a filter that kills everything fails too. Needs no root and no Docker.
 *
 *   try-syscall            every case of every daemon; exit 1 on a failure
 *   try-syscall bpf NAME   NAME's filter as the kernel receives it, on stdout
 *                          (the security suite compares it with the filter
 *                          the running daemon holds, read with ptrace)
 *
 * Calls go through syscall(2), so neither libc nor a sanitizer's interceptor
 * changes them, and take a bad pointer or descriptor where that keeps a call
 * harmless when a broken filter lets it through.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "filter.h"

#define BAD_PTR		((void *)1)	/* EFAULT if the call gets through */
#define KILLED		(-1)		/* want: death by SIGSYS */

static int tcp_fd = -1;		/* an AF_INET stream socket, made before */
static int mem_fd = -1;		/* a sealable memfd */
static void *page;		/* one read-write page */
static int go[2];		/* wakes the thread made before the filter */
static int ready[2];		/* which says it has started */

/* --- the calls ------------------------------------------------------------ */

static long
try_execve(void)
{
	return syscall(SYS_execve, BAD_PTR, BAD_PTR, BAD_PTR);
}

static long
try_execveat(void)
{
	return syscall(SYS_execveat, -1, BAD_PTR, BAD_PTR, BAD_PTR, 0);
}

static long
try_fork(void)
{
	/* what fork() does: clone without CLONE_THREAD */
	return syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, 0);
}

static long
try_vfork(void)
{
	return syscall(SYS_vfork);
}

static long
try_clone3(void)
{
	/* refused with ENOSYS (glibc then uses clone), never killed */
	return syscall(SYS_clone3, BAD_PTR, (size_t)88);
}

static long
try_ptrace(void)
{
	return syscall(SYS_ptrace, PTRACE_TRACEME, 0, NULL, NULL);
}

static long
try_socket_inet(void)
{
	return syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
}

static long
try_socket_inet6(void)
{
	return syscall(SYS_socket, AF_INET6, SOCK_DGRAM, 0);
}

static long
try_socket_netlink(void)
{
	return syscall(SYS_socket, AF_NETLINK, SOCK_RAW, 0);
}

static long
try_socket_unix(void)
{
	return syscall(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
}

static long
try_connect(void)
{
	return syscall(SYS_connect, -1, BAD_PTR, 16);
}

static long
try_bind(void)
{
	return syscall(SYS_bind, -1, BAD_PTR, 16);
}

static long
try_listen(void)
{
	return syscall(SYS_listen, -1, 1);
}

static long
try_accept4(void)
{
	return syscall(SYS_accept4, -1, NULL, NULL, 0);
}

static long
try_openat(void)
{
	return syscall(SYS_openat, AT_FDCWD, "/", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC);
}

/* the policy reader's one open, argument for argument */
static long
try_openat_read(void)
{
	return syscall(SYS_openat, AT_FDCWD, "/", O_RDONLY | O_CLOEXEC |
	    O_NOCTTY | O_NONBLOCK);
}

static long
try_openat_write(void)
{
	return syscall(SYS_openat, AT_FDCWD, "/dev/null", O_WRONLY | O_CLOEXEC |
	    O_NOCTTY | O_NONBLOCK);
}

static long
try_openat_creat(void)
{
	return syscall(SYS_openat, AT_FDCWD, "/proc/self/try-no-such-file", O_RDONLY |
	    O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_CREAT, 0600);
}

static long
try_sendmsg(void)
{
	return syscall(SYS_sendmsg, -1, BAD_PTR, 0);
}

static long
try_recvmsg(void)
{
	return syscall(SYS_recvmsg, -1, BAD_PTR, 0);
}

static long
try_kill(void)
{
	return syscall(SYS_kill, getpid(), 0);
}

static long
try_setuid(void)
{
	return syscall(SYS_setresuid, -1, -1, -1);
}

static long
try_ioctl(void)
{
	return syscall(SYS_ioctl, -1, FIONREAD, BAD_PTR);
}

static long
try_memfd_create(void)
{
	return syscall(SYS_memfd_create, "try", MFD_CLOEXEC);
}

static long
try_memfd_sealing(void)
{
	return syscall(SYS_memfd_create, "try", MFD_CLOEXEC | MFD_ALLOW_SEALING);
}

static long
try_mmap_rw(void)
{
	return syscall(SYS_mmap, NULL, 4096, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == (long)MAP_FAILED ? -1 : 0;
}

static long
try_mmap_exec(void)
{
	return syscall(SYS_mmap, NULL, 4096, PROT_READ | PROT_EXEC,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == (long)MAP_FAILED ? -1 : 0;
}

static long
try_mmap_rwx(void)
{
	return syscall(SYS_mmap, NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == (long)MAP_FAILED ? -1 : 0;
}

static long
try_mprotect_read(void)
{
	return syscall(SYS_mprotect, page, 4096, PROT_READ);
}

static long
try_mprotect_exec(void)
{
	return syscall(SYS_mprotect, page, 4096, PROT_READ | PROT_EXEC);
}

static long
try_fcntl_getfl(void)
{
	return syscall(SYS_fcntl, mem_fd, F_GETFL);
}

static long
try_fcntl_setfl(void)
{
	return syscall(SYS_fcntl, mem_fd, F_SETFL, O_RDWR | O_NONBLOCK);
}

static long
try_fcntl_getfd(void)
{
	return syscall(SYS_fcntl, mem_fd, F_GETFD);
}

static long
try_fcntl_setfd(void)
{
	return syscall(SYS_fcntl, mem_fd, F_SETFD, FD_CLOEXEC);
}

static long
try_fcntl_add_seals(void)
{
	return syscall(SYS_fcntl, mem_fd, F_ADD_SEALS, F_SEAL_SHRINK |
	    F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
}

static long
try_fcntl_get_seals(void)
{
	return syscall(SYS_fcntl, mem_fd, F_GET_SEALS);
}

static long
try_fcntl_setown(void)
{
	return syscall(SYS_fcntl, mem_fd, F_SETOWN, getpid());
}

static long
try_fcntl_dupfd(void)
{
	return syscall(SYS_fcntl, mem_fd, F_DUPFD, 0);
}

static long
try_fcntl_high_bits(void)
{
	/* the kernel reads an int; the filter must compare all 64 bits */
	return syscall(SYS_fcntl, mem_fd, (1UL << 32) | F_GETFL);
}

static int one = 1;

static long
try_nodelay(void)
{
	return syscall(SYS_setsockopt, tcp_fd, IPPROTO_TCP, TCP_NODELAY, &one,
	    sizeof(one));
}

static long
try_cork(void)
{
	return syscall(SYS_setsockopt, tcp_fd, IPPROTO_TCP, TCP_CORK, &one,
	    sizeof(one));
}

static long
try_reuseport(void)
{
	return syscall(SYS_setsockopt, tcp_fd, SOL_SOCKET, SO_REUSEPORT, &one,
	    sizeof(one));
}

static long
try_tcp_ulp(void)
{
	return syscall(SYS_setsockopt, tcp_fd, IPPROTO_TCP, TCP_ULP, "tls", 4);
}

static long
try_prctl_name(void)
{
	return syscall(SYS_prctl, PR_SET_NAME, "try", 0, 0, 0);
}

static long
try_prctl_dumpable(void)
{
	return syscall(SYS_prctl, PR_SET_DUMPABLE, 1, 0, 0, 0);
}

struct job {
	long	(*call)(void);
	long	r;
	int	err;
};

static struct job older_job;	/* for the thread made before the filter */
static pthread_t older;

static void *
thread_call(void *arg)
{
	struct job *j = arg;
	char c;

	if (j == &older_job && (write(ready[1], "r", 1) != 1 ||
	    read(go[0], &c, 1) != 1))
		_exit(206);
	j->r = j->call();
	j->err = errno;
	return NULL;
}

static long
job_result(const struct job *j, int e)
{
	if (e != 0) {
		errno = e;
		return -1;
	}
	errno = j->err;
	return j->r;
}

/* the thread made before the filter: TSYNC must have given it the filter */
static long
in_older_thread(long (*call)(void))
{
	char c = 'x';

	older_job.call = call;
	if (write(go[1], &c, 1) != 1)
		return -1;
	return job_result(&older_job, pthread_join(older, NULL));
}

/* a thread made after the filter: clone with CLONE_THREAD, clone3 refused */
static long
in_new_thread(long (*call)(void))
{
	struct job j = { call, -1, 0 };
	pthread_t t;
	int e;

	if ((e = pthread_create(&t, NULL, thread_call, &j)) == 0)
		e = pthread_join(t, NULL);
	return job_result(&j, e);
}

/* --- the cases ------------------------------------------------------------ */

enum thread { MAIN, OLDER, NEWER };

struct attempt {
	const char	*what;
	long		(*call)(void);
	int		want;		/* KILLED, 0 (success) or an errno */
	enum thread	where;		/* the thread that makes the call */
};

/* in the main thread, the one made before the filter (TSYNC), or one after */
#define KILL_IN(f, t)	{ #f, try_##f, KILLED, t }
#define OK_IN(f, t)	{ #f, try_##f, 0, t }
#define KILL(f)		KILL_IN(f, MAIN)
#define OK(f)		OK_IN(f, MAIN)
/* passed by the filter, refused by the kernel (a bad descriptor) */
#define ERR(f, e)	{ #f, try_##f, (e), MAIN }

/* every daemon: no program, no process, no INET socket, no executable page */
#define NEVER_ANYWHERE \
	KILL(execve), KILL(execveat), KILL(fork), KILL(vfork), KILL(ptrace), \
	KILL(socket_inet), KILL(socket_inet6), KILL(socket_netlink), \
	KILL(bind), KILL(listen), KILL(kill), KILL(setuid), KILL(ioctl), \
	KILL(mmap_exec), KILL(mmap_rwx), KILL(mprotect_exec), \
	KILL(fcntl_setown), KILL(fcntl_dupfd), KILL(fcntl_high_bits), \
	KILL_IN(execve, OLDER), KILL_IN(socket_inet, NEWER), \
	ERR(clone3, ENOSYS), OK(mmap_rw), OK(mprotect_read), \
	OK_IN(mmap_rw, OLDER), OK_IN(mmap_rw, NEWER)

static const struct attempt frontd_attempts[] = {
	NEVER_ANYWHERE,
	KILL(socket_unix), KILL(connect), KILL(reuseport), KILL(tcp_ulp),
	KILL(prctl_dumpable),
	OK(openat), ERR(accept4, EBADF), OK(memfd_create),
	OK(fcntl_getfl), OK(fcntl_setfl), OK(fcntl_getfd), OK(fcntl_setfd),
	OK(fcntl_add_seals), OK(fcntl_get_seals),
	OK(nodelay), OK(cork), OK(prctl_name),
};

static const struct attempt privd_attempts[] = {
	NEVER_ANYWHERE,
	KILL(openat), KILL(accept4), KILL(nodelay), KILL(prctl_name),
	KILL(fcntl_setfl), KILL(fcntl_setfd),
	OK(socket_unix), ERR(connect, EBADF), OK(memfd_create),
	OK(fcntl_getfl), OK(fcntl_add_seals), OK(fcntl_get_seals),
};

static const struct attempt sockproxy_attempts[] = {
	NEVER_ANYWHERE,
	KILL(openat), KILL(memfd_create), KILL(nodelay), KILL(prctl_name),
	KILL(fcntl_getfl), KILL(fcntl_get_seals),
	OK(socket_unix), ERR(connect, EBADF), ERR(accept4, EBADF),
	ERR(recvmsg, EBADF),
};

/* the policy reader of privd and sockproxy (policy/reader_filter.c) */
static const struct attempt reader_attempts[] = {
	NEVER_ANYWHERE,
	KILL(socket_unix), KILL(connect), KILL(accept4), KILL(recvmsg),
	KILL(openat), KILL(openat_write), KILL(openat_creat), KILL(memfd_create),
	KILL(fcntl_getfl), KILL(fcntl_get_seals), KILL(fcntl_setfd),
	KILL(nodelay), KILL(prctl_name),
	OK(openat_read), OK(memfd_sealing), OK(fcntl_add_seals),
	ERR(sendmsg, EBADF),
};

static const struct daemon {
	const char		*name;
	scmp_filter_ctx		(*build)(void);
	const struct attempt	*attempts;
	size_t			nattempts;
} daemons[] = {
	{ "frontd", frontd_filter, frontd_attempts,
	    FILTER_NELEM(frontd_attempts) },
	{ "privd", privd_filter, privd_attempts, FILTER_NELEM(privd_attempts) },
	{ "sockproxy", sockproxy_filter, sockproxy_attempts,
	    FILTER_NELEM(sockproxy_attempts) },
	{ "reader", reader_filter, reader_attempts,
	    FILTER_NELEM(reader_attempts) },
};

/* --- running them --------------------------------------------------------- */

/* what the daemons hold when they load their filter */
static void
prepare(void)
{
	static const struct rlimit no_core = { 0, 0 };
	char c;
	if (setrlimit(RLIMIT_CORE, &no_core) != 0)
		_exit(200);
	if ((tcp_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		_exit(201);
	if ((mem_fd = memfd_create("try", MFD_CLOEXEC | MFD_ALLOW_SEALING)) < 0)
		_exit(202);
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED)
		_exit(203);
	if (pipe(go) != 0 || pipe(ready) != 0)
		_exit(204);
	/* running, not starting, when the filter comes */
	if (pthread_create(&older, NULL, thread_call, &older_job) != 0 ||
	    read(ready[0], &c, 1) != 1)
		_exit(205);
}

/*
 * The child's exit status: 0 when the call succeeded, else its errno. It
 * ends with exit_group itself: a sanitizer's _exit would run its leak check,
 * which the filter kills.
 */
static void
child(const struct daemon *d, const struct attempt *a)
{
	long r;

	prepare();
	filter_load(d->build());
	errno = 0;
	switch (a->where) {
	case MAIN:
		r = a->call();
		break;
	case OLDER:
		r = in_older_thread(a->call);
		break;
	case NEWER:
		r = in_new_thread(a->call);
		break;
	default:
		abort();
	}
	if (r != -1)
		syscall(SYS_exit_group, 0);
	syscall(SYS_exit_group, errno > 0 && errno < 200 ? errno : 199);
	abort();
}

static int
run(const struct daemon *d, const struct attempt *a)
{
	char got[64];
	pid_t pid;
	int status, ok;

	fflush(NULL);
	if ((pid = fork()) < 0) {
		perror("fork");
		exit(2);
	}
	if (pid == 0)
		child(d, a);
	if (waitpid(pid, &status, 0) != pid) {
		perror("waitpid");
		exit(2);
	}
	if (WIFSIGNALED(status))
		snprintf(got, sizeof(got), "killed by signal %d%s",
		    WTERMSIG(status), WTERMSIG(status) == SIGSYS ? " (SIGSYS)" : "");
	else if (WEXITSTATUS(status) == 0)
		snprintf(got, sizeof(got), "returned");
	else
		snprintf(got, sizeof(got), "returned an error: %s (exit %d)",
		    strerror(WEXITSTATUS(status)), WEXITSTATUS(status));
	if (a->want == KILLED)
		ok = WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS;
	else
		ok = WIFEXITED(status) && WEXITSTATUS(status) == a->want;
	printf("%s %s %s%s: %s\n", ok ? "ok  " : "FAIL", d->name, a->what,
	    a->where == OLDER ? " (in a thread made before the filter)" :
	    a->where == NEWER ? " (in a thread made after the filter)" : "", got);
	return ok;
}

static const struct daemon *
daemon_named(const char *name)
{
	size_t i;

	for (i = 0; i < FILTER_NELEM(daemons); i++)
		if (strcmp(daemons[i].name, name) == 0)
			return &daemons[i];
	fprintf(stderr, "try-syscall: no daemon '%s'\n", name);
	exit(2);
}

int
main(int argc, char **argv)
{
	size_t i, j;
	int failures = 0, n = 0;

	if (argc == 3 && strcmp(argv[1], "bpf") == 0) {
		scmp_filter_ctx ctx = daemon_named(argv[2])->build();

		if (seccomp_export_bpf(ctx, STDOUT_FILENO) != 0)
			return 1;
		seccomp_release(ctx);
		return 0;
	}
	if (argc != 1) {
		fprintf(stderr, "usage: try-syscall [bpf frontd|privd|sockproxy|reader]\n");
		return 2;
	}
	for (i = 0; i < FILTER_NELEM(daemons); i++)
		for (j = 0; j < daemons[i].nattempts; j++, n++)
			if (!run(&daemons[i], &daemons[i].attempts[j]))
				failures++;
	printf("%d of %d cases failed\n", failures, n);
	return failures == 0 ? 0 : 1;
}
